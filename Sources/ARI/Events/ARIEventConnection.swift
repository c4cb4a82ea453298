import Foundation
import HTTPTypes
import Logging
import ServiceLifecycle
import Synchronization
import WSClient

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

    public init(configuration: ARIServerConfiguration, backoff: ReconnectBackoff = .init(),
                maxMessageSize: Int = 1 << 20, handshakeTimeout: Duration = .seconds(10),
                logger: Logger = Logger(label: "murojaat.ari.events")) {
        self.handshakeTimeout = handshakeTimeout
        self.configuration = configuration
        self.backoff = backoff
        self.maxMessageSize = maxMessageSize
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: ARIConnectionEvent.self, bufferingPolicy: .unbounded)
    }

    public var isConnected: Bool { connected.withLock { $0 } }

    public func run() async throws {
        defer { continuation.finish() }
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
                    self.continuation.yield(.disconnected(server: self.configuration.name, reason: reason))
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

    func session(_ wsConfiguration: WebSocketClientConfiguration, server: String) async -> String {
        do {
            let close = try await WebSocketClient.connect(url: configuration.eventsURL, configuration: wsConfiguration, logger: logger) {
                inbound, _, _ in
                self.connected.withLock { $0 = true }
                self.continuation.yield(.connected(server: server))
                for try await message in inbound.messages(maxSize: self.maxMessageSize) {
                    guard case .text(let text) = message else { continue }
                    self.handle(text)
                }
            }
            return close.map { "closed by server: \($0.closeCode)" } ?? "closed"
        } catch {
            return String(describing: error)
        }
    }

    func handle(_ text: String) {
        do {
            let message = try ARIEventMessage.decode(Data(text.utf8))
            if case .unknown(let type, _) = message.event {
                logger.debug("ARI event of a type not modelled", metadata: ["type": "\(type)"])
            }
            continuation.yield(.event(server: configuration.name, message))
        } catch {
            logger.warning("malformed ARI event skipped", metadata: ["error": "\(error)", "text": "\(text.prefix(200))"])
        }
    }
}
