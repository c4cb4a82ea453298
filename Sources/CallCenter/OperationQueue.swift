import ARI
import Foundation

/// ARI requests of one call, sent one after another in the order the call flow decided them,
/// without making the call flow wait for Asterisk's answers.
final class ARIOperationQueue: Sendable {
    typealias Operation = @Sendable (ARIClient) async throws -> Void
    let continuation: AsyncStream<(String, Operation)>.Continuation

    init(client: ARIClient, onError: @escaping @Sendable (String, any Error) async -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(of: (String, Operation).self)
        self.continuation = continuation
        Task {
            for await (label, operation) in stream {
                do {
                    try await operation(client)
                } catch {
                    await onError(label, error)
                }
            }
        }
    }

    func enqueue(_ label: String, _ operation: @escaping Operation) {
        continuation.yield((label, operation))
    }

    /// No more operations: the queue ends once the enqueued ones are sent.
    func finish() { continuation.finish() }
}
