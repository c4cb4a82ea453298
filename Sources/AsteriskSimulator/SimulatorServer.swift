import ARI
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// The simulator's HTTP face: `/ari/...` (REST and the events WebSocket, with Asterisk's auth rules)
/// and `/_sim/...`, the control API for tests and the demo (no auth: bind it to loopback).
public enum SimulatorServer {
    public static func buildApplication(
        simulator: AsteriskSimulator, host: String = "127.0.0.1", port: Int = 8088,
        logger: Logger = Logger(label: "murojaat.simulator.http")
    ) -> some ApplicationProtocol {
        let router = Router()
        addARIRoutes(to: router, simulator: simulator)
        SimulatorControlAPI.addRoutes(to: router, simulator: simulator)
        let credentials = (simulator.configuration.username, simulator.configuration.password)
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in QuiesceSafeChannel(inner: HTTP1WebSocketUpgradeChannel(
                responder: responder, configuration: .init(maxFrameSize: 1 << 16)
            ) { request, _, _ in
                let (path, query) = splitTarget(request.path ?? "/")
                guard path == "/ari/events" else { return .dontUpgrade }
                guard authorized(request.headerFields[.authorization], query: query, credentials: credentials),
                      let app = query["app"], !app.isEmpty
                else { return .dontUpgrade } // the HTTP route answers 401 or 400 as Asterisk does
                // Registered before the 101 goes out, as Asterisk does: events raised right after
                // the handshake reach this socket.
                let sink = await simulator.connect(app: app)
                return .upgrade([:]) { inbound, outbound, _ in
                    // Ends when the client goes, when the simulator drops the socket, or when the server shuts down.
                    await withGracefulShutdownHandler {
                        try? await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                // REST over WebSocket: requests are handled one at a time, in order; each answer
                                // joins the event stream after the events its request raised.
                                for try await message in inbound.messages(maxSize: 1 << 16) {
                                    guard case .text(let text) = message else { continue }
                                    if let reply = await simulator.restOverWebSocket(text, app: app) { sink.continuation.yield(reply) }
                                }
                            }
                            group.addTask {
                                for await text in sink.stream { try await outbound.write(.text(text)) }
                            }
                            _ = try await group.next()
                            group.cancelAll()
                        }
                    } onGracefulShutdown: {
                        sink.continuation.finish()
                    }
                    await simulator.disconnect(sink)
                }
            }) },
            configuration: .init(address: .hostname(host, port: port), serverName: "Asterisk/22.10.1"),
            logger: logger
        )
    }

    static func addARIRoutes(to router: Router<BasicRequestContext>, simulator: AsteriskSimulator) {
        let credentials = (simulator.configuration.username, simulator.configuration.password)
        // Reached only when the WebSocket upgrade was refused.
        router.get("/ari/events") { request, _ -> Response in
            let (_, query) = splitTarget(request.uri.description)
            guard authorized(request.headers[.authorization], query: query, credentials: credentials) else {
                return ariResponse(.error(401, "Authentication required"))
            }
            guard let app = query["app"], !app.isEmpty else {
                return Response(status: .badRequest, headers: [.contentType: "text/html"],
                                body: .init(byteBuffer: ByteBuffer(string: "400 Bad Request | HTTP request is missing param: [app]")))
            }
            return ariResponse(.error(400, "Expected a WebSocket upgrade"))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete] {
            router.on("/ari/**", method: method) { request, _ -> Response in
                var request = request
                let (path, query) = splitTarget(request.uri.description)
                guard authorized(request.headers[.authorization], query: query, credentials: credentials) else {
                    return ariResponse(.error(401, "Authentication required"))
                }
                let body = try await request.collectBody(upTo: 1 << 20)
                var parameters = query
                parameters["api_key"] = nil
                let response = await simulator.handle(method: method.rawValue, path: String(path.dropFirst(4)),
                                                      query: parameters, body: body.readableBytes > 0 ? Data(body.readableBytesView) : nil)
                return ariResponse(response)
            }
        }
    }

    static func ariResponse(_ response: SimulatorResponse) -> Response {
        guard let body = response.body else { return Response(status: .init(code: response.status)) }
        return Response(status: .init(code: response.status), headers: [.contentType: response.contentType],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Asterisk accepts HTTP Basic credentials or `api_key=user:password`.
    static func authorized(_ header: String?, query: [String: String], credentials: (String, String)) -> Bool {
        let expected = "\(credentials.0):\(credentials.1)"
        if let key = query["api_key"] { return key == expected }
        guard let header, header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces))
        else { return false }
        return String(decoding: decoded, as: UTF8.self) == expected
    }

    /// Splits a request target into its path and decoded query parameters (`+` is a space, as in Asterisk).
    static func splitTarget(_ target: String) -> (String, [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1).map(String.init)
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                query[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
        }
        return (parts.first ?? "/", query)
    }
}

/// Hummingbird's WebSocket-upgrade server ignores the quiesce event on a connection that has not sent
/// its first request yet (the upgrade handler is still in the pipeline), so graceful shutdown waited
/// forever on an HTTP client's spare pooled connection. This closes such idle connections at shutdown.
struct QuiesceSafeChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner

    func setup(channel: any NIOCore.Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(CloseUnusedConnectionOnQuiesce(), position: ChannelPipeline.Position.first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

final class CloseUnusedConnectionOnQuiesce: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    var used = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        used = true
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, !used {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
