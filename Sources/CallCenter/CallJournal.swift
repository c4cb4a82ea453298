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
    let batchSize = 1000
    let rejected = Mutex<[Entry]>([])

    /// How long the journal waits after the first new entry before it writes (a batch's time to fill).
    let linger: Duration

    public init(store: any CallStore, linger: Duration = .milliseconds(100), logger: Logger) {
        self.store = store
        self.linger = linger
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
        // Graceful shutdown ends the wake-up stream; cancellation ends its iteration. Either way what is
        // left gets one more try.
        await withGracefulShutdownHandler {
            for await _ in signal {
                if Task.isCancelled { break }
                // Group commit: entries that arrive meanwhile join this batch, so under load a transaction
                // carries many calls' entries instead of one or two.
                if linger > .zero { try? await Task.sleep(for: linger) }
                await drain()
            }
        } onGracefulShutdown: { [wake] in
            wake.finish()
        }
        await drain(retrying: false)
    }

    /// Writes pending entries in order, up to `batchSize` in one go; on failure retries the same batch.
    func drain(retrying: Bool = true) async {
        var failures = 0
        while true {
            let batch = pending.withLock { Array($0.prefix(batchSize)) }
            guard !batch.isEmpty else { return }
            do {
                try await store.write(batch)
                let left = pending.withLock { pending in
                    pending.removeFirst(batch.count)
                    return pending.count
                }
                written.withLock { $0 += batch.count }
                failures = 0
                // Group commit under steady load too: what arrived while this batch was written waits for more
                // to join it, unless a full batch is already waiting. (Writing it at once made one transaction
                // of seven round trips per 18 ms whatever the load.)
                if retrying, linger > .zero, left > 0, left < batchSize, !Task.isCancelled {
                    try? await Task.sleep(for: linger)
                }
            } catch where store.isPermanent(error) {
                await setAside(batch)
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

    /// A batch the store refuses for good: written one by one so only the bad entries stay out; those are
    /// kept (and logged) instead of blocking every later write.
    func setAside(_ batch: [Entry]) async {
        for entry in batch {
            do {
                try await store.write([entry])
                written.withLock { $0 += 1 }
            } catch where store.isPermanent(error) {
                rejected.withLock { $0.append(entry) }
                logger.error("call journal entry refused by the store", metadata: ["entry": "\(entry)", "error": "\(String(reflecting: error).prefix(300))"])
            } catch {
                return // unreachable again: the rest of the batch is retried as usual
            }
            pending.withLock { _ = $0.removeFirst() }
        }
    }

    /// Entries the store refused for good (a broken constraint), for admins to look at.
    public var rejectedEntries: [Entry] { rejected.withLock { $0 } }

    /// Waits until everything appended so far is written (tests, shutdown).
    public func flush(timeout: Duration = .seconds(10)) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        // Cancelled, the sleep would return at once: no spinning until the deadline.
        while backlog > 0 && clock.now < deadline && !Task.isCancelled {
            wake.yield()
            try? await Task.sleep(for: .milliseconds(10))
        }
        return backlog == 0
    }
}
