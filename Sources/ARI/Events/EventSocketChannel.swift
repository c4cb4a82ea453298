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
///
/// The WebSocket framing (RFC 6455, client side) is done here, on the socket's bytes, rather than by NIO's
/// decoder, aggregator and encoder: a text frame becomes its string straight from the bytes read, and a
/// request is masked while it is copied into the frame. Those three handlers and their frame values were
/// about a tenth of the call flow's thread. Fragmented messages, control frames between fragments, frames
/// split across reads, ping, close and every protocol violation are handled as NIO's handlers did.
final class EventSocketHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Called on the loop for every text message.
    let onText: (String) -> Void
    /// The largest message taken, whole or in fragments; a larger one closes the socket (1009).
    let maxMessageSize: Int
    /// The most fragments one message may come in.
    static let maxFragments = 1024
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    /// Text frames written this loop tick, not yet handed to the channel (`send`).
    private var pending: ByteBuffer?
    /// Where a message's bytes are written before they are masked into `pending`.
    private var scratch: [UInt8] = []
    private var closing = false
    /// A protocol error ended the socket: nothing more is read.
    private var failed = false
    /// The server's close frame came: nothing after it is read.
    private var serverClosed = false
    /// Masking keys, which a client must draw from a strong source: one `getrandom` per 128 frames
    /// instead of one per frame (it was a system call for every request).
    private var random = BufferedRandom()
    /// Why the socket ended, when the server said so or broke the protocol.
    private(set) var closeReason: String?
    /// The start of a frame whose bytes have not all arrived (a copy: the read buffer goes back to NIO).
    private var partial: ByteBuffer?
    /// A message arriving in fragments.
    private var fragmented: Fragmented?
    /// How long the socket is left unread after each batch of reads (zero: read as soon as bytes arrive).
    /// Frames arriving meanwhile wait in the kernel and are read, and handled, together: under load one
    /// wake-up of the call flow's thread serves several calls' events instead of one or two. Waking a thread
    /// was the largest single cost of an event (tens of microseconds on a virtual machine); the price is a
    /// wait of up to this long for a frame (an event, or the answer to a request just sent), more only while
    /// the loop is busy anyway; the first frame after a quiet spell is read at once.
    let readPause: TimeAmount
    private var pausing = false
    private var readScheduled = false
    /// Given, at the start of each batch read after a pause, the most its frames may have waited unread
    /// because of the pause (for the benchmark's latencies).
    let onHeldBack: ((TimeAmount) -> Void)?
    /// When the last batch ended (reading stopped) and when reading was asked for again.
    private var pausedAt = NIODeadline.uptimeNanoseconds(0)
    private var resumedAt: NIODeadline?
    /// Reads and bytes in the current batch. A batch that used all of NIO's reads per batch (`maxMessagesPerRead`:
    /// more may be waiting) or brought `backlog` bytes is followed by the next read at once: the pause gathers
    /// small batches, it does not hold back a burst (Asterisk drops an events socket whose writes block longer
    /// than its `websocket_write_timeout`, 100 ms by default).
    private var batchReads = 0
    private var batchBytes = 0
    static let readsPerBatch = 4
    static let backlog = 128 * 1024

    private struct Fragmented {
        var text: ByteBuffer? // nil: a binary message, counted and dropped
        var size: Int
        var count: Int
    }

    init(maxMessageSize: Int, readPause: TimeAmount = .zero, onHeldBack: ((TimeAmount) -> Void)? = nil,
         onText: @escaping (String) -> Void) {
        self.maxMessageSize = max(0, maxMessageSize)
        self.readPause = readPause
        self.onHeldBack = onHeldBack
        self.onText = onText
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Reading on request (after each pause) instead of whenever bytes arrive.
        if readPause > .zero, let options = context.channel.syncOptions, (try? options.setOption(.autoRead, value: false)) != nil {
            pausing = true
            // NIO's own default for stream sockets, set rather than read (not every channel type answers for it).
            _ = try? options.setOption(.maxMessagesPerRead, value: UInt(Self.readsPerBatch))
            context.read()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        pending = nil // frames not yet handed over go with the handler, as written ones go with the channel
        scratch = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed, !serverClosed else { return }
        if pausing, batchReads == 0 { // the batch's first read
            if let onHeldBack {
                if let resumed = resumedAt {
                    // Read within a pause of resuming: the frames were most likely waiting, and may have arrived any
                    // time since reading stopped. Read later: the loop was waiting for them, but one may still have
                    // come during the unread window, so the window is charged. Either way no less than the truth.
                    let now = context.eventLoop.now
                    onHeldBack(now - resumed <= readPause ? now - pausedAt : resumed - pausedAt)
                    resumedAt = nil
                } else {
                    onHeldBack(.zero) // the first read: nothing was held back
                }
            }
        }
        var input = Self.unwrapInboundIn(data)
        batchReads += 1
        batchBytes += input.readableBytes
        let owned = partial != nil
        if var held = partial {
            partial = nil // unique while it grows
            held.writeBuffer(&input)
            input = held
        }
        while !failed, !serverClosed, input.readableBytes >= 2 {
            let start = input.readerIndex
            let readable = input.readableBytes
            let first = input.getInteger(at: start, as: UInt8.self)!
            let second = input.getInteger(at: start + 1, as: UInt8.self)!
            let fin = first & 0x80 != 0, opcode = first & 0x0F
            var header = 2
            var length = UInt64(second & 0x7F)
            if length == 126 {
                guard readable >= 4 else { break }
                length = UInt64(input.getInteger(at: start + 2, as: UInt16.self)!)
                header = 4
            } else if length == 127 {
                guard readable >= 10 else { break }
                length = input.getInteger(at: start + 2, as: UInt64.self)!
                header = 10
            }
            if let violation = Self.violation(first: first, second: second, length: length, maxMessageSize: maxMessageSize) {
                fail(context: context, violation.code, violation.reason)
                return
            }
            guard readable - header >= Int(length) else { break }
            let payload = start + header
            // Read while the frame is still within the readable bytes (NIO's getters look only there).
            frame(context: context, opcode: opcode, fin: fin, input: input, at: payload, length: Int(length))
            input.moveReaderIndex(to: payload + Int(length))
        }
        guard !failed, !serverClosed, input.readableBytes > 0 else { return }
        // Keep the unfinished frame: the buffer it grows in, or a copy when it sits in NIO's read buffer (which
        // is reused when no one holds it). Growing in place keeps a large frame read in many pieces linear.
        if owned {
            if input.readerIndex > input.capacity / 2 { input.discardReadBytes() }
            partial = input
        } else {
            var held = context.channel.allocator.buffer(capacity: input.readableBytes)
            held.writeBuffer(&input)
            partial = held
        }
    }

    /// What is wrong with a frame's header from the server, if anything (RFC 6455 §5.2, §5.5).
    static func violation(first: UInt8, second: UInt8, length: UInt64, maxMessageSize: Int) -> (code: WebSocketErrorCode, reason: String)? {
        let opcode = first & 0x0F
        if first & 0x70 != 0 { return (.protocolError, "a frame with reserved bits set (no extension was agreed)") }
        if second & 0x80 != 0 { return (.protocolError, "a masked frame from the server") }
        switch opcode {
        case 0, 1, 2:
            if length > UInt64(maxMessageSize) { return (.messageTooLarge, "a frame of \(length) bytes, over the limit of \(maxMessageSize)") }
        case 8, 9, 10:
            if first & 0x80 == 0 { return (.protocolError, "a fragmented control frame") }
            if length > 125 { return (.protocolError, "a control frame of \(length) bytes") }
        default:
            return (.protocolError, "an unknown opcode \(opcode)")
        }
        return nil
    }

    private func frame(context: ChannelHandlerContext, opcode: UInt8, fin: Bool, input: ByteBuffer, at payload: Int, length: Int) {
        switch opcode {
        case 1, 2:
            guard fragmented == nil else {
                fail(context: context, .protocolError, "a new message before the last fragment of the previous one")
                return
            }
            if fin {
                if opcode == 1 { onText(input.getString(at: payload, length: length) ?? "") }
            } else {
                fragmented = Fragmented(text: opcode == 1 ? input.getSlice(at: payload, length: length).map { slice in
                    var copy = context.channel.allocator.buffer(capacity: max(length * 2, 1024))
                    copy.writeImmutableBuffer(slice)
                    return copy
                } : nil, size: length, count: 1)
            }
        case 0:
            guard var message = fragmented else {
                fail(context: context, .protocolError, "a continuation frame outside a fragmented message")
                return
            }
            fragmented = nil // unique while it grows
            message.size += length
            message.count += 1
            guard message.size <= maxMessageSize else {
                fail(context: context, .messageTooLarge, "a message of over \(maxMessageSize) bytes in fragments")
                return
            }
            guard message.count <= Self.maxFragments else {
                fail(context: context, .messageTooLarge, "a message in over \(Self.maxFragments) fragments")
                return
            }
            if message.text != nil, let slice = input.getSlice(at: payload, length: length) {
                message.text!.writeImmutableBuffer(slice)
            }
            if fin {
                if var text = message.text { onText(text.readString(length: text.readableBytes) ?? "") }
            } else {
                fragmented = message
            }
        case 9:
            guard !closing else { return }
            context.writeAndFlush(Self.wrapOutboundOut(makeFrame(opcode: 0xA, payload: input.getSlice(at: payload, length: length)!)),
                                  promise: nil)
        case 8:
            let number = length >= 2 ? input.getInteger(at: payload, as: UInt16.self).map(Int.init) : nil
            // A one-byte body, or a code no endpoint may send (RFC 6455 §7.4), is a protocol error.
            if length == 1 || number.map({ !((1000...1003).contains($0) || (1007...1011).contains($0) || (3000...4999).contains($0)) }) == true {
                fail(context: context, .protocolError, "a close frame with \(length == 1 ? "a one-byte body" : "the code \(number!)")")
                return
            }
            serverClosed = true
            let code = number.map { WebSocketErrorCode(codeNumber: $0) }
            closeReason = "closed by server: \(code.map { "\($0)" } ?? "no code")"
            guard !closing else {
                context.close(promise: nil)
                return
            }
            // Answer the close handshake, then end the connection.
            closing = true
            var echo = context.channel.allocator.buffer(capacity: 2)
            if let code { echo.write(webSocketErrorCode: code) }
            context.writeAndFlush(Self.wrapOutboundOut(makeFrame(opcode: 0x8, payload: echo))).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        default:
            break // pong frames carry nothing for ARI
        }
    }

    /// Ends the socket for a protocol violation of the server's: a close frame with `code`, then the close.
    private func fail(context: ChannelHandlerContext, _ code: WebSocketErrorCode, _ reason: String) {
        failed = true
        partial = nil
        fragmented = nil
        closeReason = "WebSocket protocol error: \(reason)"
        guard !closing else {
            context.close(promise: nil)
            return
        }
        closing = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: code)
        context.writeAndFlush(Self.wrapOutboundOut(makeFrame(opcode: 0x8, payload: payload))).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
    }

    /// After a batch of reads, the next read waits `readPause` (see `ARIServerConfiguration.eventReadPause`).
    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        let (reads, bytes) = (batchReads, batchBytes)
        (batchReads, batchBytes) = (0, 0)
        guard pausing, !readScheduled else { return }
        if reads >= Self.readsPerBatch || bytes >= Self.backlog {
            // What comes next waited since the last pause began at most: charged from there (`onHeldBack`).
            if onHeldBack != nil { resumedAt = context.eventLoop.now }
            context.read()
            return
        }
        readScheduled = true
        if onHeldBack != nil { pausedAt = context.eventLoop.now }
        // On the loop, where this handler lives (no check: this runs after every batch).
        context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: readPause) { [self] in
            readScheduled = false
            if onHeldBack != nil { resumedAt = self.context?.eventLoop.now }
            self.context?.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeReason = closeReason ?? String(describing: error)
        context.close(promise: nil)
    }

    /// Writes one text frame (masked, as a client must). Must be called on the loop. Frames written during
    /// one loop tick go out together, in one buffer and one flush, so a burst of requests leaves in few system calls.
    func send(_ text: String) -> Bool {
        send { $0.append(contentsOf: text.utf8) }
    }

    /// The same, the message's UTF-8 written by `write` into a buffer kept between frames: a request is framed
    /// without a string or a buffer of its own (`RESTFrame.write`).
    func send(writing write: (inout [UInt8]) -> Void) -> Bool {
        guard let context, !closing, context.channel.isActive else { return false }
        scratch.removeAll(keepingCapacity: true)
        write(&scratch)
        let key = UInt32(truncatingIfNeeded: random.next())
        if pending == nil { pending = context.channel.allocator.buffer(capacity: max(1024, scratch.count + 14)) }
        scratch.withUnsafeBytes { Self.appendFrame(opcode: 0x1, payload: $0, maskKey: key, to: &pending!) }
        if scratch.capacity > 1 << 20 { scratch = [] } // an outsized message does not keep its memory
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.assumeIsolatedUnsafeUnchecked().execute { [self] in
                flushScheduled = false
                if let context = self.context { writePending(context, flush: true) }
            }
        }
        return true
    }

    /// The frames gathered this tick into the channel (before any control frame, which must not overtake them).
    private func writePending(_ context: ChannelHandlerContext, flush: Bool) {
        guard let frames = pending else { return }
        pending = nil
        if flush {
            context.writeAndFlush(Self.wrapOutboundOut(frames), promise: nil)
        } else {
            context.write(Self.wrapOutboundOut(frames), promise: nil)
        }
    }

    /// Starts the close handshake (on the loop).
    func close() {
        guard let context, !closing else { return }
        closing = true
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .normalClosure)
        context.writeAndFlush(Self.wrapOutboundOut(makeFrame(opcode: 0x8, payload: code)), promise: nil)
        // The server answers and closes; do not wait for ever.
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    /// A control frame, after the text frames gathered so far (a close must not overtake them).
    private func makeFrame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        if let context { writePending(context, flush: false) }
        let allocator = context?.channel.allocator ?? ByteBufferAllocator()
        let key = UInt32(truncatingIfNeeded: random.next())
        return payload.withUnsafeReadableBytes { Self.frame(opcode: opcode, payload: $0, maskKey: key, allocator: allocator) }
    }

    /// One final frame from the client: the header, the masking key, and `payload` masked with it as it is
    /// copied (RFC 6455 §5.3), eight bytes at a time.
    static func frame(opcode: UInt8, payload: UnsafeRawBufferPointer, maskKey: UInt32, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 14)
        appendFrame(opcode: opcode, payload: payload, maskKey: maskKey, to: &buffer)
        return buffer
    }

    /// The same frame, appended to `buffer`.
    static func appendFrame(opcode: UInt8, payload: UnsafeRawBufferPointer, maskKey: UInt32, to buffer: inout ByteBuffer) {
        let count = payload.count
        buffer.reserveCapacity(minimumWritableBytes: count + 14)
        buffer.writeInteger(0x80 | opcode)
        if count < 126 {
            buffer.writeInteger(0x80 | UInt8(count))
        } else if count <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(count))
        }
        buffer.writeInteger(maskKey) // its bytes, in network order, are the key's four bytes
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            // The key's bytes in memory order, twice: the same word whatever the machine's byte order.
            let inMemory = UInt64(maskKey.bigEndian)
            let wide = inMemory | inMemory << 32
            var offset = 0
            while offset + 8 <= count {
                let word = payload.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ wide
                target.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < count {
                target[offset] = payload[offset] ^ UInt8(truncatingIfNeeded: maskKey >> (24 - 8 * UInt32(offset & 3)))
                offset += 1
            }
            return count
        }
    }
}

/// The WebSocket upgrade of the events socket: NIO's client upgrader sends the key and checks the server's
/// accept value; then `EventSocketHandler` alone reads and writes the frames.
struct EventSocketUpgrader: NIOTypedHTTPClientProtocolUpgrader {
    typealias UpgradeResult = NIOLoopBound<EventSocketHandler>?
    let checks = NIOTypedWebSocketClientUpgrader<UpgradeResult>(upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededFuture(nil) })
    let maxMessageSize: Int
    let readPause: TimeAmount
    let onHeldBack: (@Sendable (TimeAmount) -> Void)?
    let onText: @Sendable (String) -> Void
    let onOpen: @Sendable (NIOLoopBound<EventSocketHandler>, any NIOCore.Channel) -> Void

    var supportedProtocol: String { checks.supportedProtocol }
    var requiredUpgradeHeaders: [String] { checks.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        checks.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        checks.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(channel: any NIOCore.Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            let handler = EventSocketHandler(maxMessageSize: maxMessageSize, readPause: readPause, onHeldBack: onHeldBack, onText: onText)
            try channel.pipeline.syncOperations.addHandler(handler)
            let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
            onOpen(bound, channel)
            return bound
        }
    }
}

/// How a connected socket is written to: the loop-bound NIO handler, or WSClient's async writer (wss).
enum EventSocketWriter: Sendable {
    case channel(NIOLoopBound<EventSocketHandler>, any NIOCore.Channel)
    case wsClient(WebSocketOutboundWriter)
}

/// Opens the NIO-native events socket: TCP, the HTTP upgrade with the ARI credentials, then WebSocket
/// frames (`EventSocketHandler`; fragments joined up to `maxMessageSize`).
enum EventSocketConnector {
    struct Connected: Sendable {
        var channel: any NIOCore.Channel
        var upgraded: EventLoopFuture<NIOLoopBound<EventSocketHandler>?>
    }

    /// `onOpen` runs on the loop as soon as the upgrade is done, before any frame is read.
    static func connect(url: String, authorization: String, maxMessageSize: Int, readPause: TimeAmount = .zero,
                        onHeldBack: (@Sendable (TimeAmount) -> Void)? = nil, eventLoop: any EventLoop,
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
                    let upgrader = EventSocketUpgrader(maxMessageSize: maxMessageSize, readPause: readPause, onHeldBack: onHeldBack,
                                                       onText: onText, onOpen: onOpen)
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
