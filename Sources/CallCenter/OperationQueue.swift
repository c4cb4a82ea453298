import ARI
import Foundation
import Synchronization

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

/// A call's ARI requests, in order. While the events socket carries REST and the call flow runs on the
/// socket's loop, each request is written into the socket at once (`ARIEventConnection.pipeline`): Asterisk
/// handles one socket's requests strictly in order, so nothing waits for an answer and no task or thread
/// hop is spent per request. Otherwise (HTTP, `wss://`, the socket down) requests go through a queue that
/// sends each after the previous one's answer; once a call has used that queue it keeps to it, so its
/// requests never overtake one another.
final class CallRequests: Sendable {
    typealias Failure = @Sendable (String, any Error) -> Void
    let client: ARIClient
    let connection: ARIEventConnection?
    let onError: Failure
    let queue = Mutex<ARIOperationQueue?>(nil)

    init(client: ARIClient, onError: @escaping Failure) {
        self.client = client
        self.connection = (client.transport as? WebSocketARITransport)?.connection
        self.onError = onError
    }

    /// Sends `request` after the call's earlier requests. A failure reaches `onError` unless `ignoringErrors`
    /// (hang-ups and stops of things that may already be gone).
    /// `onSent` runs when the request leaves (the benchmark's latencies): at once when pipelined, when its
    /// turn comes in the queue otherwise.
    func send(_ label: String, _ request: ARIRequest, ignoringErrors: Bool = false, onSent: (@Sendable () -> Void)? = nil) {
        let queued = queue.withLock { $0 }
        if queued == nil, let connection, connection.pipeline(request, completion: completion(label, ignoringErrors)) {
            onSent?()
            return
        }
        fallback().enqueue(label) { client in
            onSent?()
            if ignoringErrors { _ = try? await client.send(request) } else { try await client.send(request) }
        }
    }

    /// Sends `request` now, ahead of any requests still queued for the call (an operator's phone should
    /// ring at once, not after the caller's prompt requests).
    func sendNow(_ label: String, _ request: ARIRequest, onSent: (@Sendable () -> Void)? = nil) {
        if let connection, connection.pipeline(request, completion: completion(label, false)) {
            onSent?()
            return
        }
        let client = client, onError = onError
        Task {
            onSent?()
            do { try await client.send(request) } catch { onError(label, error) }
        }
    }

    /// A request whose answer is read (monitoring): always through the queue, after the call's earlier requests.
    func enqueue(_ label: String, _ operation: @escaping ARIOperationQueue.Operation) {
        fallback().enqueue(label, operation)
    }

    /// No more requests: a queue in use ends once its requests are sent.
    func finish() {
        queue.withLock { $0 }?.finish()
    }

    private func fallback() -> ARIOperationQueue {
        queue.withLock { queue in
            if let queue { return queue }
            let onError = onError
            let made = ARIOperationQueue(client: client) { label, error in onError(label, error) }
            queue = made
            return made
        }
    }

    private func completion(_ label: String, _ ignoringErrors: Bool) -> @Sendable (Result<ARIResponse, any Error>) -> Void {
        if ignoringErrors { return { _ in } }
        let onError = onError
        return { result in
            if case .failure(let error) = result { onError(label, error) }
        }
    }
}
