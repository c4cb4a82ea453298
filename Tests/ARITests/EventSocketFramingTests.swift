@testable import ARI
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// The events socket's own WebSocket framing, byte by byte: what it reads is made by NIO's frame encoder (as a
/// server writes), what it writes is read back by NIO's frame decoder (as a server reads), and every protocol
/// violation of a server closes the socket with the right code and delivers nothing more.
@Suite("WebSocket framing of the events socket")
struct EventSocketFramingTests {
    final class Received: @unchecked Sendable { var texts: [String] = [] }

    struct Socket {
        let channel: EmbeddedChannel
        let handler: EventSocketHandler
        let received: Received

        init(maxMessageSize: Int = 1 << 20) throws {
            let received = Received()
            handler = EventSocketHandler(maxMessageSize: maxMessageSize) { received.texts.append($0) }
            self.received = received
            channel = EmbeddedChannel(handler: handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8088)).wait()
        }

        /// Server frames as NIO encodes them (unmasked).
        static func serverBytes(_ frames: [WebSocketFrame]) throws -> ByteBuffer {
            let encoder = EmbeddedChannel(handler: WebSocketFrameEncoder())
            var all = ByteBuffer()
            for frame in frames {
                try encoder.writeOutbound(frame)
                while var part = try encoder.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&part) }
            }
            return all
        }

        func read(_ bytes: ByteBuffer, chunk: Int? = nil) throws {
            var bytes = bytes
            let size = chunk ?? max(bytes.readableBytes, 1)
            while bytes.readableBytes > 0 {
                try channel.writeInbound(bytes.readSlice(length: min(size, bytes.readableBytes))!)
            }
        }

        /// The frames written, as a server decodes them (checking the mask).
        func written() throws -> [WebSocketFrame] {
            channel.embeddedEventLoop.run()
            let decoder = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
            while let bytes = try channel.readOutbound(as: ByteBuffer.self) { try decoder.writeInbound(bytes) }
            var frames: [WebSocketFrame] = []
            while let frame = try decoder.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
            return frames
        }

        func closeCode() throws -> WebSocketErrorCode? {
            guard let close = try written().last, close.opcode == .connectionClose else { return nil }
            var data = close.unmaskedData
            return data.readWebSocketErrorCode()
        }
    }

    /// Counts the reads the handler asks for (they pass outbound to the socket).
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    @Test func withAPauseTheSocketIsReadAgainOnlyAfterIt() throws {
        let received = Received()
        let counter = ReadCounter()
        let heldBack = Received()
        let handler = EventSocketHandler(maxMessageSize: 1 << 20, readPause: .milliseconds(2),
                                         onHeldBack: { heldBack.texts.append("\($0.nanoseconds / 1000)") }) { received.texts.append($0) }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8088)).wait()
        #expect(counter.reads == 1, "the first read is asked for at once")
        try channel.writeInbound(Socket.serverBytes([Self.text("one"), Self.text("two")]))
        channel.pipeline.fireChannelReadComplete()
        #expect(received.texts == ["one", "two"], "a batch is handled as it is read")
        channel.embeddedEventLoop.advanceTime(by: .microseconds(1900))
        #expect(counter.reads == 1, "no read during the pause")
        channel.embeddedEventLoop.advanceTime(by: .microseconds(100))
        #expect(counter.reads == 2, "the next read after it")
        // Several batch ends within one pause ask for one read, not one each.
        channel.pipeline.fireChannelReadComplete()
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        #expect(counter.reads == 3)
        // What waited during the pause is said to have waited as long as the pause (the benchmark counts it);
        // a frame read later, by a loop that was waiting for it, is charged the unread window all the same (it
        // may have come during it): never less than the truth.
        try channel.writeInbound(Socket.serverBytes([Self.text("three")]))
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(5))
        try channel.writeInbound(Socket.serverBytes([Self.text("four")]))
        #expect(received.texts == ["one", "two", "three", "four"])
        #expect(heldBack.texts == ["0", "2000", "2000"], "µs held back per batch: the whole wait when found waiting, else the unread window")

        // A batch of 128 KiB or more, or one that used NIO's reads per batch (4 on an embedded channel too): more may be
        // waiting, so the next read is asked for at once, not after the pause.
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        let before = counter.reads
        channel.pipeline.fireChannelRead(NIOAny(try Socket.serverBytes([Self.text(String(repeating: "x", count: 70_000)),
                                                                         Self.text(String(repeating: "y", count: 70_000))])))
        channel.pipeline.fireChannelReadComplete()
        #expect(counter.reads == before + 1, "140 KB in a batch: read again without a pause")
        for word in ["a", "b", "c", "d"] { channel.pipeline.fireChannelRead(NIOAny(try Socket.serverBytes([Self.text(word)]))) }
        channel.pipeline.fireChannelReadComplete()
        #expect(counter.reads == before + 2, "four reads in a batch: read again without a pause")
        #expect(heldBack.texts.suffix(2).allSatisfy { $0 != "0" }, "what follows a pause is charged from the pause: \(heldBack.texts)")
        channel.pipeline.fireChannelRead(NIOAny(try Socket.serverBytes([Self.text("five")])))
        channel.pipeline.fireChannelReadComplete()
        #expect(counter.reads == before + 2, "a small batch waits for the pause again")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        #expect(counter.reads == before + 3)
        #expect(received.texts.suffix(7) == [String(repeating: "x", count: 70_000), String(repeating: "y", count: 70_000), "a", "b", "c", "d", "five"])

        // Without a pause the handler asks for no reads: NIO reads whenever bytes arrive (autoRead stays on).
        let plainCounter = ReadCounter()
        let plain = EmbeddedChannel()
        try plain.pipeline.syncOperations.addHandler(plainCounter)
        try plain.pipeline.syncOperations.addHandler(EventSocketHandler(maxMessageSize: 1 << 20) { _ in })
        try plain.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8088)).wait()
        plain.pipeline.fireChannelReadComplete()
        plain.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(plainCounter.reads == 0)
    }

    static func text(_ s: String, fin: Bool = true, opcode: WebSocketOpcode = .text) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, data: ByteBuffer(string: s))
    }

    @Test func messagesOfEveryLengthWholeOrSplitAcrossReads() throws {
        let lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 300_000]
        let messages = lengths.map { n in String((0..<n).map { i in Character(UnicodeScalar(UInt8(97 + i % 26))) }) }
        let bytes = try Socket.serverBytes(messages.map { Self.text($0) } + [Self.text("Oʻzbek — Русский")])
        for chunk in [nil, 1, 7, 4096] as [Int?] {
            let socket = try Socket()
            try socket.read(bytes, chunk: chunk)
            #expect(socket.received.texts.map(\.count) == (messages + ["Oʻzbek — Русский"]).map(\.count), "chunk \(chunk.map(String.init) ?? "whole")")
            #expect(socket.received.texts.elementsEqual(messages + ["Oʻzbek — Русский"]), "chunk \(chunk.map(String.init) ?? "whole")")
            #expect(socket.channel.isActive)
        }
    }

    @Test func fragmentsAreJoinedAroundControlFramesAndBinaryIsDropped() throws {
        let socket = try Socket()
        try socket.read(Socket.serverBytes([
            Self.text("{\"type\":", fin: false),
            WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "are you there")),
            Self.text("\"StasisStart\"", fin: false, opcode: .continuation),
            WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer()),
            Self.text("}", fin: true, opcode: .continuation),
            WebSocketFrame(fin: false, opcode: .binary, data: ByteBuffer(bytes: [1, 2, 3])),
            WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(bytes: [4])),
            Self.text("after"),
        ]), chunk: 3)
        #expect(socket.received.texts == ["{\"type\":\"StasisStart\"}", "after"])
        let written = try socket.written()
        #expect(written.count == 1 && written[0].opcode == .pong && written[0].maskKey != nil)
        #expect(written.first.map { String(buffer: $0.unmaskedData) } == "are you there")
    }

    @Test func requestsAreMaskedFramesAServerReads() throws {
        let socket = try Socket()
        let texts = ["", "x", String(repeating: "é", count: 63), String(repeating: "a", count: 126),
                     String(repeating: "b", count: 65_535), String(repeating: "c", count: 70_001)]
        for text in texts { #expect(socket.handler.send(text)) }
        let frames = try socket.written()
        let decoded = frames.map { String(buffer: $0.unmaskedData) }
        #expect(decoded.count == texts.count)
        for (index, text) in zip(decoded.indices, texts) where decoded[index] != text {
            Issue.record("frame \(index) (\(text.utf8.count) bytes) reads back differently")
        }
        #expect(frames.allSatisfy { $0.fin && $0.opcode == .text && $0.maskKey != nil })
        #expect(Set(frames.compactMap { $0.maskKey.map { Array($0) } }).count > 1, "a new key per frame")
        // Masked on the wire: the payload's bytes are not the text's.
        #expect(frames[5].data != ByteBuffer(string: texts[5]))

        // Frames of one tick leave together in one buffer, and a close frame never overtakes them.
        let closing = try Socket()
        #expect(closing.handler.send("first") && closing.handler.send(writing: { $0 += Array("second".utf8) }))
        closing.handler.close()
        #expect(!closing.handler.send("after close"))
        closing.channel.embeddedEventLoop.run()
        var buffers: [ByteBuffer] = []
        while let buffer = try closing.channel.readOutbound(as: ByteBuffer.self) { buffers.append(buffer) }
        #expect(buffers.count == 2, "the two text frames in one buffer, then the close")
        let decoder = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        for buffer in buffers { try decoder.writeInbound(buffer) }
        var sent: [WebSocketFrame] = []
        while let frame = try decoder.readInbound(as: WebSocketFrame.self) { sent.append(frame) }
        #expect(sent.map(\.opcode) == [.text, .text, .connectionClose])
        #expect(sent.prefix(2).map { String(buffer: $0.unmaskedData) } == ["first", "second"])

        // Nor does the answer to a ping that arrives while requests wait for the tick's flush.
        let pinged = try Socket()
        #expect(pinged.handler.send("one") && pinged.handler.send("two"))
        try pinged.read(Socket.serverBytes([WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "?"))]))
        #expect(try pinged.written().map(\.opcode) == [.text, .text, .pong])
    }

    @Test func theServersCloseIsAnsweredAndRecorded() throws {
        let socket = try Socket()
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .goingAway)
        try socket.read(Socket.serverBytes([WebSocketFrame(fin: true, opcode: .connectionClose, data: code)]))
        #expect(try socket.closeCode() == .goingAway)
        #expect(socket.handler.closeReason?.contains("closed by server") == true)
        #expect(socket.received.texts.isEmpty)

        // Nothing after the server's close is read, even in the same packet.
        let late = try Socket()
        try late.read(Socket.serverBytes([Self.text("before"), WebSocketFrame(fin: true, opcode: .connectionClose, data: code),
                                          Self.text("after the close")]))
        #expect(late.received.texts == ["before"])
        #expect(!socket.channel.isActive)
    }

    /// Raw frames a server must never send; each closes the socket with `code`, and what follows is not read.
    @Test(arguments: [
        ([0x81 | 0x40, 0x01, 0x61], WebSocketErrorCode.protocolError),       // reserved bit
        ([0x81, 0x81, 1, 2, 3, 4, 0x61], .protocolError),                      // masked by the server
        ([0x83, 0x00], .protocolError),                                        // unknown opcode 3
        ([0x80, 0x01, 0x61], .protocolError),                                  // continuation with nothing started
        ([0x01, 0x01, 0x61, 0x81, 0x01, 0x62], .protocolError),                // a new text before the last fragment
        ([0x09, 0x00], .protocolError),                                        // fragmented ping
        ([0x89, 0x7E, 0x00, 0x7E] + [UInt8](repeating: 0, count: 126), .protocolError), // ping over 125 bytes
        ([0x81, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], .messageTooLarge),            // 2^63 bytes announced
        ([0x81, 0x7E, 0x10, 0x01], .messageTooLarge),                          // 4097 bytes over a 4096 limit, refused from the header
        ([0x88, 0x01, 0x03], .protocolError),                                  // a close with a one-byte body
        ([0x88, 0x02, 0x03, 0xED], .protocolError),                            // close code 1005, which no endpoint may send
    ] as [([UInt8], WebSocketErrorCode)])
    func violationsCloseTheSocket(bytes: [UInt8], code: WebSocketErrorCode) throws {
        let socket = try Socket(maxMessageSize: 4096)
        var input = ByteBuffer(bytes: bytes)
        input.writeBytes([0x81, 0x02, 0x6F, 0x6B]) // "ok", after the violation
        try socket.read(input)
        #expect(socket.received.texts.isEmpty, "nothing after the violation")
        #expect(try socket.closeCode() == code)
        #expect(socket.handler.closeReason?.hasPrefix("WebSocket protocol error") == true)
        #expect(!socket.channel.isActive)
    }

    @Test func fragmentsMayNotAddUpToMoreThanTheLimitOrTooManyPieces() throws {
        let big = try Socket(maxMessageSize: 4096)
        try big.read(Socket.serverBytes([Self.text(String(repeating: "a", count: 3000), fin: false),
                                         Self.text(String(repeating: "b", count: 1097), fin: true, opcode: .continuation)]))
        #expect(big.received.texts.isEmpty)
        #expect(try big.closeCode() == .messageTooLarge)

        let many = try Socket()
        try many.read(Socket.serverBytes([Self.text("a", fin: false)]
            + Array(repeating: Self.text("b", fin: false, opcode: .continuation), count: EventSocketHandler.maxFragments)))
        #expect(many.received.texts.isEmpty)
        #expect(try many.closeCode() == .messageTooLarge)

        let fits = try Socket(maxMessageSize: 4096)
        try fits.read(Socket.serverBytes([Self.text(String(repeating: "a", count: 3000), fin: false),
                                          Self.text(String(repeating: "b", count: 1096), fin: true, opcode: .continuation)]), chunk: 1000)
        #expect(fits.received.texts.map(\.count) == [4096])
    }
}
