import ARI
import AsteriskSimulator
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// Runs `body` against a simulator served over real HTTP and WebSocket on a free loopback port.
public func withSimulator(
    _ configuration: SimulatorConfiguration = .testing(),
    _ body: @Sendable (AsteriskSimulator, ARIServerConfiguration) async throws -> Void
) async throws {
    let simulator = AsteriskSimulator(configuration: configuration)
    let app = SimulatorServer.buildApplication(simulator: simulator, port: 0)
    // The simulator's recordings are the test's own: they go when it ends, passed or failed.
    defer { try? FileManager.default.removeItem(at: configuration.recordingsDirectory) }
    try await app.test(.live) { client in
        let port = try #require(client.port)
        let ari = ARIServerConfiguration(baseURL: "http://127.0.0.1:\(port)/ari", username: configuration.username,
                                         password: configuration.password, application: "murojaat",
                                         requestTimeout: .seconds(5))
        try await body(simulator, ari)
    }
    await simulator.shutdown()
}

extension SimulatorConfiguration {
    public static func testing(scale: Double = 0.01) -> SimulatorConfiguration {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UUID().uuidString)")
        return SimulatorConfiguration(username: "murojaat", password: "secret", timeScale: scale,
                                      recordingsDirectory: directory,
                                      phones: ["101": .init(mode: .answer, answerAfterMs: 500),
                                               "102": .init(mode: .noAnswer),
                                               "103": .init(mode: .busy),
                                               "104": .init(mode: .offline)])
    }
}

/// Reads an event connection into a list that tests can wait on.
public final class EventRecorder: Sendable {
    public let items = Mutex<[ARIConnectionEvent]>([])

    public init() {}

    public func consume(_ connection: ARIEventConnection) async {
        for await item in connection.events { items.withLock { $0.append(item) } }
    }

    public var events: [ARIEvent] {
        items.withLock { list in
            list.compactMap { if case .event(_, let message) = $0 { message.event } else { nil } }
        }
    }

    public var types: [String] { events.map(\.type) }

    public var connects: Int { items.withLock { $0.filter { if case .connected = $0 { true } else { false } }.count } }
    public var disconnects: Int { items.withLock { $0.filter { if case .disconnected = $0 { true } else { false } }.count } }

    /// Waits until `predicate` holds for the recorded events (up to `timeout`).
    @discardableResult
    public func wait(for description: String, timeout: Duration = .seconds(5),
              _ predicate: @Sendable ([ARIEvent]) -> Bool) async throws -> [ARIEvent] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let current = events
            if predicate(current) { return current }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(description); saw \(types)")
        throw CancellationError()
    }

    public func waitFor(_ type: String, count: Int = 1, timeout: Duration = .seconds(5)) async throws {
        try await wait(for: "\(count)× \(type)", timeout: timeout) { $0.filter { $0.type == type }.count >= count }
    }

    public func waitUntilConnected(_ count: Int = 1) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        while clock.now < deadline {
            if connects >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("event socket never connected")
        throw CancellationError()
    }
}

/// Runs an event connection for the duration of `body`.
public func withEvents(
    _ ari: ARIServerConfiguration, maxMessageSize: Int = 1 << 20,
    _ body: @Sendable (EventRecorder, ARIEventConnection) async throws -> Void
) async throws {
    let connection = ARIEventConnection(configuration: ari, backoff: .init(base: .milliseconds(20), cap: .milliseconds(200)),
                                        maxMessageSize: maxMessageSize)
    let recorder = EventRecorder()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await connection.run() }
        group.addTask { await recorder.consume(connection) }
        try await recorder.waitUntilConnected()
        try await body(recorder, connection)
        group.cancelAll()
    }
}
