import Foundation
import PostgresNIO

/// Where PostgreSQL is, from a URL such as `postgres://murojaat:secret@127.0.0.1:5432/murojaat`.
public struct DatabaseConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String, requireTLS: Bool = false) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.requireTLS = requireTLS
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let why): why }
        }
    }

    /// Parses `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`.
    public init(url text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme)
        else { throw ParseError.invalid("must look like postgres://user:password@host:5432/database") }
        guard let host = components.host, !host.isEmpty else { throw ParseError.invalid("has no host") }
        guard let user = components.user, !user.isEmpty else { throw ParseError.invalid("has no user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw ParseError.invalid("has no database name after the host") }
        if let port = components.port, !(1...65535).contains(port) { throw ParseError.invalid("has a port outside 1–65535") }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "require", "prefer"].contains(sslmode) else { throw ParseError.invalid("has sslmode=\(sslmode); use disable or require") }
        self.init(host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
                  password: components.password?.removingPercentEncoding, database: database, requireTLS: sslmode == "require")
    }

    public var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// The URL without its password, for logs and `doctor`.
    public var redacted: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }
}
