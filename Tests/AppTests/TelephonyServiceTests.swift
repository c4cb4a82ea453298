import Logging
@testable import MurojaatApp
import ServiceLifecycle
import Synchronization
import Testing

@Suite("The telephony service at shutdown", .timeLimit(.minutes(1)))
struct TelephonyServiceTests {
    /// What `serve` gives it (waiting for recording copies) runs after the graceful shutdown and before the
    /// service ends, so the journal, stopped after it, still gets the rows.
    @Test func itsStopWorkRunsBeforeTheServiceEnds() async throws {
        let stopped = Mutex(false)
        let telephony = TelephonyService(connections: [], status: TelephonyStatus(servers: []), logger: Logger(label: "test"), onStop: {
            try? await Task.sleep(for: .milliseconds(200))
            stopped.withLock { $0 = true }
        }) { _ in }
        let group = ServiceGroup(configuration: .init(services: [.init(service: telephony)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(100))
            #expect(!stopped.withLock { $0 }, "not before the shutdown")
            await group.triggerGracefulShutdown()
            try await tasks.next()
            #expect(stopped.withLock { $0 }, "the service ended only after its stop work")
        }
    }
}
