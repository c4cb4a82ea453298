@testable import ARI
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// Recording copies (`HTTPARITransport.download`, AsyncHTTPClient) against a small HTTP server whose every
/// answer is chosen by path: kept connections, chunked and closing answers, a server that never answers,
/// errors, a connection dropped unanswered, and an unreachable server.
@Suite("Recording copies over HTTP", .timeLimit(.minutes(1)))
struct RecordingDownloadTests {
    static let body = ByteBuffer(bytes: (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

    /// Answers `/ari/recordings/stored/<mode>/file`.
    final class Server: Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let accepted = Atomic<Int>(0)
        let channel = Mutex<(any NIOCore.Channel)?>(nil)

        func start() async throws -> Int {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    self.accepted.add(1, ordering: .relaxed)
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(Answer())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            channel.withLock { $0 = server }
            return server.localAddress?.port ?? 0
        }

        func stop() async {
            try? await channel.withLock { $0 }?.close()
            try? await group.shutdownGracefully()
        }
    }

    final class Answer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        var uri = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch Self.unwrapInboundIn(data) {
            case .head(let head):
                uri = head.uri
                #expect(head.uri.hasPrefix("/ari/recordings/stored/") && head.uri.hasSuffix("/file"))
                #expect(head.headers["Authorization"].first == "Basic dTpw" && head.headers["Host"].first?.hasPrefix("127.0.0.1:") == true)
            case .body:
                break
            case .end:
                let mode = uri.split(separator: "/").dropLast().last.map(String.init) ?? ""
                switch mode {
                case "ok":
                    respond(context, .ok, ["Content-Length": "\(RecordingDownloadTests.body.readableBytes)"], [RecordingDownloadTests.body])
                case "chunked":
                    let parts = [RecordingDownloadTests.body.getSlice(at: 0, length: 1000)!, RecordingDownloadTests.body.getSlice(at: 1000, length: 40_000)!,
                                 RecordingDownloadTests.body.getSlice(at: 41_000, length: 29_000)!]
                    respond(context, .ok, ["Transfer-Encoding": "chunked"], parts)
                case "close":
                    respond(context, .ok, ["Content-Length": "\(RecordingDownloadTests.body.readableBytes)", "Connection": "close"],
                            [RecordingDownloadTests.body], close: true)
                case "error":
                    let json = ByteBuffer(string: #"{"message":"Recording not found"}"#)
                    respond(context, .notFound, ["Content-Length": "\(json.readableBytes)", "Content-Type": "application/json"], [json])
                case "drop":
                    context.close(promise: nil)
                case "truncated":
                    // The head promises the whole file; a part of it arrives and the connection closes.
                    var head = HTTPResponseHead(version: .http1_1, status: .ok)
                    head.headers.add(name: "Content-Length", value: "\(RecordingDownloadTests.body.readableBytes)")
                    context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
                    context.writeAndFlush(Self.wrapOutboundOut(.body(.byteBuffer(RecordingDownloadTests.body.getSlice(at: 0, length: 20_000)!))))
                        .whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
                case "chunks":
                    // Already buffered: the whole body in chunks of 256 bytes, written at once.
                    let body = RecordingDownloadTests.body
                    let parts = stride(from: 0, to: body.readableBytes, by: 256).map { body.getSlice(at: $0, length: min(256, body.readableBytes - $0))! }
                    respond(context, .ok, ["Transfer-Encoding": "chunked"], parts)
                case "trickle":
                    // As Asterisk sends a file: a few hundred bytes per write, each its own segment, as fast as it reads them.
                    var head = HTTPResponseHead(version: .http1_1, status: .ok)
                    head.headers.add(name: "Content-Length", value: "\(RecordingDownloadTests.body.readableBytes)")
                    context.writeAndFlush(Self.wrapOutboundOut(.head(head)), promise: nil)
                    trickle(context, from: 0)
                default:
                    break // "silent": never answers
                }
            }
        }

        func trickle(_ context: ChannelHandlerContext, from offset: Int) {
            let body = RecordingDownloadTests.body
            guard offset < body.readableBytes else {
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            let length = min(256, body.readableBytes - offset)
            context.writeAndFlush(Self.wrapOutboundOut(.body(.byteBuffer(body.getSlice(at: offset, length: length)!))), promise: nil)
            context.eventLoop.scheduleTask(in: .microseconds(50)) { self.trickle(context, from: offset + length) }
        }

        func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: [String: String], _ parts: [ByteBuffer],
                     close: Bool = false) {
            var head = HTTPResponseHead(version: .http1_1, status: status)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
            for part in parts { context.write(Self.wrapOutboundOut(.body(.byteBuffer(part))), promise: nil) }
            let done = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
            if close { done.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
        }
    }

    static func withTransport(copyTimeout: Duration = .seconds(10), port fixedPort: Int? = nil,
                              _ body: (HTTPARITransport, Server, String) async throws -> Void) async throws {
        let server = Server()
        let port = try await server.start()
        let configuration = ARIServerConfiguration(baseURL: "http://127.0.0.1:\(fixedPort ?? port)/ari", username: "u", password: "p",
                                                   requestTimeout: .seconds(2))
        let transport = HTTPARITransport(configuration: configuration, copyTimeout: copyTimeout)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("copies-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            try await body(transport, server, folder)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static func copy(_ transport: HTTPARITransport, _ mode: String, to file: String) async -> Result<Int, any Error> {
        await withCheckedContinuation { continuation in
            transport.download(ARIRequest(.GET, "/recordings/stored/\(mode)/file"), toFile: file) { continuation.resume(returning: $0) }
        }
    }

    static func contents(_ path: String) -> ByteBuffer? {
        FileManager.default.contents(atPath: path).map { ByteBuffer(bytes: $0) }
    }

    @Test func copiesOneAfterAnotherShareOneConnection() async throws {
        try await Self.withTransport { transport, server, folder in
            for index in 0..<5 {
                let size = try await Self.copy(transport, "ok", to: "\(folder)/\(index).wav").get()
                #expect(size == Self.body.readableBytes)
                #expect(Self.contents("\(folder)/\(index).wav") == Self.body)
            }
            #expect(server.accepted.load(ordering: .relaxed) == 1)
        }
    }

    /// A body sent a few hundred bytes at a time (274 writes) is read in a few large parts, not one wake-up per write:
    /// after a small part the copy waits a moment before reading again.
    @Test func aTricklingBodyIsReadInFewParts() async throws {
        try await Self.withTransport { transport, _, folder in
            let client = HTTPClient(eventLoopGroup: HTTPARITransport.downloadLoop)
            defer { _ = client.shutdown() }
            let delegate = FileDownload(path: "\(folder)/trickle.wav")
            let request = try HTTPClient.Request(url: transport.configuration.baseURL + "/recordings/stored/trickle/file",
                                                 headers: transport.headers(for: ARIRequest(.GET, "/recordings/stored/trickle/file")))
            let size = try await client.execute(request: request, delegate: delegate, deadline: .now() + .seconds(10)).futureResult.get()
            #expect(size == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/trickle.wav") == Self.body)
            let parts = try await HTTPARITransport.downloadLoop.submit { delegate.parts }.get()
            #expect(parts < 100, "\(parts) parts for 274 writes")
        }
    }

    /// Small chunks that are all there already are not each held up by the pause: 274 chunks of 256 bytes arrive well
    /// inside a deadline that 274 pauses of 2 ms would pass.
    @Test func smallChunksAlreadyThereAreNotEachPaused() async throws {
        try await Self.withTransport(copyTimeout: .milliseconds(400)) { transport, _, folder in
            let size = try await Self.copy(transport, "chunks", to: "\(folder)/chunks.wav").get()
            #expect(size == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/chunks.wav") == Self.body)
        }
    }

    @Test func chunkedAndClosingAnswersAreCopiedWhole() async throws {
        try await Self.withTransport { transport, server, folder in
            let chunked = try await Self.copy(transport, "chunked", to: "\(folder)/a.wav").get()
            #expect(chunked == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/a.wav") == Self.body)
            let closing = try await Self.copy(transport, "close", to: "\(folder)/b.wav").get()
            #expect(closing == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/b.wav") == Self.body)
            // The server closed that connection: the next copy opens a new one.
            let next = try await Self.copy(transport, "ok", to: "\(folder)/c.wav").get()
            #expect(next == Self.body.readableBytes)
            #expect(server.accepted.load(ordering: .relaxed) == 2)
        }
    }

    @Test func refusalsTimeoutsDropsAndMissingFoldersLeaveNoFile() async throws {
        try await Self.withTransport(copyTimeout: .milliseconds(300)) { transport, _, folder in
            let refused = await Self.copy(transport, "error", to: "\(folder)/a.wav")
            #expect(throws: ARIError.notFound("Recording not found")) { try refused.get() }
            let unanswered = await Self.copy(transport, "silent", to: "\(folder)/b.wav")
            #expect(throws: ARIError.timeout) { try unanswered.get() }
            let dropped = await Self.copy(transport, "drop", to: "\(folder)/c.wav")
            guard case .failure(ARIError.transport) = dropped else {
                Issue.record("expected a transport error, got \(dropped)")
                return
            }
            // A 2xx whose body stops short: the file begun is removed.
            let truncated = await Self.copy(transport, "truncated", to: "\(folder)/t.wav")
            guard case .failure = truncated else {
                Issue.record("a truncated answer was taken: \(truncated)")
                return
            }
            do {
                _ = try await Self.copy(transport, "ok", to: "\(folder)/missing/d.wav").get()
                Issue.record("a file in a missing folder was written")
            } catch let failure as DownloadFile.Failure {
                #expect(failure.isMissingFolder)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(left.isEmpty, "no file left: \(left)")
            // Copies go on working after all that.
            let size = try await Self.copy(transport, "ok", to: "\(folder)/e.wav").get()
            #expect(size == Self.body.readableBytes)
        }
    }

    @Test func anUnreachableServerFailsTheCopy() async throws {
        // Nothing listens on the port of a closed listener.
        let probe = Server()
        let closedPort = try await probe.start()
        await probe.stop()
        // AsyncHTTPClient tries to connect again until the copy's deadline.
        try await Self.withTransport(copyTimeout: .seconds(1), port: closedPort) { transport, _, folder in
            let result = await Self.copy(transport, "ok", to: "\(folder)/a.wav")
            switch result {
            case .failure(ARIError.transport), .failure(ARIError.timeout): break
            default: Issue.record("expected a transport error or a time-out, got \(result)")
            }
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/a.wav"))
        }
    }
}
