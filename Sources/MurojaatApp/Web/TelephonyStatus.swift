import ARI
import Foundation
import Synchronization

/// Live state of each Asterisk connection, for the status page, `/health` and logs.
public final class TelephonyStatus: Sendable {
    public struct Server: Sendable, Equatable {
        public var name: String
        public var url: String
        public var connected: Bool
        public var since: Date
        public var lastError: String?
        public var eventsReceived: Int
    }

    let state: Mutex<[String: Server]>

    public init(servers: [ARIServerConfiguration]) {
        state = Mutex(Dictionary(uniqueKeysWithValues: servers.map {
            ($0.name, Server(name: $0.name, url: $0.baseURL, connected: false, since: Date(), lastError: nil, eventsReceived: 0))
        }))
    }

    public var servers: [Server] { state.withLock { $0.values.sorted { $0.name < $1.name } } }

    public func record(_ event: ARIConnectionEvent) {
        state.withLock { servers in
            switch event {
            case .connected(let name):
                servers[name]?.connected = true
                servers[name]?.since = Date()
                servers[name]?.lastError = nil
            case .disconnected(let name, let reason):
                servers[name]?.connected = false
                servers[name]?.since = Date()
                servers[name]?.lastError = reason
            case .event(let name, _):
                servers[name]?.eventsReceived += 1
            }
        }
    }
}
