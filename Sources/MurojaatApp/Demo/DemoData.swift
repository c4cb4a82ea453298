import Foundation
import HummingbirdBcrypt
import Logging
import PostgresNIO
import Storage

/// Operators for the demo: ten phones 101–110 with Uzbek, Russian or both.
/// Their accounts are locked (no password) until an admin sets one.
enum DemoData {
    static let names = ["Dilnoza Karimova", "Sergey Pak", "Aziz Rahimov", "Malika Yusupova", "Olga Kim",
                        "Jasur Toshmatov", "Nodira Aliyeva", "Timur Nazarov", "Gulnora Saidova", "Rustam Ergashev"]

    /// The schema, the reference data and `operators` ready demo operators: what `seed` and the benchmarks start from.
    static func prepareForMeasurement(_ client: PostgresClient, operators: Int, logger: Logger) async throws {
        try await Migrator(client: client, migrations: try Migration.bundled(), logger: logger).migrate()
        try await ReferenceData.bundled().seed(client, logger: logger)
        try await seed(client, operators: operators, logger: logger)
    }

    /// `ready`: with the built-in simulator every demo phone exists, so the operators take calls at once. With a real
    /// Asterisk (`ready: false`) they start offline and each chooses "ready" in the panel once their phone is up: a
    /// caller is never offered to a phone that does not exist.
    static func seed(_ client: PostgresClient, operators count: Int, ready: Bool = true, logger: Logger) async throws {
        let state = ready ? "ready" : "offline"
        try await client.withTransaction(logger: logger) { connection in
            for index in 0..<count {
                let ext = String(101 + index)
                let login = "op\(ext)"
                let name = names[index % names.count]
                let uz = index % 3 != 1, ru = index % 3 != 0
                try await connection.query("""
                    INSERT INTO users (login, full_name, password_hash, role) VALUES (\(login), \(name), '!locked', 'operator')
                    ON CONFLICT ((lower(login))) DO NOTHING
                    """, logger: logger)
                try await connection.query("""
                    INSERT INTO operators (user_id, extension, endpoint, skill_uz, skill_ru, state)
                    SELECT id, \(ext), \("PJSIP/" + ext), \(uz), \(ru), \(state) FROM users WHERE lower(login) = \(login)
                    ON CONFLICT (extension) DO UPDATE SET state = EXCLUDED.state, pause_reason = NULL
                    """, logger: logger)
            }
        }
    }

    /// The demo's staff: one account per role plus the operators' own, all with `password`.
    /// Only `murojaat demo` calls this; a real installation creates accounts with `murojaat user add`.
    static func seedStaff(_ client: PostgresClient, operators count: Int, password: String, logger: Logger) async throws {
        let hash = Bcrypt.hash(password, cost: 10)
        let staff: [(String, String, String)] = [
            ("admin", "Administrator", "admin"), ("editor", "Muharrir Demo", "editor"),
            ("supervisor", "Nazoratchi Demo", "supervisor"), ("dtm", "DTM mas'ul xodimi", "dtm"),
        ]
        for (login, name, role) in staff {
            try await client.query("""
                INSERT INTO users (login, full_name, password_hash, role) VALUES (\(login), \(name), \(hash), \(role))
                ON CONFLICT ((lower(login))) DO UPDATE SET password_hash = EXCLUDED.password_hash
                """, logger: logger)
        }
        let logins = (0..<count).map { "op\(101 + $0)" }
        try await client.query("UPDATE users SET password_hash = \(hash) WHERE login = ANY(\(logins))", logger: logger)
    }
}
