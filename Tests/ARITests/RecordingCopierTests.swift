@testable import ARI
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The recording copier against a small HTTP server whose every answer is chosen by path: kept connections,
/// the limit on parallel copies, chunked and closing answers, a server that never answers, errors, and a kept
/// connection the server drops as a request goes out.
@Suite("Recording copies over kept HTTP connections", .timeLimit(.minutes(1)))
struct RecordingCopierTests {
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
        var requests = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch Self.unwrapInboundIn(data) {
            case .head(let head):
                uri = head.uri
                requests += 1
                #expect(head.uri.hasPrefix("/ari/recordings/stored/") && head.uri.hasSuffix("/file"))
                #expect(head.headers["Authorization"].first == "Basic dTpw" && head.headers["Host"].first?.hasPrefix("127.0.0.1:") == true)
            case .body:
                break
            case .end:
                let mode = uri.split(separator: "/").dropLast().last.map(String.init) ?? ""
                switch mode {
                case "ok":
                    respond(context, .ok, ["Content-Length": "\(RecordingCopierTests.body.readableBytes)"], [RecordingCopierTests.body])
                case "chunked":
                    let parts = [RecordingCopierTests.body.getSlice(at: 0, length: 1000)!, RecordingCopierTests.body.getSlice(at: 1000, length: 40_000)!,
                                 RecordingCopierTests.body.getSlice(at: 41_000, length: 29_000)!]
                    respond(context, .ok, ["Transfer-Encoding": "chunked"], parts)
                case "close":
                    respond(context, .ok, ["Content-Length": "\(RecordingCopierTests.body.readableBytes)", "Connection": "close"],
                            [RecordingCopierTests.body], close: true)
                case "error":
                    let json = ByteBuffer(string: #"{"message":"Recording not found"}"#)
                    respond(context, .notFound, ["Content-Length": "\(json.readableBytes)", "Content-Type": "application/json"], [json])
                case "drop-second":
                    if requests >= 2 { context.close(promise: nil) } else {
                        respond(context, .ok, ["Content-Length": "\(RecordingCopierTests.body.readableBytes)"], [RecordingCopierTests.body])
                    }
                case "drop":
                    context.close(promise: nil)
                default:
                    break // "silent": never answers
                }
            }
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

    static func withCopier(maxConnections: Int = 8, copyTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(10),
                           port fixedPort: Int? = nil, _ body: (RecordingCopier, Server, String) async throws -> Void) async throws {
        let server = Server()
        let port = try await server.start()
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let copier = RecordingCopier(loop: loop.next(), host: "127.0.0.1", port: fixedPort ?? port, basePath: "/ari", authorization: "Basic dTpw",
                                     connectTimeout: .seconds(2), copyTimeout: copyTimeout, maxConnections: maxConnections,
                                     idleTimeout: idleTimeout)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("copier-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            try await body(copier, server, folder)
        } catch {
            await server.stop()
            try? await loop.shutdownGracefully()
            throw error
        }
        await server.stop()
        try? await loop.shutdownGracefully()
    }

    static func open(_ copier: RecordingCopier) async throws -> Int {
        try await copier.loop.submit { copier.openConnections }.get()
    }

    static func copy(_ copier: RecordingCopier, _ mode: String, to file: String) async -> Result<Int, any Error> {
        await withCheckedContinuation { continuation in
            copier.copy("/ari/recordings/stored/\(mode)/file", toFile: file) { continuation.resume(returning: $0) }
        }
    }

    static func contents(_ path: String) -> ByteBuffer? {
        FileManager.default.contents(atPath: path).map { ByteBuffer(bytes: $0) }
    }

    @Test func copiesOneAfterAnotherShareOneConnection() async throws {
        try await Self.withCopier { copier, server, folder in
            for index in 0..<20 {
                let size1 = try await Self.copy(copier, "ok", to: "\(folder)/\(index).wav").get()
                #expect(size1 == Self.body.readableBytes)
                #expect(Self.contents("\(folder)/\(index).wav") == Self.body)
            }
            #expect(server.accepted.load(ordering: .relaxed) == 1)
            let open = try await copier.loop.submit { copier.openConnections }.get()
            #expect(open == 1)
        }
    }

    @Test func copiesAtOnceUseAtMostTheirConnections() async throws {
        try await Self.withCopier(maxConnections: 3) { copier, server, folder in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<12 {
                    group.addTask { try await Self.copy(copier, "ok", to: "\(folder)/\(index).wav").get() }
                }
                for try await size in group { #expect(size == Self.body.readableBytes) }
            }
            #expect(server.accepted.load(ordering: .relaxed) == 3, "three at once, the others waiting for them")
            let open1 = try await Self.open(copier)
            #expect(open1 == 3)
            for index in 0..<12 { #expect(Self.contents("\(folder)/\(index).wav") == Self.body) }
        }
    }

    @Test func chunkedAndClosingAnswersAreCopiedWhole() async throws {
        try await Self.withCopier { copier, server, folder in
            let size2 = try await Self.copy(copier, "chunked", to: "\(folder)/a.wav").get()
            #expect(size2 == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/a.wav") == Self.body)
            let size3 = try await Self.copy(copier, "close", to: "\(folder)/b.wav").get()
            #expect(size3 == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/b.wav") == Self.body)
            // The server closed that connection: the next copy opens a new one.
            let size4 = try await Self.copy(copier, "ok", to: "\(folder)/c.wav").get()
            #expect(size4 == Self.body.readableBytes)
            #expect(server.accepted.load(ordering: .relaxed) == 2)
        }
    }

    @Test func refusalsTimeoutsAndMissingFoldersLeaveNoFile() async throws {
        try await Self.withCopier(copyTimeout: .milliseconds(300)) { copier, _, folder in
            let refused = await Self.copy(copier, "error", to: "\(folder)/a.wav")
            #expect(throws: ARIError.notFound("Recording not found")) { try refused.get() }
            let unanswered = await Self.copy(copier, "silent", to: "\(folder)/b.wav")
            #expect(throws: ARIError.timeout) { try unanswered.get() }
            do {
                _ = try await Self.copy(copier, "ok", to: "\(folder)/missing/c.wav").get()
                Issue.record("a file in a missing folder was written")
            } catch let failure as DownloadFile.Failure {
                #expect(failure.isMissingFolder)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(left.isEmpty, "no file left: \(left)")
            // The copier goes on working after all that.
            let size5 = try await Self.copy(copier, "ok", to: "\(folder)/d.wav").get()
            #expect(size5 == Self.body.readableBytes)
        }
    }

    @Test func aKeptConnectionDroppedAsTheRequestGoesOutIsRetriedOnceOnANewOne() async throws {
        try await Self.withCopier { copier, server, folder in
            let size6 = try await Self.copy(copier, "drop-second", to: "\(folder)/a.wav").get()
            #expect(size6 == Self.body.readableBytes)
            // The same (kept) connection drops the second request unanswered: sent again on a new connection.
            let size7 = try await Self.copy(copier, "drop-second", to: "\(folder)/b.wav").get()
            #expect(size7 == Self.body.readableBytes)
            #expect(Self.contents("\(folder)/b.wav") == Self.body)
            #expect(server.accepted.load(ordering: .relaxed) == 2)
            // A new connection dropped unanswered is not retried for ever: the copy fails.
            let dropped = await Self.copy(copier, "drop", to: "\(folder)/c.wav")
            guard case .failure(ARIError.transport(let reason)) = dropped else {
                Issue.record("expected a transport error, got \(dropped)")
                return
            }
            #expect(reason.contains("closed the connection"))
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/c.wav"))
        }
    }

    /// Every failure gives its connection back: with room for one connection, failures one after another leave
    /// the copier working, and nothing stays counted as open.
    @Test func failuresGiveTheirConnectionBack() async throws {
        try await Self.withCopier(maxConnections: 1, copyTimeout: .milliseconds(300)) { copier, _, folder in
            for mode in ["drop", "silent", "error", "close", "drop", "ok"] {
                _ = await Self.copy(copier, mode, to: "\(folder)/\(mode).wav")
            }
            #expect(Self.contents("\(folder)/ok.wav") == Self.body)
            let open2 = try await Self.open(copier)
            #expect(open2 <= 1)
        }
    }

    @Test func anUnreachableServerFailsTheCopyAndIdleConnectionsAreClosed() async throws {
        // Nothing listens on the port of a closed listener.
        let probe = Server()
        let closedPort = try await probe.start()
        await probe.stop()
        try await Self.withCopier(port: closedPort) { copier, _, folder in
            let result = await Self.copy(copier, "ok", to: "\(folder)/a.wav")
            guard case .failure(ARIError.transport(let reason)) = result else {
                Issue.record("expected a transport error, got \(result)")
                return
            }
            #expect(reason.contains("cannot connect"))
            let open3 = try await Self.open(copier)
            #expect(open3 == 0)
        }
        try await Self.withCopier(idleTimeout: .milliseconds(100)) { copier, _, folder in
            let size = try await Self.copy(copier, "ok", to: "\(folder)/b.wav").get()
            #expect(size == Self.body.readableBytes)
            let open4 = try await Self.open(copier)
            #expect(open4 == 1)
            try await Task.sleep(for: .milliseconds(400))
            let open5 = try await Self.open(copier)
            #expect(open5 == 0, "closed after being idle")
        }
    }

    @Test func theServerIsNamedByItsURL() {
        #expect(RecordingCopier.endpoint("http://10.0.0.5:8088/ari")! == ("10.0.0.5", 8088, "/ari"))
        #expect(RecordingCopier.endpoint("http://asterisk/ari")! == ("asterisk", 80, "/ari"))
        #expect(RecordingCopier.endpoint("http://[::1]:8088/ari")! == ("::1", 8088, "/ari"))
        #expect(RecordingCopier.endpoint("https://10.0.0.5:8089/ari") == nil, "https keeps the general client")
        let copier = RecordingCopier(loop: MultiThreadedEventLoopGroup.singleton.next(), host: "::1", port: 8088, authorization: "x",
                                     connectTimeout: .seconds(1), copyTimeout: .seconds(1))
        #expect(copier.hostHeader == "[::1]:8088")
    }
}
