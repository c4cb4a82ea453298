import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An ordered, never-dropping write-behind log in front of the `CallStore`: the call flow appends
/// without waiting; the journal writes in order and, while the database is unreachable, keeps
/// retrying the same entry with capped backoff, so rows and events arrive when it returns.
public final class CallJournal: Service, Sendable {
    public enum Entry: Sendable {
        case call(CallRecord)
        case event(UUID, Date, String, [String: String])
        case agentState(Int64, AgentState, String?, UUID?, Date)
        case recording(RecordingRecord)
        case alert(String, String, UUID?, Date)
    }

    let store: any CallStore
    let logger: Logger
    let pending = Mutex<[Entry]>([])
    let signal: AsyncStream<Void>
    let wake: AsyncStream<Void>.Continuation
    let written = Mutex(0)

    public init(store: any CallStore, logger: Logger) {
        self.store = store
        self.logger = logger
        (signal, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func append(_ entry: Entry) {
        pending.withLock { $0.append(entry) }
        wake.yield()
    }

    /// Entries not yet in the store.
    public var backlog: Int { pending.withLock { $0.count } }
    public var writtenCount: Int { written.withLock { $0 } }

    public func run() async throws {
        for await _ in signal.cancelOnGracefulShutdown() {
            await drain()
        }
        await drain(retrying: false) // what is left on shutdown gets one more try
    }

    /// Writes every pending entry in order; on failure retries the same one.
    func drain(retrying: Bool = true) async {
        var failures = 0
        while let entry = pending.withLock({ $0.first }) {
            do {
                try await write(entry)
                pending.withLock { _ = $0.removeFirst() }
                written.withLock { $0 += 1 }
                failures = 0
            } catch {
                guard retrying, !Task.isCancelled else { return }
                failures += 1
                if failures == 1 || failures % 20 == 0 {
                    logger.warning("call journal cannot write, will retry", metadata: ["backlog": "\(backlog)", "error": "\(String(reflecting: error).prefix(300))"])
                }
                try? await Task.sleep(for: .milliseconds(min(5000, 50 * (1 << min(failures, 7)))))
            }
        }
    }

    /// Waits until everything appended so far is written (tests, shutdown).
    public func flush(timeout: Duration = .seconds(10)) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while backlog > 0 && clock.now < deadline {
            wake.yield()
            try? await Task.sleep(for: .milliseconds(10))
        }
        return backlog == 0
    }

    func write(_ entry: Entry) async throws {
        switch entry {
        case .call(let call): try await store.save(call)
        case .event(let id, let at, let kind, let data): try await store.appendEvent(callId: id, at: at, kind: kind, data: data)
        case .agentState(let id, let state, let reason, let call, let at):
            try await store.saveAgentState(operatorId: id, state: state, reason: reason, callId: call, at: at)
        case .recording(let recording): try await store.saveRecording(recording)
        case .alert(let kind, let message, let call, let at): try await store.saveAlert(kind: kind, message: message, callId: call, at: at)
        }
    }
}
