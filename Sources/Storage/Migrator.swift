import Crypto
import Foundation
import Logging
import PostgresNIO

/// One step of the schema, identified by its name and the SHA-256 of its SQL.
public struct Migration: Sendable, Equatable {
    public var name: String
    public var sql: String
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// The project's migrations: `Migrations/NNNN_name.sql` in name order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError.missingResources
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        return try files.map { file in
            Migration(name: String(file.dropLast(4)), sql: try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
        }
    }
}

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case missingResources
    /// An applied migration's SQL differs from the code's.
    case changed(name: String)
    /// The database has a migration the code does not list at that position.
    case unknown(name: String, position: Int)
    /// The schema is behind the code and the process was not asked to migrate.
    case outOfDate(pending: [String])

    public var description: String {
        switch self {
        case .missingResources: "the migrations folder is missing from the build"
        case .changed(let name): "migration \(name) was changed after it was applied (checksum differs)"
        case .unknown(let name, let position): "the database has migration \(name) at position \(position), which this version does not know"
        case .outOfDate(let pending): "the database schema is out of date; pending migrations: \(pending.joined(separator: ", ")) (run `murojaat migrate` or start with --migrate)"
        }
    }
}

public struct MigrationStatus: Sendable, Equatable {
    public var applied: [String]
    public var pending: [String]
}

/// Applies migrations: ordered, named, checksummed, all pending ones in one transaction under an
/// advisory lock, so two processes migrating at once are safe.
public struct Migrator: Sendable {
    public let client: PostgresClient
    public let migrations: [Migration]
    let logger: Logger
    static let lockKey: Int64 = 0x6D75_726F_6A61 // "muroja"

    public init(client: PostgresClient, migrations: [Migration], logger: Logger = Logger(label: "murojaat.migrations")) {
        self.client = client
        self.migrations = migrations
        self.logger = logger
    }

    static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            position integer PRIMARY KEY,
            name text NOT NULL UNIQUE,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """

    /// What is applied and what is pending; throws if the database does not match the code.
    public func status() async throws -> MigrationStatus {
        let applied = try await client.withConnection { connection in
            let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            var found = false
            for try await value in exists.decode(Bool.self) { found = value }
            return found ? try await appliedMigrations(connection) : []
        }
        return try verify(applied)
    }

    /// Applies every pending migration; returns their names.
    @discardableResult
    public func migrate() async throws -> [String] {
        do {
            return try await applyPending()
        } catch let error as PostgresTransactionError {
            // Report why the migration failed, not the transaction wrapper.
            throw error.closureError ?? error
        }
    }

    func applyPending() async throws -> [String] {
        try await client.withTransaction(logger: logger) { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            _ = try await connection.query(PostgresQuery(unsafeSQL: Self.createTable), logger: logger)
            let status = try verify(try await appliedMigrations(connection))
            for name in status.pending {
                let migration = migrations.first { $0.name == name }!
                let position = migrations.firstIndex(of: migration)! + 1
                logger.info("applying migration", metadata: ["name": "\(name)"])
                for statement in SQLScript.statements(migration.sql) {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (position, name, checksum) VALUES (\(position), \(name), \(migration.checksum))",
                    logger: logger)
            }
            return status.pending
        }
    }

    func appliedMigrations(_ connection: PostgresConnection) async throws -> [(Int, String, String)] {
        let rows = try await connection.query("SELECT position, name, checksum FROM schema_migrations ORDER BY position", logger: logger)
        var applied: [(Int, String, String)] = []
        for try await (position, name, checksum) in rows.decode((Int, String, String).self) { applied.append((position, name, checksum)) }
        return applied
    }

    /// What is applied must be a prefix of what the code lists, with the same checksums.
    func verify(_ applied: [(Int, String, String)]) throws -> MigrationStatus {
        for (index, (position, name, checksum)) in applied.enumerated() {
            guard index < migrations.count, migrations[index].name == name, position == index + 1 else {
                throw MigrationError.unknown(name: name, position: position)
            }
            guard migrations[index].checksum == checksum else { throw MigrationError.changed(name: name) }
        }
        return MigrationStatus(applied: applied.map(\.1), pending: migrations.dropFirst(applied.count).map(\.name))
    }

    /// For `serve`: migrate if allowed, else refuse an out-of-date schema.
    public func ensureCurrent(migrateIfNeeded: Bool) async throws {
        let status = try await status()
        guard !status.pending.isEmpty else { return }
        guard migrateIfNeeded else { throw MigrationError.outOfDate(pending: status.pending) }
        try await migrate()
    }
}
