import ARI
import AsteriskSimulator
@testable import CallCenter
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// The two peers every telephony scenario runs against, with the same assertions: the project's simulator, and a
/// real Asterisk 22 with real SIP callers and phones (sipp). Where they differ, the simulator is wrong.
enum Peer: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case simulator, asterisk
    var testDescription: String { rawValue }
}

/// Counts the scenarios passed on each peer, for `scripts/test.sh` to print.
enum PeerTally {
    static func record(_ peer: Peer, _ scenario: String) {
        guard let path = ProcessInfo.processInfo.environment["MUROJAAT_PEER_TALLY"] else { return }
        let line = "\(peer.rawValue)\t\(scenario)\n"
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        } else {
            FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
        }
    }
}

/// The tasks of the running call flow, ended together (at the end, or to simulate a crash).
final class Runtime: Sendable {
    let tasks = Mutex<[Task<Void, Never>]>([])
    func add(_ more: [Task<Void, Never>]) { tasks.withLock { $0 += more } }
    func stopAll() {
        for task in tasks.withLock({ let all = $0; $0 = []; return all }) { task.cancel() }
    }
}

/// The sipp phones of a scenario on the real Asterisk, by extension.
final class PhoneBank: Sendable {
    let items = Mutex<[String: SIPp.Running]>([:])
    let callers = Mutex<[SIPp.Running]>([])

    /// What sipp said, for a failure's message.
    var report: String {
        let phones = items.withLock { $0.map { "phone \($0.key):\n\($0.value.output.suffix(3000))" } }
        let callers = callers.withLock { $0.map { "caller:\n\($0.output.suffix(3000))" } }
        return (phones + callers).joined(separator: "\n")
    }
}

/// A call in progress from the test's side: a sipp caller, or a task pressing keys on the simulator.
final class PlacedCall: Sendable {
    let number: String
    let sipp: SIPp.Running?
    let task: Task<Void, Error>?

    init(number: String, sipp: SIPp.Running? = nil, task: Task<Void, Error>? = nil) {
        self.number = number
        self.sipp = sipp
        self.task = task
    }

    /// Waits until the caller's side is over; true when it went as scripted.
    func finished(timeout: Double = 30) async -> Bool {
        if let sipp {
            let status = await sipp.wait(timeout: timeout)
            if status != 0 { Issue.record("sipp caller \(number) ended with \(status.map(String.init) ?? "no exit"):\n\(sipp.output.suffix(1500))") }
            return status == 0
        }
        guard let task else { return true }
        do { try await task.value; return true } catch { Issue.record("caller \(number): \(error)"); return false }
    }

    func stop() {
        sipp?.stop()
        task?.cancel()
    }
}

struct PeerHarness: Sendable {
    let peer: Peer
    let center: CallCenter
    let store: InMemoryCallStore
    let journal: CallJournal
    let seen: EventLog
    let ari: ARIServerConfiguration
    let sim: AsteriskSimulator?
    let asterisk: RealAsterisk?
    let phones: PhoneBank
    let phonePorts: [String: Int]
    let recordings: URL
    let runtime: Runtime
    let route: Route
    let settings: CallCenterSettings
    let operators: [OperatorInfo]
    let connection: ARIEventConnection
    /// The peer's ARI without the proxy, for the test's own checks.
    let direct: ARIServerConfiguration
    let proxy: TCPProxy

    static let operators: [OperatorInfo] = [
        OperatorInfo(id: 1, name: "Dilnoza", extensionNumber: "101", endpoint: "PJSIP/101", skills: [.uz]),
        OperatorInfo(id: 2, name: "Sergey", extensionNumber: "102", endpoint: "PJSIP/102", skills: [.ru]),
        OperatorInfo(id: 3, name: "Aziz", extensionNumber: "103", endpoint: "PJSIP/103", skills: [.uz, .ru]),
        OperatorInfo(id: 4, name: "Malika", extensionNumber: "104", endpoint: "PJSIP/104", skills: [.uz, .ru]),
        OperatorInfo(id: 5, name: "Timur", extensionNumber: "105", endpoint: "PJSIP/105", skills: [.uz, .ru]),
    ]

    /// Real-time settings, short enough for tests and long enough for real SIP on a loaded 2-core machine.
    static func settings() -> CallCenterSettings {
        var settings = CallCenterSettings()
        settings.digitTimeoutSeconds = 2
        settings.wrapUpSeconds = 1
        settings.announcementIntervalSeconds = 2
        settings.callbackOfferAfterSeconds = 1.5
        settings.ringTimeoutSeconds = 3
        settings.resyncGraceSeconds = 1
        settings.endpointPollSeconds = 1
        return settings
    }

    /// The prompts both peers play: 0.4 s each, so that a scenario's timing is the same on both.
    static let prompts: URL = {
        (try? RealAsterisk.writePrompts(PromptCatalog.all.map(\.name) + ["unavailable"])) ?? FileManager.default.temporaryDirectory
    }()

    /// Whether the real-Asterisk tier runs: it does when Asterisk and sipp are here; in CI their absence fails the test.
    static func available(_ peer: Peer) -> Bool {
        guard peer == .asterisk, let reason = RealAsterisk.unavailableReason else { return true }
        if RealAsterisk.isCI { Issue.record("the real-Asterisk tier cannot run in CI: \(reason)") }
        else { print("real-Asterisk scenario skipped: \(reason)") }
        return false
    }

    /// Runs `body` against `peer` with phones `phones` (extension → behaviour; a phone not named is offline: never
    /// registered on Asterisk, `offline` on the simulator).
    static func run(
        _ peer: Peer,
        scenario: String,
        route: Route = .socket,
        phones: [String: PhoneMode] = ["101": .answer(afterMs: 300), "102": .answer(afterMs: 300), "103": .answer(afterMs: 300)],
        settings: CallCenterSettings = PeerHarness.settings(),
        operators: [OperatorInfo] = PeerHarness.operators,
        throughProxy: Bool = false,
        _ body: @Sendable (PeerHarness) async throws -> Void
    ) async throws {
        guard available(peer) else { return }
        let recordings = FileManager.default.temporaryDirectory.appendingPathComponent("peer-rec-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: recordings) }
        switch peer {
        case .simulator:
            var config = SimulatorConfiguration.testing(scale: 1)
            config.soundsDirectory = prompts
            // A citizen called back through the trunk answers and hangs up after a short talk, as the sipp trunk UAS does.
            config.trunkBehaviour = PhoneBehaviour(mode: .answer, answerAfterMs: 300, hangupAfterMs: 1500)
            config.phones = [:]
            for ext in RealAsterisk.phoneExtensions {
                config.phones[ext] = switch phones[ext] {
                case .answer(let after)?: PhoneBehaviour(mode: .answer, answerAfterMs: after)
                case .answerAndHangUp(let after, let talk)?: PhoneBehaviour(mode: .answer, answerAfterMs: after, hangupAfterMs: talk)
                case .noAnswer?: PhoneBehaviour(mode: .noAnswer)
                case .busy?: PhoneBehaviour(mode: .busy)
                case nil: PhoneBehaviour(mode: .offline)
                }
            }
            try await withSimulator(config) { sim, ari in
                try await drive(peer: peer, sim: sim, asterisk: nil, ari: ari, route: route, phones: phones, settings: settings,
                                operators: operators, recordings: recordings, throughProxy: throughProxy, body)
            }
        case .asterisk:
            let asterisk = try RealAsterisk.start(sounds: prompts)
            defer { asterisk.stop() }
            do {
                try await drive(peer: peer, sim: nil, asterisk: asterisk, ari: asterisk.ari, route: route, phones: phones,
                                settings: settings, operators: operators, recordings: recordings, throughProxy: throughProxy, body)
            } catch {
                print("Asterisk's log (\(scenario)):\n\(asterisk.logTail())")
                throw error
            }
        }
        PeerTally.record(peer, scenario)
    }

    private static func drive(
        peer: Peer, sim: AsteriskSimulator?, asterisk: RealAsterisk?, ari: ARIServerConfiguration, route: Route,
        phones: [String: PhoneMode], settings: CallCenterSettings, operators: [OperatorInfo], recordings: URL, throughProxy: Bool,
        _ body: @Sendable (PeerHarness) async throws -> Void
    ) async throws {
        var direct = ari
        direct.restOverWebSocket = route == .socket
        // With `throughProxy` the app reaches the peer through a loopback TCP proxy, so that a scenario can drop its
        // events socket (and its HTTP requests) as a network blip would; the test's own checks go straight to the peer.
        let port = URLComponents(string: direct.baseURL)?.port ?? 8088
        let proxy = TCPProxy(targetHost: "127.0.0.1", targetPort: port)
        let proxyPort = try await proxy.start()
        var ari = direct
        if throughProxy { ari.baseURL = direct.baseURL.replacingOccurrences(of: ":\(port)/", with: ":\(proxyPort)/") }
        defer { Task { await proxy.stop() } }
        let store = InMemoryCallStore(operators: operators)
        var ports: [String: Int] = [:]
        for ext in RealAsterisk.phoneExtensions { ports[ext] = try FreePort.udp() }
        let runtime = Runtime()
        let harness = try await start(peer: peer, sim: sim, asterisk: asterisk, ari: ari, route: route, store: store, seen: EventLog(),
                                      settings: settings, operators: operators, recordings: recordings, phones: PhoneBank(),
                                      ports: ports, runtime: runtime, phoneModes: phones, direct: direct, proxy: proxy)
        defer {
            harness.phones.items.withLock { for phone in $0.values { phone.stop() } }
            runtime.stopAll()
        }
        do {
            try await body(harness)
        } catch {
            if asterisk != nil { print("sipp's logs:\n\(harness.phones.report)") }
            throw error
        }
        #expect(await harness.center.finishCopies(timeout: .seconds(10)), "recording copies still running")
    }

    /// A call flow (centre, journal, event connection) on `store`, connected to the peer: at the start of a scenario,
    /// and again after a simulated crash of murojaat (`restart`).
    private static func start(
        peer: Peer, sim: AsteriskSimulator?, asterisk: RealAsterisk?, ari: ARIServerConfiguration, route: Route, store: InMemoryCallStore,
        seen: EventLog, settings: CallCenterSettings, operators: [OperatorInfo], recordings: URL, phones: PhoneBank,
        ports: [String: Int], runtime: Runtime, phoneModes: [String: PhoneMode]?, direct: ARIServerConfiguration, proxy: TCPProxy
    ) async throws -> PeerHarness {
        let logger = Logger(label: "test.peer")
        let journal = CallJournal(store: store, logger: logger)
        let center = CallCenter(settings: settings, journal: journal, recordingsDirectory: recordings, logger: logger)
        let connection = ARIEventConnection(configuration: ari, backoff: .init(base: .milliseconds(50), cap: .milliseconds(200)),
                                            eventTypes: CallCenter.handledEventTypes, eventLoop: center.eventLoop)
        center.attach(connection)
        await center.addServer(ari.name, client: ARIClient(connection: connection))
        // As the app does: operators with their stored states (a restarted process finds them as the old one left them).
        await center.loadOperators((try? await store.loadOperators()) ?? operators)
        // As the app does (Server.swift): calls left in progress whose channels are gone are closed as lost.
        await center.setLostCallsHandler { server, live in
            Task { _ = try? await store.closeLostCalls(server: server, except: live, at: Date()) }
        }
        let harness = PeerHarness(peer: peer, center: center, store: store, journal: journal, seen: seen, ari: ari, sim: sim,
                                  asterisk: asterisk, phones: phones, phonePorts: ports, recordings: recordings, runtime: runtime,
                                  route: route, settings: settings, operators: operators, connection: connection, direct: direct,
                                  proxy: proxy)
        if asterisk != nil, let phoneModes {
            for (ext, mode) in phoneModes { try await harness.setPhone(ext, mode) }
        }
        let stream = center.events.subscribe()
        let tasks: [Task<Void, Never>] = [
            Task { try? await connection.run() },
            Task { try? await journal.run() },
            Task { for await event in stream { seen.items.withLock { $0.append(event) } } },
        ]
        runtime.add(tasks)
        try await harness.until("the app is connected", timeout: .seconds(10)) {
            connection.isConnected && (route == .http || connection.restOverWebSocket)
        }
        return harness
    }

    /// murojaat dies without a word (as kill -9: no hang-up, no clean-up; what the journal had taken is stored) and,
    /// `down` later, a new process starts on the same store and peer. Returns the new process's harness.
    func restart(down: Duration = .zero) async throws -> PeerHarness {
        _ = await journal.flush()
        runtime.stopAll()
        try await until("the old process is gone") { !connection.isConnected }
        try await Task.sleep(for: down)
        return try await Self.start(peer: peer, sim: sim, asterisk: asterisk, ari: ari, route: route, store: store, seen: seen,
                                    settings: settings, operators: operators, recordings: recordings, phones: phones,
                                    ports: phonePorts, runtime: runtime, phoneModes: nil, direct: direct, proxy: proxy)
    }

    // MARK: the outside world

    /// Sets how phone `ext` behaves; nil takes it offline (unregistered on Asterisk).
    func setPhone(_ ext: String, _ mode: PhoneMode?) async throws {
        if let sim {
            let behaviour: PhoneBehaviour = switch mode {
            case .answer(let after)?: PhoneBehaviour(mode: .answer, answerAfterMs: after)
            case .answerAndHangUp(let after, let talk)?: PhoneBehaviour(mode: .answer, answerAfterMs: after, hangupAfterMs: talk)
            case .noAnswer?: PhoneBehaviour(mode: .noAnswer)
            case .busy?: PhoneBehaviour(mode: .busy)
            case nil: PhoneBehaviour(mode: .offline)
            }
            await sim.setPhone(ext, behaviour)
            return
        }
        guard let asterisk, let port = phonePorts[ext] else { return }
        phones.items.withLock { $0.removeValue(forKey: ext)?.stop() }
        let password = RealAsterisk.phonePassword(ext)
        try await SIPp.register(ext, password: password, sipPort: asterisk.sipPort, from: port, expires: mode == nil ? 0 : 3600)
        if let mode {
            let running = try SIPp.phone(ext, port: port, mode: mode)
            phones.items.withLock { $0[ext] = running }
        }
    }

    /// Asterisk restarts (the simulator does as Asterisk does: every channel gone without an event, a new start time).
    /// With `crash`, Asterisk dies at once (SIGKILL); else it stops as `core stop now` does. Returns once the
    /// application is registered on the new Asterisk.
    func restartAsterisk(crash: Bool = true) async throws {
        if let sim { await sim.restart() }
        if let asterisk { try asterisk.restart(crash: crash) }
        let client = ARIClient(configuration: direct)
        try await until("the application is registered again", timeout: .seconds(20)) {
            ((try? await client.applications()) ?? []).contains { $0.name == ari.application } && connection.isConnected
        }
    }

    /// The network between murojaat and Asterisk fails for `seconds`: the events socket and every request are cut,
    /// then connections go through again (the app reconnects by itself).
    func dropConnection(for seconds: Double) async throws {
        precondition(ari.baseURL != direct.baseURL, "run the scenario with throughProxy: true")
        proxy.cut()
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        proxy.restore()
        try await until("the app is connected again", timeout: .seconds(10)) { connection.isConnected }
    }

    /// On the real Asterisk, the provider's side of the trunk: a UAS that answers callbacks and hangs up after a short
    /// talk (the simulator's trunk does the same by configuration).
    func answerCallbacks() throws {
        guard let asterisk else { return }
        let running = try SIPp.phone("trunk", port: asterisk.trunkPort, mode: .answerAndHangUp(afterMs: 300, hangupAfterMs: 1500))
        phones.items.withLock { $0["trunk"] = running }
    }

    /// The sounds played to callers so far, as `<lang>/murojaat/<name>`: the simulator's play requests, or the files
    /// Asterisk's log says it played (verbose 3).
    func played() async throws -> [String] {
        if let sim {
            return await sim.receivedRequests().filter { $0.method == "POST" && $0.path.hasSuffix("/play") }.flatMap { request in
                (request.query["media"] ?? "").split(separator: ",").map { String($0.dropFirst("sound:".count)) }
            }
        }
        guard let asterisk else { return [] }
        let log = (try? String(contentsOf: asterisk.directory.appendingPathComponent("var/log/asterisk/messages.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap { line -> String? in
            // "<PJSIP/trunk-00000001> Playing 'ru/murojaat/queue-wait-3.alaw' (language 'ru')": the extension is the
            // channel's write format, not the file's.
            guard let start = line.range(of: "Playing '")?.upperBound, let end = line[start...].range(of: "' (language")?.lowerBound,
                  let dot = line[start..<end].lastIndex(of: ".") else { return nil }
            return String(line[start..<dot])
        }
    }

    /// A citizen calls the hotline from `number` and, once answered, does `steps`.
    func call(_ number: String, _ steps: [CallerStep]) async throws -> PlacedCall {
        if let asterisk {
            let sipp = try SIPp.call(sipPort: asterisk.sipPort, from: number, steps: steps)
            phones.callers.withLock { $0.append(sipp) }
            return PlacedCall(number: number, sipp: sipp)
        }
        let sim = sim!
        let channel = try await sim.placeCall(from: number, to: "1000")
        let task = Task {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(10))
            while await sim.channelSnapshot(channel)?.state != "Up" {
                guard clock.now < deadline else { throw TestProcessError("the call from \(number) was never answered") }
                try await Task.sleep(for: .milliseconds(5))
            }
            for step in steps {
                switch step {
                case .pause(let ms): try await Task.sleep(for: .milliseconds(ms))
                case .digit(let key):
                    try await sim.pressDigits(String(key), on: channel, gapMs: 0)
                    try await Task.sleep(for: .milliseconds(260))
                case .talk: break
                case .hangup:
                    try await sim.remoteHangup(channel)
                    return
                }
            }
            // Without a hang-up of its own the caller stays until the far end hangs up.
            let end = clock.now.advanced(by: .seconds(60))
            while await sim.channelSnapshot(channel) != nil, clock.now < end { try await Task.sleep(for: .milliseconds(20)) }
        }
        return PlacedCall(number: number, task: task)
    }

    // MARK: what the app saw

    func until(_ what: String, timeout: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool) async throws {
        try await waitUntil("\(what) (\(peer))", timeout: timeout, condition)
    }

    /// The call from `number`, from the in-process event stream.
    func callId(_ number: String) -> UUID? {
        seen.items.withLock { events in
            events.lazy.compactMap { if case .callStarted(let r) = $0, r.callerNumber == number { r.id } else { nil } }.first
        }
    }

    /// Waits until the stored row of the call from `number` has ended, and returns it.
    func ended(_ number: String, timeout: Duration = .seconds(20)) async throws -> CallRecord {
        try await until("the call from \(number) ended", timeout: timeout) {
            guard let id = callId(number) else { return false }
            return await store.calls[id]?.endedAt != nil
        }
        return await store.calls[callId(number)!]!
    }

    /// Channels Asterisk (or the simulator) still has, asked over ARI as any client would.
    func channelsLeft() async throws -> [Channel] {
        try await ARIClient(configuration: direct).channels()
    }

    /// Waits until the peer has no channel left.
    func nothingLeft(timeout: Duration = .seconds(10)) async throws {
        try await until("no channel is left", timeout: timeout) { try await channelsLeft().isEmpty }
    }
}
