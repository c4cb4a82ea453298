import Foundation
import Logging
import PostgresNIO

/// One-time keys of forms that create something. Each rendered form carries a fresh key in `_once`;
/// the transaction that creates the thing first claims the key. A repeated submission (refresh, back and
/// send again, a double click, a retried request) finds the key taken and gets what the first one created,
/// so nothing is created twice.
enum FormOnce {
    static let field = "_once"

    static func newKey() -> String { Accounts.randomToken(bytes: 24) }

    /// The key a submitted form carries, if it is well formed.
    static func key(_ form: Form) -> String? { form[field].flatMap(valid) }

    /// `raw` if it is a well-formed key (from a form, an address or a query).
    static func valid(_ raw: String) -> String? {
        guard (16...64).contains(raw.count), raw.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        return raw
    }

    enum Claim: Sendable { case claimed, taken(objectId: Int64?, label: String?) }

    /// A key that belongs to another kind of form: refused as a stale form would be.
    struct ForeignKey: Error {}

    /// Inside the creating transaction: takes `key` for `kind`, or says what the earlier submission made. A
    /// concurrent submission with the same key waits for the first transaction and then sees its result.
    /// `browser` (the public form's: a hash of its form cookie) is kept with the key, so that a restored form is matched
    /// to the same browser's earlier appeal only.
    static func claim(_ key: String, kind: String, browser: String? = nil, on connection: PostgresConnection, logger: Logger) async throws -> Claim {
        // Keys live 30 days; an occasional sweep keeps the table small.
        if Int.random(in: 0..<200) == 0 {
            try await connection.query("DELETE FROM form_submissions WHERE created_at < now() - interval '30 days'", logger: logger)
        }
        var claimed = false
        for try await _ in try await connection.query("""
            INSERT INTO form_submissions (key, kind, browser) VALUES (\(key), \(kind), \(browser)) ON CONFLICT (key) DO NOTHING RETURNING 1
            """, logger: logger).decode(Int.self) { claimed = true }
        if claimed { return .claimed }
        var result: Claim = .taken(objectId: nil, label: nil)
        for try await (id, label) in try await connection.query("""
            SELECT object_id, label FROM form_submissions WHERE key = \(key) AND kind = \(kind)
            """, logger: logger).decode((Int64?, String?).self) { result = .taken(objectId: id, label: label) }
        return result
    }

    /// Records what the submission with `key` created, in the same transaction as the claim.
    static func complete(_ key: String, objectId: Int64, label: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE form_submissions SET object_id = \(objectId), label = \(label) WHERE key = \(key)", logger: logger)
    }

    /// What the submission with `key` created, outside a transaction (the page a redirect shows).
    static func result(_ key: String, kind: String, database: PostgresClient, logger: Logger) async throws -> (id: Int64, label: String)? {
        var found: (Int64, String)?
        for try await (id, label) in try await database.query("""
            SELECT object_id, label FROM form_submissions
            WHERE key = \(key) AND kind = \(kind) AND object_id IS NOT NULL AND created_at > now() - interval '30 days'
            """, logger: logger).decode((Int64, String).self) { found = (id, label) }
        return found
    }
}
