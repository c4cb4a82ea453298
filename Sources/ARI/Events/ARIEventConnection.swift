import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WSClient
import WSCore

/// What a consumer of an Asterisk's event socket sees: events, and the socket going down and up.
/// Asterisk drops events while no socket is connected, so on `.connected` after a `.disconnected`
/// the consumer must re-read channels and bridges over REST.
public enum ARIConnectionEvent: Sendable {
    case connected(server: String)
    case disconnected(server: String, reason: String)
    case event(server: String, ARIEventMessage)
}

/// Capped exponential backoff with jitter: attempt n waits between half and all of min(cap, base·2ⁿ).
public struct ReconnectBackoff: Sendable {
    public var base: Duration
    public var cap: Duration
    public init(base: Duration = .milliseconds(100), cap: Duration = .seconds(5)) {
        self.base = base
        self.cap = cap
    }

    public func delay(attempt: Int) -> Duration {
        let exponent = min(attempt, 30)
        let full = min(cap, base * (1 << exponent))
        let half = full / 2
        let jitterMs = Int64.random(in: 0...max(0, Int64(half.components.seconds * 1000 + half.components.attoseconds / 1_000_000_000_000_000)))
        return half + .milliseconds(jitterMs)
    }
}

/// The `/ari/events` WebSocket of one Asterisk, kept open for as long as the service runs.
public final class ARIEventConnection: Service, Sendable {
    public let configuration: ARIServerConfiguration
    public let events: AsyncStream<ARIConnectionEvent>
    let continuation: AsyncStream<ARIConnectionEvent>.Continuation
    let backoff: ReconnectBackoff
    let maxMessageSize: Int
    let handshakeTimeout: Duration
    let logger: Logger
    let connected = Mutex(false)
    /// Whether to try REST over this socket (it is used only once Asterisk has answered a probe on it).
    public let restOverWebSocketWanted: Bool
    let writer = Mutex<SocketWriter?>(nil)
    /// The loop the socket lives on (the call flow's, so that its writes need no hop there).
    public let eventLoop: any EventLoop
    /// How often an idle socket is pinged; a peer that does not answer within it closes the socket.
    let pingPeriod: Duration
    /// Boxed: a closure kept directly in a `Mutex` and read back per event was wrapped in one more
    /// reabstraction thunk on every read (seen as a 16,000-frame stack overflow after 50,000 events).
    let consumer = Mutex<EventConsumer?>(nil)
    let restReady = Mutex(false)
    let requests = RESTRequestTable()
    /// When set, only events of these types are decoded and delivered; the rest are dropped unread.
    public let eventTypes: Set<String>?
    /// Frames read (events and answers), events delivered, and requests written on this socket, for the benchmark.
    public let framesReceived = Atomic<Int>(0)
    public let eventsDelivered = Atomic<Int>(0)
    public let requestsSent = Atomic<Int>(0)

    public init(configuration: ARIServerConfiguration, backoff: ReconnectBackoff = .init(),
                maxMessageSize: Int = 1 << 20, handshakeTimeout: Duration = .seconds(10), pingPeriod: Duration = .seconds(10),
                eventTypes: Set<String>? = nil, eventLoop: (any EventLoop)? = nil,
                logger: Logger = Logger(label: "murojaat.ari.events")) {
        self.pingPeriod = pingPeriod
        self.eventLoop = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
        self.eventTypes = eventTypes
        self.restOverWebSocketWanted = configuration.restOverWebSocket
        self.handshakeTimeout = handshakeTimeout
        self.configuration = configuration
        self.backoff = backoff
        self.maxMessageSize = maxMessageSize
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: ARIConnectionEvent.self, bufferingPolicy: .unbounded)
    }

    public var isConnected: Bool { connected.withLock { $0 } }

    /// Hands every connection event to `consumer` instead of the `events` stream. On a `ws://` socket it is
    /// called on `eventLoop`, in order; set it before `run()`.
    public func setConsumer(_ consumer: @escaping @Sendable (ARIConnectionEvent) -> Void) {
        let box = EventConsumer(body: consumer)
        self.consumer.withLock { $0 = box }
    }

    func emit(_ item: ARIConnectionEvent) {
        if let consumer = consumer.withLock({ $0 }) {
            consumer.body(item)
        } else {
            continuation.yield(item)
        }
    }

    /// True while requests travel over this socket (Asterisk answered the probe since it last connected).
    public var restOverWebSocket: Bool { restReady.withLock { $0 } }

    public func run() async throws {
        // Requests over the socket that outlive their timeout fail as an HTTP request would.
        let sweeper = Task { [requests] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                requests.expire(now: .now)
            }
        }
        defer {
            sweeper.cancel()
            requests.failAll(ARIError.transport("ARI events socket closed"))
            continuation.finish()
        }
        try? await cancelWhenGracefulShutdown {
            var attempt = 0
            while !Task.isCancelled {
                let reason = await self.connectOnce()
                let wasConnected = self.connected.withLock { value in
                    defer { value = false }
                    return value
                }
                if wasConnected {
                    attempt = 0
                    self.emit(.disconnected(server: self.configuration.name, reason: reason))
                }
                guard !Task.isCancelled else { break }
                let delay = self.backoff.delay(attempt: attempt)
                self.logger.warning("ARI events socket closed, reconnecting", metadata: [
                    "server": "\(self.configuration.name)", "reason": "\(reason)", "delay": "\(delay)",
                ])
                attempt += 1
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Opens the socket once and reads it until it closes; returns why it ended.
    func connectOnce() async -> String {
        var headers = HTTPFields()
        headers[.authorization] = configuration.basicAuthorization
        let wsConfiguration = WebSocketClientConfiguration(maxFrameSize: maxMessageSize, additionalHeaders: headers)
        let server = configuration.name
        let handshakeTimeout = self.handshakeTimeout
        // A handshake that never completes would hold the reconnect loop forever: give it a deadline.
        return await withTaskGroup(of: String?.self) { group in
            group.addTask { await self.session(wsConfiguration, server: server) }
            group.addTask {
                try? await Task.sleep(for: handshakeTimeout)
                return self.isConnected ? nil : "no WebSocket handshake within \(handshakeTimeout)"
            }
            var reason = "closed"
            for await result in group {
                if let result {
                    reason = result
                    group.cancelAll()
                    break
                }
            }
            return reason
        }
    }

    /// The socket, `ws://` or `wss://`, through swift-websocket's client on `eventLoop`. Every frame the app sends (requests
    /// from any thread) goes through one queue, written in order by one task: Asterisk handles one socket's requests
    /// strictly in order, so a call's requests written one after another keep their order. Auto-ping closes a socket
    /// whose peer stopped answering (a network that drops packets instead of closing).
    func session(_ wsConfiguration: WebSocketClientConfiguration, server: String) async -> String {
        var wsConfiguration = wsConfiguration
        wsConfiguration.autoPing = .enabled(timePeriod: pingPeriod)
        do {
            defer { socketClosed() }
            let close = try await WebSocketClient.connect(url: configuration.eventsURL, configuration: wsConfiguration, eventLoopGroup: eventLoop,
                                                          logger: logger) { inbound, outbound, _ in
                let (frames, queue) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
                defer { queue.finish() }
                self.opened(SocketWriter(frames: queue), server: server)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await frame in frames { try await outbound.write(.text(frame)) }
                    }
                    for try await message in inbound.messages(maxSize: self.maxMessageSize) {
                        guard case .text(let text) = message else { continue }
                        self.handle(text)
                    }
                    group.cancelAll()
                }
            }
            return close.map { "closed by server: \($0.closeCode)" } ?? "closed"
        } catch {
            return String(describing: error)
        }
    }

    /// The socket is up: requests may use it, consumers hear `.connected`, and REST over it is probed.
    func opened(_ socket: SocketWriter, server: String) {
        writer.withLock { $0 = socket }
        connected.withLock { $0 = true }
        emit(.connected(server: server))
        if restOverWebSocketWanted {
            Task { await self.probeREST() }
        }
    }

    func socketClosed() {
        writer.withLock { $0 = nil }
        restReady.withLock { $0 = false }
        requests.failAll(ARIError.transport("ARI events socket closed"))
    }

    /// Asks `GET /asterisk/ping` over the socket. An Asterisk older than 20.12, 21.7 or 22.2 does not
    /// answer, and requests keep going over HTTP.
    func probeREST() async {
        do {
            _ = try await sendOverSocket(ARIRequest(.GET, "/asterisk/ping"), timeout: .seconds(3))
            restReady.withLock { $0 = writer.withLock { $0 != nil } }
            logger.info("ARI requests go over the events socket", metadata: ["server": "\(configuration.name)"])
        } catch {
            logger.notice("Asterisk does not answer REST over WebSocket; ARI requests go over HTTP",
                          metadata: ["server": "\(configuration.name)", "error": "\(error)"])
        }
    }

    /// One request as a `RESTRequest` frame; its `RESTResponse` answers it.
    func sendOverSocket(_ request: ARIRequest, timeout: Duration? = nil) async throws -> ARIResponse {
        guard let writer = writer.withLock({ $0 }) else { throw ARIError.transport("ARI events socket not connected") }
        let id = requests.nextId()
        let frame = RESTFrame.request(id: id, request)
        requests.expect(id, deadline: .now + (timeout ?? configuration.requestTimeout))
        requestsSent.add(1, ordering: .relaxed)
        guard writer.send(frame) else {
            requests.cancel(id)
            throw ARIError.transport("ARI events socket closing")
        }
        let response = try await requests.wait(id)
        guard (200..<300).contains(response.status) else {
            throw ARIError(status: response.status, message: HTTPARITransport.message(from: response.body))
        }
        return response
    }

    /// Sends a request over the socket now, without waiting: `completion` gets its answer (or the failure) later.
    /// Only once Asterisk has answered REST on this socket; returns false otherwise and the caller sends the request
    /// another way. Requests sent one after another leave in that order (one queue, one writer).
    public func pipeline(_ request: ARIRequest, completion: @escaping @Sendable (Result<ARIResponse, any Error>) -> Void) -> Bool {
        guard restReady.withLock({ $0 }), let writer = writer.withLock({ $0 }) else { return false }
        let id = requests.nextId()
        requests.expect(id, deadline: .now + configuration.requestTimeout) { result in
            completion(result.flatMap { response in
                (200..<300).contains(response.status) ? .success(response)
                    : .failure(ARIError(status: response.status, message: HTTPARITransport.message(from: response.body)))
            })
        }
        guard writer.send(RESTFrame.request(id: id, request)) else {
            requests.cancel(id)
            return false
        }
        requestsSent.add(1, ordering: .relaxed)
        return true
    }

    /// Answers to requests sent over the socket are matched to their senders; they are not events.
    func handleResponse(_ text: String) {
        guard let (id, response) = RESTFrame.response(text, withBody: { id, status in
            !(200..<300).contains(status) || requests.wantsBody(id)
        }) else {
            logger.warning("malformed ARI answer skipped", metadata: ["text": "\(text.prefix(200))"])
            return
        }
        if !requests.resolve(id, with: .success(response)) {
            logger.debug("ARI answer to no request in flight", metadata: ["request": "\(id)"])
        }
    }

    /// Each frame is decoded once: answers (a type the event model does not know) go to their requests, events of
    /// types not asked for are dropped, malformed frames are skipped.
    func handle(_ text: String) {
        framesReceived.add(1, ordering: .relaxed)
        do {
            let message = try ARIEventMessage.decode(Data(text.utf8))
            if case .unknown(let type, _) = message.event {
                if type == "RESTResponse" { return handleResponse(text) }
                logger.debug("ARI event of a type not modelled", metadata: ["type": "\(type)"])
            }
            if let eventTypes, !eventTypes.contains(message.event.type) { return }
            eventsDelivered.add(1, ordering: .relaxed)
            emit(.event(server: configuration.name, message))
        } catch {
            logger.warning("malformed ARI event skipped", metadata: ["error": "\(error)", "text": "\(text.prefix(200))"])
        }
    }
}

/// The socket's outgoing side: frames queued for its one writer task.
struct SocketWriter: Sendable {
    let frames: AsyncStream<String>.Continuation

    /// Queues `text`; false once the socket is closing.
    func send(_ text: String) -> Bool {
        if case .enqueued = frames.yield(text) { return true }
        return false
    }
}

final class EventConsumer: Sendable {
    let body: @Sendable (ARIConnectionEvent) -> Void
    init(body: @escaping @Sendable (ARIConnectionEvent) -> Void) { self.body = body }
}
