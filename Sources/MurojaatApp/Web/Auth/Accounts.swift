import Crypto
import Foundation
import HummingbirdBcrypt
import Logging
import PostgresNIO

/// Staff accounts: bcrypt passwords, lockout after repeated failures, server-side sessions.
struct Accounts: Sendable {
    let database: PostgresClient
    let logger: Logger
    var bcryptCost: UInt8 = 10
    var maxFailedLogins = 5
    var lockout: TimeInterval = 15 * 60
    var sessionLifetime: TimeInterval = 12 * 3600

    enum AccountError: Error, Equatable {
        case loginTaken, weakPassword, invalidLogin, invalidName, unknownUser
    }

    enum LoginResult: Equatable {
        case success(userId: Int64)
        case wrongCredentials
        case locked(until: Date)
    }

    static func validPassword(_ password: String) -> Bool {
        password.count >= 10 && password.count <= 128
    }

    static func validLogin(_ login: String) -> Bool {
        (3...32).contains(login.count) && login.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    @discardableResult
    func createUser(login: String, fullName: String, role: Role, password: String, language: UILanguage = .uz,
                    teamId: Int64? = nil) async throws -> Int64 {
        guard Self.validLogin(login) else { throw AccountError.invalidLogin }
        guard (1...120).contains(fullName.count) else { throw AccountError.invalidName }
        guard Self.validPassword(password) else { throw AccountError.weakPassword }
        let hash = Bcrypt.hash(password, cost: bcryptCost)
        do {
            let rows = try await database.query("""
                INSERT INTO users (login, full_name, password_hash, role, language, team_id, password_changed_at)
                VALUES (\(login), \(fullName), \(hash), \(role.rawValue), \(language.rawValue), \(teamId), now()) RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { return id }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw AccountError.loginTaken
        }
        throw AccountError.unknownUser
    }

    func setPassword(userId: Int64, password: String) async throws {
        guard Self.validPassword(password) else { throw AccountError.weakPassword }
        let hash = Bcrypt.hash(password, cost: bcryptCost)
        try await database.query("""
            UPDATE users SET password_hash = \(hash), password_changed_at = now(), failed_logins = 0, locked_until = NULL
            WHERE id = \(userId)
            """, logger: logger)
        try await database.query("DELETE FROM sessions WHERE user_id = \(userId)", logger: logger)
    }

    /// Checks a password. The same answer (and roughly the same time) for an unknown login and a wrong
    /// password; a locked account answers `locked` without looking at the password.
    func verify(login: String, password: String) async throws -> LoginResult {
        let rows = try await database.query("""
            SELECT id, password_hash, failed_logins, locked_until FROM users WHERE lower(login) = lower(\(login)) AND active
            """, logger: logger)
        var found: (Int64, String, Int, Date?)?
        for try await row in rows.decode((Int64, String, Int, Date?).self) { found = row }
        guard let (id, hash, failures, lockedUntil) = found else {
            _ = Bcrypt.verify(password, hash: Self.dummyHash)
            return .wrongCredentials
        }
        if let lockedUntil, lockedUntil > Date() { return .locked(until: lockedUntil) }
        guard password.count <= 128, Bcrypt.verify(password, hash: hash) else {
            let lockUntil: Date? = failures + 1 >= maxFailedLogins ? Date().addingTimeInterval(lockout) : nil
            try await database.query("""
                UPDATE users SET failed_logins = CASE WHEN \(lockUntil)::timestamptz IS NULL THEN failed_logins + 1 ELSE 0 END,
                                 locked_until = \(lockUntil)::timestamptz
                WHERE id = \(id)
                """, logger: logger)
            if let lockUntil { return .locked(until: lockUntil) }
            return .wrongCredentials
        }
        try await database.query("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = \(id)",
                                 logger: logger)
        return .success(userId: id)
    }

    static let dummyHash = Bcrypt.hash("murojaat-timing-equaliser", cost: 10)

    // MARK: sessions

    /// Opens a session and returns the cookie token; only its SHA-256 is stored.
    func openSession(userId: Int64, ip: String?, userAgent: String?) async throws -> String {
        let token = Self.randomToken(bytes: 32)
        let csrf = Self.randomToken(bytes: 24)
        let id = ByteBuffer(bytes: Array(SHA256.hash(data: Array(token.utf8))))
        let expires = Date().addingTimeInterval(sessionLifetime)
        try await database.query("""
            INSERT INTO sessions (id, user_id, csrf_token, expires_at, ip, user_agent)
            VALUES (\(id), \(userId), \(csrf), \(expires), \(ip)::inet, \(userAgent.map { String($0.prefix(300)) }))
            """, logger: logger)
        try await database.query("DELETE FROM sessions WHERE expires_at < now()", logger: logger)
        return token
    }

    /// The user behind a session cookie, if the session exists, has not expired and the user is active.
    func session(token: String) async throws -> SessionUser? {
        guard token.count == 43 else { return nil }
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        let id = ByteBuffer(bytes: digest)
        let rows = try await database.query("""
            SELECT u.id, u.login, u.full_name, u.role, u.language, o.id, s.csrf_token, s.last_seen_at < now() - interval '1 minute'
            FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN operators o ON o.user_id = u.id
            WHERE s.id = \(id) AND s.expires_at > now() AND u.active
            """, logger: logger)
        var user: SessionUser?
        var stale = false
        for try await (uid, login, name, role, language, operatorId, csrf, old) in rows.decode((Int64, String, String, String, String, Int64?, String, Bool).self) {
            stale = old
            user = SessionUser(id: uid, login: login, fullName: name, role: Role(rawValue: role) ?? .operator,
                               language: UILanguage(rawValue: language) ?? .uz, operatorId: operatorId, csrfToken: csrf, sessionId: digest)
        }
        // Each use slides the expiry, written at most once a minute rather than on every request.
        if user != nil && stale {
            let expires = Date().addingTimeInterval(sessionLifetime)
            try await database.query("UPDATE sessions SET last_seen_at = now(), expires_at = \(expires) WHERE id = \(id)", logger: logger)
        }
        return user
    }

    func closeSession(_ sessionId: [UInt8]) async throws {
        try await database.query("DELETE FROM sessions WHERE id = \(ByteBuffer(bytes: sessionId))", logger: logger)
    }

    /// `bytes` random bytes as unpadded base64url (43 characters for 32 bytes).
    static func randomToken(bytes count: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        return base64URL(bytes)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Who did what to which personal data or recording, when, from where.
struct AuditLog: Sendable {
    let database: PostgresClient
    let logger: Logger

    /// Throws when the entry cannot be written: what would be shown without an audit entry is not shown.
    func record(_ user: SessionUser?, ip: String?, action: String, objectType: String? = nil, objectId: String? = nil,
                details: [String: String] = [:]) async throws {
        let json = (try? JSONEncoder().encode(details)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try await database.query("""
            INSERT INTO audit_log (user_id, ip, action, object_type, object_id, details)
            VALUES (\(user?.id), \(ip)::inet, \(action), \(objectType), \(objectId), \(json)::jsonb)
            """, logger: logger)
    }
}
