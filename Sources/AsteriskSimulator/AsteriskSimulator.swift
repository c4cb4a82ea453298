import ARI
import Foundation
import Logging

/// An ARI server that behaves like Asterisk 22 for what Murojaat uses: the same paths, JSON shapes,
/// status codes and event order (see shared/ari-spec/BEHAVIOUR.md and traces/), with programmable
/// callers and phones and a time scale. A test peer: it refuses what Asterisk refuses.
public actor AsteriskSimulator {
    public let configuration: SimulatorConfiguration
    let logger: Logger
    var startedAt = Date()

    var channels: [String: SimChannel] = [:]
    var bridges: [String: SimBridge] = [:]
    var playbacks: [String: SimPlayback] = [:]
    var liveRecordings: [String: SimRecording] = [:]
    var applications: [String: SimApplication] = [:]
    var sinks: [String: EventSink] = [:]
    var phones: [String: PhoneBehaviour]
    var globalVariables: [String: String] = [:]
    var requests: [RecordedRequest] = []
    /// When each inbound call's StasisStart was raised, until the app answers it: the wait as Asterisk sees
    /// it, including both sockets and whatever the app let the event wait before reading it.
    var awaitingAnswer: [String: ContinuousClock.Instant] = [:]
    /// StasisStart → answer request, in milliseconds (the last 100,000 to 200,000).
    var answerWaits: [Double] = []
    var timeScale: Double
    var counter = 0
    var timers: [Int: Task<Void, Never>] = [:]
    var goneWaiters: [String: [UUID: CheckedContinuation<Bool, Never>]] = [:]

    public init(configuration: SimulatorConfiguration = .init(), logger: Logger = Logger(label: "murojaat.simulator")) {
        self.configuration = configuration
        self.logger = logger
        self.phones = configuration.phones
        self.timeScale = configuration.timeScale
        try? FileManager.default.createDirectory(at: configuration.recordingsDirectory, withIntermediateDirectories: true)
    }

    // MARK: identifiers and time

    func nextNumber() -> Int {
        counter += 1
        return counter
    }

    /// Asterisk-style unique id: `1764094563.42`.
    func uniqueId() -> String {
        "\(Int(Date().timeIntervalSince1970)).\(nextNumber())"
    }

    func now() -> String { ARICoding.timestamp() }

    /// Runs `action` after `seconds` of simulated time.
    func after(seconds: Double, _ action: @escaping @Sendable (isolated AsteriskSimulator) -> Void) {
        let id = nextNumber()
        let delay = Duration.milliseconds(Int64(max(0, seconds * timeScale * 1000)))
        timers[id] = Task {
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self.fire(timer: id, action)
        }
    }

    func fire(timer id: Int, _ action: @Sendable (isolated AsteriskSimulator) -> Void) {
        timers[id] = nil
        action(self)
    }

    /// Stops every timer and closes every socket.
    public func shutdown() {
        for timer in timers.values { timer.cancel() }
        timers.removeAll()
        for sink in sinks.values { sink.continuation.finish() }
        sinks.removeAll()
        for waiters in goneWaiters.values { for continuation in waiters.values { continuation.resume(returning: false) } }
        goneWaiters.removeAll()
    }

    // MARK: events

    func emit(_ event: ARIEvent, to apps: Set<String>) {
        for app in apps {
            guard let sink = sinks[app] else { continue } // Asterisk drops events nobody is connected for
            guard applications[app]?.allows(event.type) ?? true else { continue } // the app's event filter
            let message = ARIEventMessage(application: app, timestamp: now(), asteriskId: configuration.asteriskId, event: event)
            guard let data = try? message.encoded() else { continue }
            sink.continuation.yield(String(decoding: data, as: UTF8.self))
        }
    }

    /// Apps that hear about a channel: its own app and those subscribed to it (or to its bridge).
    func recipients(channel id: String, bridge bridgeId: String? = nil) -> Set<String> {
        var apps = Set<String>()
        if let app = channels[id]?.app { apps.insert(app) }
        for (name, application) in applications {
            if application.isSubscribed("channel:\(id)") { apps.insert(name) }
            if let bridgeId, application.isSubscribed("bridge:\(bridgeId)") { apps.insert(name) }
        }
        return apps
    }

    func bridgeSubscribers(_ bridgeId: String) -> Set<String> {
        Set(applications.filter { $0.value.isSubscribed("bridge:\(bridgeId)") }.map(\.key))
    }

    // MARK: WebSocket connections

    /// A new `/ari/events` socket for `app`. A second socket for the same app replaces the first:
    /// the old one gets ApplicationReplaced and nothing more (Asterisk does not close it).
    func connect(app: String) -> EventSink {
        let sink = EventSink(id: nextNumber(), app: app)
        if let old = sinks[app], applications[app]?.allows("ApplicationReplaced") ?? true {
            let message = ARIEventMessage(application: app, timestamp: now(), asteriskId: configuration.asteriskId,
                                          event: .applicationReplaced(EmptyEvent()))
            if let data = try? message.encoded() { old.continuation.yield(String(decoding: data, as: UTF8.self)) }
        }
        sinks[app] = sink
        if applications[app] == nil { applications[app] = SimApplication(name: app) }
        return sink
    }

    func disconnect(_ sink: EventSink) {
        sink.continuation.finish()
        if sinks[sink.app]?.id == sink.id { sinks[sink.app] = nil }
    }

    public func isConnected(app: String) -> Bool { sinks[app] != nil }

    // MARK: request log

    func record(method: String, path: String, query: [String: String], status: Int, overWebSocket: Bool = false) {
        requests.append(RecordedRequest(method: method, path: path, query: query, status: status, overWebSocket: overWebSocket))
        if requests.count > 100_000 { requests.removeFirst(requests.count - 100_000) }
    }

    public func receivedRequests() -> [RecordedRequest] { requests }

    public func clearRequests() { requests.removeAll() }

    /// Milliseconds from each inbound StasisStart raised to the answer request received (the last 100,000 or more).
    public func answerWaitsMilliseconds() -> [Double] { answerWaits }

    public func setTimeScale(_ scale: Double) { timeScale = max(0, scale) }
}
