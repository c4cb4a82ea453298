import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Recording copies from one Asterisk over plain HTTP/1.1 connections kept open between copies, on the copies'
/// loop (`HTTPARITransport.downloadLoop`). A copy is one GET whose body goes straight into its file.
///
/// AsyncHTTPClient did the same with a general client's machinery (its pool's state machines, request bags,
/// delegates), which was most of the copies' thread: at 150 calls a second the copies cost a fifth of the app's
/// CPU. Here a copy is a request head, the answer's parts and the file's writes. `https://` servers keep the
/// general client.
///
/// Everything below runs on `loop`. Up to `maxConnections` copies run at once; more wait in order. An idle
/// connection is closed after `idleTimeout` (before Asterisk's `session_keep_alive`, 15 s by default, closes it),
/// and a copy sent on a kept connection that the server closed before answering is sent once more on a new one.
final class RecordingCopier: @unchecked Sendable {
    struct Job {
        /// Path and query on the server, `/ari/recordings/stored/…/file`.
        let target: String
        let file: String
        let completion: @Sendable (Result<Int, any Error>) -> Void
        var retried = false
    }

    let loop: any EventLoop
    let host: String
    let port: Int
    let hostHeader: String
    /// The ARI base URL's path (`/ari`), which requests' paths follow.
    let basePath: String
    let authorization: String
    let connectTimeout: TimeAmount
    /// The longest a copy may take (a long call's recording is tens of megabytes).
    let copyTimeout: TimeAmount
    let maxConnections: Int
    let idleTimeout: TimeAmount

    private var idle: [(channel: any NIOCore.Channel, closer: Scheduled<Void>)] = []
    private var connections = 0 // open or opening
    private var waiting = CircularBuffer<Job>()

    init(loop: any EventLoop, host: String, port: Int, basePath: String = "", authorization: String, connectTimeout: TimeAmount,
         copyTimeout: TimeAmount, maxConnections: Int = 8, idleTimeout: TimeAmount = .seconds(10)) {
        self.loop = loop
        self.host = host
        self.port = port
        self.basePath = basePath
        hostHeader = (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        self.authorization = authorization
        self.connectTimeout = connectTimeout
        self.copyTimeout = copyTimeout
        self.maxConnections = max(1, maxConnections)
        self.idleTimeout = idleTimeout
    }

    /// Host (without the brackets of an IPv6 literal), port and path of a plain `http://` ARI base URL.
    static func endpoint(_ baseURL: String) -> (host: String, port: Int, path: String)? {
        guard let url = URLComponents(string: baseURL), url.scheme == "http", var host = url.host, !host.isEmpty else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, url.port ?? 80, url.percentEncodedPath)
    }

    /// Copies `target` into `file`; `completion` runs once, on the loop. Callable from any thread.
    func copy(_ target: String, toFile file: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        let job = Job(target: target, file: file, completion: completion)
        if loop.inEventLoop {
            start(job)
        } else {
            loop.execute { self.start(job) }
        }
    }

    /// Connections open now, idle ones included (tests).
    var openConnections: Int {
        loop.preconditionInEventLoop()
        return connections
    }

    private func start(_ job: Job) {
        if let (channel, closer) = idle.popLast() {
            closer.cancel()
            send(job, on: channel, fresh: false)
        } else if connections < maxConnections {
            connections += 1
            connect(job)
        } else {
            waiting.append(job)
        }
    }

    private func connect(_ job: Job) {
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(CopyHandler(copier: self))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard let handler = try? channel.pipeline.syncOperations.handler(type: CopyHandler.self) else {
                        channel.close(promise: nil)
                        self.connections -= 1
                        job.completion(.failure(ARIError.transport("the connection for the recording could not be set up")))
                        self.startWaiting()
                        return
                    }
                    // Counted down when it closes, however it closes (an inactive event is not always sent).
                    channel.closeFuture.assumeIsolated().whenComplete { _ in handler.connectionClosed(channel) }
                    self.send(job, on: channel, fresh: true)
                case .failure(let error):
                    self.connections -= 1
                    job.completion(.failure(ARIError.transport("cannot connect to Asterisk for a recording: \(error)")))
                    self.startWaiting()
                }
            }
    }

    private func send(_ job: Job, on channel: any NIOCore.Channel, fresh: Bool) {
        guard channel.isActive, let handler = try? channel.pipeline.syncOperations.handler(type: CopyHandler.self) else {
            // Closed in the meantime (its close is counted by `closed`). A kept connection: the copy takes another
            // way. A new one closed at once: the copy fails rather than reconnecting in a loop.
            channel.close(promise: nil)
            if fresh {
                job.completion(.failure(ARIError.transport("Asterisk closed the connection for the recording at once")))
            } else {
                start(job)
            }
            return
        }
        handler.begin(job, fresh: fresh)
    }

    /// A copy ended on `channel`, whose answer was complete: the next waiting copy goes on it, or it idles.
    fileprivate func finished(on channel: any NIOCore.Channel, keepAlive: Bool) {
        guard keepAlive, channel.isActive else {
            channel.close(promise: nil) // `closed` counts it
            return
        }
        if let next = waiting.popFirst() {
            send(next, on: channel, fresh: false)
        } else {
            let closer = loop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
            idle.append((channel, closer))
        }
    }

    /// `channel` closed; `retry` is a copy it was carrying that may be sent again.
    fileprivate func closed(_ channel: any NIOCore.Channel, retry: Job?) {
        connections -= 1
        if let index = idle.firstIndex(where: { $0.channel === channel }) {
            idle[index].closer.cancel()
            idle.remove(at: index)
        }
        if let retry { start(retry) } else { startWaiting() }
    }

    private func startWaiting() {
        while connections < maxConnections || !idle.isEmpty, let next = waiting.popFirst() {
            start(next)
        }
    }
}

/// One connection's side of a copy: sends the GET, writes a 2xx body into the file as it arrives, and turns any
/// other answer into the `ARIError` with ARI's message (no file is left then, nor after any failure).
private final class CopyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let copier: RecordingCopier
    private var context: ChannelHandlerContext?
    private var job: RecordingCopier.Job?
    private var fresh = true
    private var answered = false
    private var keepAlive = true
    private var answer: DownloadAnswer?
    private var failure: (any Error)?
    /// A transport error before any answer on a kept connection: the copy may be sent again.
    private var transportError: (any Error)?
    private var deadline: Scheduled<Void>?

    init(copier: RecordingCopier) { self.copier = copier }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func begin(_ job: RecordingCopier.Job, fresh: Bool) {
        guard let context else {
            job.completion(.failure(ARIError.transport("the connection for the recording closed")))
            return
        }
        self.job = job
        self.fresh = fresh
        answered = false
        keepAlive = true
        answer = DownloadAnswer(path: job.file)
        failure = nil
        transportError = nil
        // The deadline first: a write that fails at once closes the connection, which ends the copy.
        let channel = context.channel
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: copier.copyTimeout) { [self] in
            failure = ARIError.timeout
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: job.target)
        head.headers.add(name: "Host", value: copier.hostHeader)
        head.headers.add(name: "Authorization", value: copier.authorization)
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard job != nil else { return } // nothing asked: an answer to nothing is dropped (the close follows)
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            answered = true
            keepAlive = head.isKeepAlive
            do {
                try answer?.head(status: Int(head.status.code))
            } catch {
                failure = error
            }
        case .body(let buffer):
            guard failure == nil else { return }
            do {
                try answer?.body(buffer)
            } catch {
                failure = error
            }
        case .end:
            deadline?.cancel()
            deadline = nil
            guard let job else { return }
            self.job = nil
            let result: Result<Int, any Error>
            if let failure {
                answer?.discard()
                result = .failure(failure)
            } else {
                result = Result { try answer!.finish() }
            }
            answer = nil
            // The connection first (the next copy may start on it), then the copy's owner.
            copier.finished(on: context.channel, keepAlive: keepAlive)
            job.completion(result)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if job != nil, !answered, !fresh {
            transportError = error // a kept connection reset as the request went out: it may be sent again
        } else if failure == nil {
            failure = ARIError.transport(String(describing: error))
        }
        context.close(promise: nil)
    }

    /// The connection closed, however it closed (from its close future).
    func connectionClosed(_ channel: any NIOCore.Channel) {
        deadline?.cancel()
        deadline = nil
        answer?.discard()
        answer = nil
        guard var job else {
            copier.closed(channel, retry: nil)
            return
        }
        self.job = nil
        // A kept connection the server closed (or reset) as the request went out: once more, on a new one.
        if !answered, !fresh, !job.retried, failure == nil {
            job.retried = true
            copier.closed(channel, retry: job)
        } else {
            copier.closed(channel, retry: nil)
            let reason = failure ?? transportError.map { ARIError.transport(String(describing: $0)) }
            job.completion(.failure(reason ?? ARIError.transport("Asterisk closed the connection before the recording was copied")))
        }
    }
}
