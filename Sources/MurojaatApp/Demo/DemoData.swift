import Foundation
import Logging
import PostgresNIO

/// Operators for the demo: ten phones 101–110 with Uzbek, Russian or both, ready to take calls.
/// Their accounts are locked (no password) until an admin sets one.
enum DemoData {
    static let names = ["Dilnoza Karimova", "Sergey Pak", "Aziz Rahimov", "Malika Yusupova", "Olga Kim",
                        "Jasur Toshmatov", "Nodira Aliyeva", "Timur Nazarov", "Gulnora Saidova", "Rustam Ergashev"]

    static func seed(_ client: PostgresClient, operators count: Int, logger: Logger) async throws {
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
                    SELECT id, \(ext), \("PJSIP/" + ext), \(uz), \(ru), 'ready' FROM users WHERE lower(login) = \(login)
                    ON CONFLICT (extension) DO UPDATE SET state = 'ready', pause_reason = NULL
                    """, logger: logger)
            }
        }
    }
}
