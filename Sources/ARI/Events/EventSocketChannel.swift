import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import WSCore

/// The events socket of a plain `ws://` Asterisk on a NIO channel of its own event loop. Frames are read
/// and written on that loop: a consumer running there (the call flow) gets each event and each answer on
/// the thread that read it, and requests it writes there go out in one flush per loop tick, with no hop
/// to another thread either way. (`wss://` keeps the WSClient path, which brings TLS.)
final class EventSocketHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Called on the loop for every text frame.
    let onText: (String) -> Void
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var closing = false
    /// Masking keys, which a client must draw from a strong source: one `getrandom` per 128 frames
    /// instead of one per frame (it was a system call for every request).
    private var random = BufferedRandom()
    /// Why the socket ended, when the server said so.
    private(set) var closeReason: String?

    init(onText: @escaping (String) -> Void) {
        self.onText = onText
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            var payload = frame.unmaskedData
            onText(payload.readString(length: payload.readableBytes) ?? "")
        case .ping:
            guard !closing else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(using: &random), data: frame.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readWebSocketErrorCode()
            closeReason = "closed by server: \(code.map { "\($0)" } ?? "no code")"
            guard !closing else {
                context.close(promise: nil)
                return
            }
            // Answer the close handshake, then end the connection.
            closing = true
            var echo = context.channel.allocator.buffer(capacity: 2)
            if let code { echo.write(webSocketErrorCode: code) }
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(using: &random), data: echo)
            context.writeAndFlush(Self.wrapOutboundOut(reply)).whenComplete { _ in context.close(promise: nil) }
        default:
            break // binary and pong frames carry nothing for ARI
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeReason = closeReason ?? String(describing: error)
        context.close(promise: nil)
    }

    /// Writes one text frame (masked, as a client must). Must be called on the loop. Frames written during
    /// one loop tick share a flush, so a burst of requests leaves in few system calls.
    func send(_ text: String) -> Bool {
        guard let context, !closing, context.channel.isActive else { return false }
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &random), data: context.channel.allocator.buffer(string: text))
        context.write(Self.wrapOutboundOut(frame), promise: nil)
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.execute { [self] in
                flushScheduled = false
                self.context?.flush()
            }
        }
        return true
    }

    /// Starts the close handshake (on the loop).
    func close() {
        guard let context, !closing else { return }
        closing = true
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .normalClosure)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(using: &random), data: code)
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        // The server answers and closes; do not wait for ever.
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}

/// How a connected socket is written to: the loop-bound NIO handler, or WSClient's async writer (wss).
enum EventSocketWriter: Sendable {
    case channel(NIOLoopBound<EventSocketHandler>, any NIOCore.Channel)
    case wsClient(WebSocketOutboundWriter)
}

/// Opens the NIO-native events socket: TCP, the HTTP upgrade with the ARI credentials, then WebSocket
/// frames (fragments joined up to `maxMessageSize`).
enum EventSocketConnector {
    struct Connected: Sendable {
        var channel: any NIOCore.Channel
        var upgraded: EventLoopFuture<NIOLoopBound<EventSocketHandler>?>
    }

    /// `onOpen` runs on the loop as soon as the upgrade is done, before any frame is read.
    static func connect(url: String, authorization: String, maxMessageSize: Int, eventLoop: any EventLoop,
                        onText: @escaping @Sendable (String) -> Void,
                        onOpen: @escaping @Sendable (NIOLoopBound<EventSocketHandler>, any NIOCore.Channel) -> Void) async throws -> Connected {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw ARIError.transport("not a WebSocket URL: \(url)")
        }
        let port = components.port ?? 80
        var uri = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { uri += "?" + query }
        return try await ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<NIOLoopBound<EventSocketHandler>?>(
                        maxFrameSize: maxMessageSize,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let handler = EventSocketHandler(onText: onText)
                                try channel.pipeline.syncOperations.addHandler(NIOWebSocketFrameAggregator(
                                    minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: maxMessageSize))
                                try channel.pipeline.syncOperations.addHandler(handler)
                                let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                                onOpen(bound, channel)
                                return bound
                            }
                        })
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: components.port.map { "\(host):\($0)" } ?? host)
                    headers.add(name: "Authorization", value: authorization)
                    headers.add(name: "Content-Length", value: "0")
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<NIOLoopBound<EventSocketHandler>?>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(nil) })
                    let upgraded = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration))
                    return Connected(channel: channel, upgraded: upgraded)
                }
            }
    }
}

/// Random numbers from the system's strong source (`arc4random_buf`, i.e. `getrandom`), fetched 1 KiB
/// at a time.
struct BufferedRandom: RandomNumberGenerator {
    private var buffer = [UInt64](repeating: 0, count: 128)
    private var used = 128

    mutating func next() -> UInt64 {
        if used == buffer.count {
            buffer.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
            used = 0
        }
        defer { used += 1 }
        return buffer[used]
    }
}
