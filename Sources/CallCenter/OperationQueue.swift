import ARI
import Foundation
import NIOCore
import Synchronization

/// A call's ARI requests, in order, without making the call flow wait for Asterisk's answers.
///
/// - While the events socket carries REST and the call flow runs on the socket's loop, each request is
///   written into the socket at once (`ARIEventConnection.pipeline`): Asterisk handles one socket's requests
///   strictly in order, so nothing waits for an answer and no task or thread hop is spent per request.
/// - Otherwise (HTTP, `wss://`, the socket down) the call's requests form a chain: each is sent when the
///   previous one's answer came, and once a call has used the chain it keeps to it, so its requests never
///   overtake one another. Over HTTP the chain runs on the call flow's loop with a connection on that loop
///   (`HTTPARITransport.submit`): no task is started and no pool thread woken per request.
final class CallRequests: Sendable {
    typealias Failure = @Sendable (String, any Error) -> Void
    typealias Operation = @Sendable (ARIClient) async throws -> Void

    enum Item: Sendable {
        case request(label: String, ARIRequest, ignoringErrors: Bool, onDone: (@Sendable () -> Void)?)
        case operation(label: String, Operation)
    }

    struct Chain {
        var pending: [Item] = []
        var head = 0
        var running = false
        /// The call has used the chain: its later requests follow it rather than the socket.
        var used = false
    }

    let client: ARIClient
    let connection: ARIEventConnection?
    let loop: any EventLoop
    let onError: Failure
    let chain = Mutex(Chain())

    init(client: ARIClient, loop: any EventLoop, onError: @escaping Failure) {
        self.client = client
        self.connection = (client.transport as? WebSocketARITransport)?.connection
        self.loop = loop
        self.onError = onError
    }

    /// Sends `request` after the call's earlier requests. A failure reaches `onError` unless `ignoringErrors`
    /// (hang-ups and stops of things that may already be gone).
    /// `onDone` runs when Asterisk has answered it with success (the benchmark's latencies: what a caller or an
    /// operator waits for includes Asterisk's own work).
    func send(_ label: String, _ request: ARIRequest, ignoringErrors: Bool = false, onDone: (@Sendable () -> Void)? = nil) {
        let chained = chain.withLock { $0.used }
        if !chained, let connection, connection.pipeline(request, completion: completion(label, ignoringErrors, onDone: onDone)) {
            return
        }
        append(.request(label: label, request, ignoringErrors: ignoringErrors, onDone: onDone))
    }

    /// Sends `request` now, ahead of any requests still waiting in the call's chain (an operator's phone
    /// should ring at once, not after the caller's prompt requests).
    func sendNow(_ label: String, _ request: ARIRequest, onDone: (@Sendable () -> Void)? = nil) {
        if let connection, connection.pipeline(request, completion: completion(label, false, onDone: onDone)) {
            return
        }
        submit(request).whenComplete(completion(label, false, onDone: onDone))
    }

    /// A request whose answer is read (monitoring): always through the chain, after the call's earlier requests.
    func enqueue(_ label: String, _ operation: @escaping Operation) {
        append(.operation(label: label, operation))
    }

    /// Requests waiting in the chain (tests).
    var waiting: Int { chain.withLock { $0.pending.count - $0.head } }

    private func append(_ item: Item) {
        let start = chain.withLock { chain in
            chain.used = true
            chain.pending.append(item)
            if chain.running { return false }
            chain.running = true
            return true
        }
        if start { next() }
    }

    /// Runs the chain's next item; its answer (on the call flow's loop) runs the one after.
    private func next() {
        let item = chain.withLock { chain -> Item? in
            guard chain.head < chain.pending.count else {
                chain.pending.removeAll(keepingCapacity: true)
                chain.head = 0
                chain.running = false
                return nil
            }
            defer { chain.head += 1 }
            return chain.pending[chain.head]
        }
        guard let item else { return }
        let done: EventLoopFuture<Void>
        switch item {
        case .request(let label, let request, let ignoringErrors, let onDone):
            let onError = onError
            done = submit(request).map { _ in onDone?() }.flatMapError { error in
                if !ignoringErrors { onError(label, error) }
                return self.loop.makeSucceededVoidFuture()
            }
        case .operation(let label, let operation):
            let client = client, onError = onError
            done = loop.makeFutureWithTask {
                do { try await operation(client) } catch { onError(label, error) }
            }
        }
        done.whenComplete { _ in self.next() }
    }

    /// One request, its answer on the call flow's loop: over HTTP from this loop when this Asterisk's
    /// requests go by HTTP, else through the client (the socket's `wss://` transport or its fallback).
    private func submit(_ request: ARIRequest) -> EventLoopFuture<ARIResponse> {
        let transport = client.transport
        if let http = transport as? HTTPARITransport {
            return http.submit(request, on: loop)
        }
        if let socket = transport as? WebSocketARITransport, !socket.connection.restOverWebSocket {
            return socket.http.submit(request, on: loop)
        }
        let client = client
        return loop.makeFutureWithTask { try await client.transport.send(request) }
    }

    private func completion(_ label: String, _ ignoringErrors: Bool,
                            onDone: (@Sendable () -> Void)? = nil) -> @Sendable (Result<ARIResponse, any Error>) -> Void {
        let onError = onError
        return { result in
            switch result {
            case .success: onDone?()
            case .failure(let error): if !ignoringErrors { onError(label, error) }
            }
        }
    }
}
