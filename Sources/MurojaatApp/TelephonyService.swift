import ARI
import Logging
import ServiceLifecycle

/// Reads every Asterisk's event socket and hands each event to the call flow, keeping the
/// connection status the status page shows.
public struct TelephonyService: Service {
    public typealias Handler = @Sendable (ARIConnectionEvent) async -> Void
    let connections: [ARIEventConnection]
    let status: TelephonyStatus
    let handler: Handler
    let logger: Logger

    public init(connections: [ARIEventConnection], status: TelephonyStatus, logger: Logger, handler: @escaping Handler) {
        self.connections = connections
        self.status = status
        self.handler = handler
        self.logger = logger
    }

    public func run() async throws {
        if connections.isEmpty {
            // No Asterisk configured (web and notifications only): stay up until shutdown.
            logger.warning("no Asterisk is configured (MUROJAAT_ARI_URL): calls are not handled")
            try? await gracefulShutdown()
            return
        }
        await withDiscardingTaskGroup { group in
            for connection in connections {
                group.addTask {
                    // The connections finish their streams when they stop (graceful shutdown included).
                    for await event in connection.events {
                        status.record(event)
                        switch event {
                        case .connected(let server): logger.info("ARI connected", metadata: ["server": "\(server)"])
                        case .disconnected(let server, let reason):
                            logger.warning("ARI disconnected", metadata: ["server": "\(server)", "reason": "\(reason)"])
                        case .event: break
                        }
                        await handler(event)
                    }
                }
            }
        }
    }
}
