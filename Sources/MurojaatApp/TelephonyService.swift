import ARI
import Logging
import ServiceLifecycle

/// Hands every Asterisk's socket events to the call flow, keeping the connection status the status page
/// shows. The events are handed over where the socket reads them (the call flow's own loop), not through
/// a stream and a task: see `CallCenter.attach`.
public struct TelephonyService: Service {
    public typealias Handler = @Sendable (ARIConnectionEvent) -> Void
    let connections: [ARIEventConnection]
    let status: TelephonyStatus
    let handler: Handler
    let logger: Logger
    /// Runs at shutdown once the event sockets are closed, before the journal's last write (recording copies
    /// still running).
    let onStop: (@Sendable () async -> Void)?

    public init(connections: [ARIEventConnection], status: TelephonyStatus, logger: Logger,
                onStop: (@Sendable () async -> Void)? = nil, handler: @escaping Handler) {
        self.onStop = onStop
        self.connections = connections
        self.status = status
        self.handler = handler
        self.logger = logger
        for connection in connections {
            connection.setConsumer { [status, logger, handler] event in
                status.record(event)
                switch event {
                case .connected(let server):
                    logger.info("ARI connected", metadata: ["server": "\(server)"])
                case .disconnected(let server, let reason):
                    logger.warning("ARI disconnected", metadata: ["server": "\(server)", "reason": "\(reason)"])
                case .event: break
                }
                handler(event)
            }
        }
    }

    public func run() async throws {
        if connections.isEmpty {
            // No Asterisk configured (web and notifications only): stay up until shutdown.
            logger.warning("no Asterisk is configured (MUROJAAT_ARI_URL): calls are not handled")
        }
        try? await gracefulShutdown()
        await onStop?()
    }
}
