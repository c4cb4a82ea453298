import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

/// The PostgreSQL server the tests use: `MUROJAAT_TEST_DATABASE_URL` (scripts/test.sh sets it).
enum TestDatabase {
    static var url: String? { ProcessInfo.processInfo.environment["MUROJAAT_TEST_DATABASE_URL"] }

    static func configuration() throws -> DatabaseConfiguration {
        guard let url else {
            Issue.record("MUROJAAT_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
            throw CancellationError()
        }
        return try DatabaseConfiguration(url: url)
    }

    /// Runs `body` with a client on a new, empty database that is dropped afterwards.
    static func withFreshDatabase(_ body: @Sendable (PostgresClient, DatabaseConfiguration) async throws -> Void) async throws {
        let admin = try configuration()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        _ = try await withClient(admin) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var mutable = admin
        mutable.database = String(name)
        let config = mutable
        do {
            try await withClient(config) { client in try await body(client, config) }
        } catch {
            try? await dropDatabase(String(name), admin: admin)
            throw error
        }
        try await dropDatabase(String(name), admin: admin)
    }

    static func dropDatabase(_ name: String, admin: DatabaseConfiguration) async throws {
        _ = try await withClient(admin) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
    }

    static func withClient<T: Sendable>(_ config: DatabaseConfiguration, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: config.clientConfiguration, backgroundLogger: Logger(label: "test.pg"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
