import Synchronization

/// Thrown when an operation did not finish in time.
struct TimedOut: Error, CustomStringConvertible {
    var seconds: Double
    var description: String { "no answer within \(seconds) s" }
}

/// Runs `operation`, giving up after `seconds` without waiting for it to notice (PostgresClient keeps
/// retrying a dead server; the abandoned attempt is cancelled and ends on its own).
func withTimeout<T: Sendable>(seconds: Double, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let settled = Once()
    let work = Task { try await operation() }
    return try await withCheckedThrowingContinuation { continuation in
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            if settled.claim() {
                work.cancel()
                continuation.resume(throwing: TimedOut(seconds: seconds))
            }
        }
        Task {
            let result = await work.result
            timer.cancel()
            if settled.claim() { continuation.resume(with: result) }
        }
    }
}

/// True for the first caller of `claim` only.
final class Once: Sendable {
    let done = Mutex(false)
    func claim() -> Bool { done.withLock { was in defer { was = true }; return !was } }
}
