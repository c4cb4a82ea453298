import ARI
import AsteriskSimulator
@testable import CallCenter
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// A call centre wired to the simulator over real HTTP and WebSocket, with an in-memory store.
/// How the call flow's requests reach Asterisk: `RESTRequest` frames on the events socket (Asterisk 20.14,
/// 21.9, 22.4 and later), or HTTP (older versions, `MUROJAAT_ARI_REST_OVER_WEBSOCKET=no`).
enum Route: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case socket, http
    var testDescription: String { rawValue }
}

struct Harness: Sendable {
    let sim: AsteriskSimulator
    let center: CallCenter
    let store: InMemoryCallStore
    let journal: CallJournal
    let seen: EventLog
    let ari: ARIServerConfiguration

    static let operators: [OperatorInfo] = [
        OperatorInfo(id: 1, name: "Dilnoza", extensionNumber: "101", endpoint: "PJSIP/101", skills: [.uz]),
        OperatorInfo(id: 2, name: "Sergey", extensionNumber: "102", endpoint: "PJSIP/102", skills: [.ru]),
        OperatorInfo(id: 3, name: "Aziz", extensionNumber: "103", endpoint: "PJSIP/103", skills: [.uz, .ru]),
    ]

    static func settings() -> CallCenterSettings {
        var settings = CallCenterSettings()
        settings.digitTimeoutSeconds = 0.3
        settings.wrapUpSeconds = 0.3
        settings.announcementIntervalSeconds = 0.3
        settings.callbackOfferAfterSeconds = 0.2
        settings.ringTimeoutSeconds = 1
        settings.resyncGraceSeconds = 0.3
        return settings
    }

    /// Runs `body` with operators 101 (uz), 102 (ru), 103 (uz+ru) whose phones behave as `phones` says.
    static func run(
        phones: [String: PhoneBehaviour] = ["101": .init(answerAfterMs: 300), "102": .init(answerAfterMs: 300), "103": .init(answerAfterMs: 300)],
        settings: CallCenterSettings = Harness.settings(),
        operators: [OperatorInfo] = Harness.operators,
        route: Route = .socket,
        _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        var config = SimulatorConfiguration.testing(scale: 0.01)
        config.phones = phones
        config.phones["201"] = .init(answerAfterMs: 200) // a supervisor's phone
        try await withSimulator(config) { sim, ari in
            var ari = ari
            ari.restOverWebSocket = route == .socket
            let store = InMemoryCallStore(operators: operators)
            let logger = Logger(label: "test.calls")
            let journal = CallJournal(store: store, logger: logger)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID())")
            defer { try? FileManager.default.removeItem(at: directory) }
            let center = CallCenter(settings: settings, journal: journal, recordingsDirectory: directory, logger: logger)
            let connection = ARIEventConnection(configuration: ari, backoff: .init(base: .milliseconds(20), cap: .milliseconds(100)),
                                                eventTypes: CallCenter.handledEventTypes, eventLoop: center.eventLoop)
            center.attach(connection)
            // As in production: events handed over on the call flow's loop, requests written into the event
            // socket once the simulator answers there, HTTP before.
            await center.addServer(ari.name, client: ARIClient(connection: connection))
            await center.loadOperators(operators)
            let harness = Harness(sim: sim, center: center, store: store, journal: journal, seen: EventLog(), ari: ari)
            let stream = center.events.subscribe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.run() }
                group.addTask { try await journal.run() }
                group.addTask { for await event in stream { harness.seen.items.withLock { $0.append(event) } } }
                // Both ends: the simulator registers the app before the 101 goes out, the client only after it.
                try await harness.until("the app is connected") {
                    await sim.isConnected(app: "murojaat") && connection.isConnected && (route == .http || connection.restOverWebSocket)
                }
                try await body(harness)
                // Every copy handed over has ended before the folder is removed. (A recording that finishes later
                // finds the folder gone and fails; it does not make it again.)
                #expect(await center.finishCopies(timeout: .seconds(10)), "recording copies still running")
                // Without REST over the socket every request went by HTTP. (Over the socket, the requests made
                // while a test has the socket down go by HTTP too.)
                if route == .http {
                    let requests = await sim.receivedRequests()
                    #expect(!requests.isEmpty && requests.allSatisfy { !$0.overWebSocket })
                }
                group.cancelAll()
            }
        }
    }

    func until(_ what: String, timeout: Duration = .seconds(5), _ condition: @Sendable () async throws -> Bool) async throws {
        try await waitUntil(what, timeout: timeout, condition)
    }

    /// The call whose caller channel is `channel`, from the in-process event stream.
    func callId(_ channel: String) -> UUID? {
        seen.items.withLock { events in
            events.lazy.compactMap { if case .callStarted(let r) = $0, r.channelId == channel { r.id } else { nil } }.first
        }
    }

    func stored(_ id: UUID) async -> CallRecord? { await store.calls[id] }

    /// Waits until the stored row of the call has ended, and returns it.
    func ended(_ channel: String) async throws -> CallRecord {
        try await until("call \(channel) ended") {
            guard let id = callId(channel) else { return false }
            return await stored(id)?.endedAt != nil
        }
        return await stored(callId(channel)!)!
    }

    /// Places a call and waits until the language menu is waiting for a digit.
    func dial(_ from: String = "+998901234567") async throws -> String {
        let channel = try await sim.placeCall(from: from, to: "1000")
        try await until("call \(from) started") { callId(channel) != nil }
        return channel
    }

    /// Places a call that asks for an operator (`0`) and waits until it is in line: its channel and call id.
    func dialAndQueue(_ from: String) async throws -> (channel: String, id: UUID) {
        let channel = try await dial(from)
        try await press("0", on: channel)
        let id = try #require(callId(channel))
        try await until("\(from) waits in line") { await center.queueSnapshot().contains(id) }
        return (channel, id)
    }

    func press(_ digits: String, on channel: String) async throws {
        try await sim.pressDigits(digits, on: channel, gapMs: 1)
    }

    /// The IVR node the call is at.
    func node(_ channel: String) async -> String? {
        guard let id = callId(channel) else { return nil }
        return await center.sessions[id]?.node
    }

    /// How many times the topic menu was played in `lang`.
    func menus(_ lang: String) async -> Int {
        await played("main-menu", lang)
    }

    /// How many play requests held the prompt `name` (in `lang`, or in either language).
    func played(_ name: String, _ lang: String? = nil) async -> Int {
        let wanted = lang.map { ["sound:\($0)/murojaat/\(name)"] } ?? ["sound:uz/murojaat/\(name)", "sound:ru/murojaat/\(name)"]
        return await requests("POST", containing: "/play").filter { request in
            (request.query["media"] ?? "").split(separator: ",").contains { wanted.contains(String($0)) }
        }.count
    }

    func requests(_ method: String, containing: String) async -> [RecordedRequest] {
        await sim.receivedRequests().filter { $0.method == method && $0.path.contains(containing) }
    }
}

/// Polls `condition` every 10 ms; when `timeout` passes first, records an issue naming `what` and throws.
func waitUntil(_ what: String, timeout: Duration, _ condition: @Sendable () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}

/// A harness around one call centre: operators made ready and their states read the same way in every harness.
protocol DrivesCallCenter {
    var center: CallCenter { get }
}

extension DrivesCallCenter {
    func ready(_ ids: Int64...) async throws {
        for id in ids { try await center.setAgentState(id, .ready) }
    }

    func agentState(_ id: Int64) async -> AgentState? {
        await center.agentSnapshot().first { $0.id == id }?.state
    }
}

extension Harness: DrivesCallCenter {}
extension PeerHarness: DrivesCallCenter {}

final class EventLog: Sendable {
    let items = Mutex<[CallCenterEvent]>([])
}
