import Foundation
import Logging
import Notifications
import PostgresNIO

/// Process-level notification settings (from the environment): provider URLs and the worker's timing.
public struct NotificationConfiguration: Sendable {
    public var telegramURL = "https://api.telegram.org"
    public var eskizURL = "https://notify.eskiz.uz"
    public var playMobileURL = "https://send.smsxabar.uz"
    public var smtpTrustRootsFile: String?
    public var pollSeconds = 1.0
    public var leaseSeconds = 120.0
    public var retrySeconds = 30.0
    public init() {}
}

/// The settings an admin edits on the settings page, stored in `settings` (key → JSON string).
public struct NotificationSettings: Sendable, Equatable {
    public struct Field: Sendable {
        public var key: String
        public var secret: Bool
        public var kind: Kind
        public enum Kind: Sendable { case text, email, number(ClosedRange<Int>), choice([String]), chat, token }
    }

    /// Every key the settings page edits, in the order shown.
    public static let fields: [Field] = [
        .init(key: "smtp.host", secret: false, kind: .text),
        .init(key: "smtp.port", secret: false, kind: .number(1...65535)),
        .init(key: "smtp.security", secret: false, kind: .choice(SMTPConfiguration.Security.allCases.map(\.rawValue))),
        .init(key: "smtp.username", secret: false, kind: .text),
        .init(key: "smtp.password", secret: true, kind: .text),
        .init(key: "smtp.from", secret: false, kind: .email),
        .init(key: "smtp.from_name", secret: false, kind: .text),
        .init(key: "alerts.email", secret: false, kind: .email),
        .init(key: "telegram.bot_token", secret: true, kind: .token),
        .init(key: "telegram.chat_id", secret: false, kind: .chat),
        .init(key: "telegram.per_minute", secret: false, kind: .number(1...100_000)),
        .init(key: "sms.provider", secret: false, kind: .choice(["none", "eskiz", "playmobile"])),
        .init(key: "sms.sender", secret: false, kind: .text),
        .init(key: "eskiz.email", secret: false, kind: .email),
        .init(key: "eskiz.password", secret: true, kind: .text),
        .init(key: "playmobile.login", secret: false, kind: .text),
        .init(key: "playmobile.password", secret: true, kind: .text),
        .init(key: "chancery.email", secret: false, kind: .email),
        .init(key: "report.email", secret: false, kind: .email),
        .init(key: "outbox.max_attempts", secret: false, kind: .number(1...50)),
        .init(key: "stats.answer_threshold_seconds", secret: false, kind: .number(1...600)),
        .init(key: "stats.service_level_target", secret: false, kind: .number(1...100)),
        .init(key: "billing.price_per_call", secret: false, kind: .number(0...100_000_000)),
        .init(key: "recordings.retention_days", secret: false, kind: .number(1...3650)),
        .init(key: "qa.sample_per_operator", secret: false, kind: .number(1...20)),
    ]

    public static let defaults: [String: String] = [
        "smtp.port": "587", "smtp.security": "starttls", "smtp.from_name": "DTM Murojaat", "telegram.per_minute": "20",
        "sms.provider": "none", "sms.sender": "4546", "outbox.max_attempts": "8", "stats.answer_threshold_seconds": "20",
        "stats.service_level_target": "80", "billing.price_per_call": "0", "recordings.retention_days": "365", "qa.sample_per_operator": "3",
    ]

    public var values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    public subscript(_ key: String) -> String? {
        let value = values[key] ?? Self.defaults[key]
        return value?.isEmpty == false ? value : nil
    }

    public static func load(_ database: PostgresClient, logger: Logger) async throws -> NotificationSettings {
        try await database.withConnection { try await load($0, logger: logger) }
    }

    public static func load(_ connection: PostgresConnection, logger: Logger) async throws -> NotificationSettings {
        var values: [String: String] = [:]
        for try await (key, value) in try await connection.query("SELECT key, value #>> '{}' FROM settings", logger: logger).decode((String, String?).self) {
            values[key] = value ?? ""
        }
        return NotificationSettings(values: values)
    }

    /// Checks one value as typed on the settings page; nil when it is acceptable, else a strings-table key.
    public static func problem(_ field: Field, _ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.count > 500 || value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) { return "err_setting" }
        switch field.kind {
        case .text: return nil
        case .email: return EmailAddress.normalise(value) == nil ? "err_email" : nil
        case .number(let range): return Int(value).map { range.contains($0) } == true ? nil : "err_setting"
        case .choice(let options): return options.contains(value) ? nil : "err_choice"
        case .chat: return TelegramClient.isValidChatID(value) ? nil : "err_setting"
        case .token: return TelegramClient.isValidToken(value) ? nil : "err_setting"
        }
    }

    /// A whole-number setting, or its default (the settings page keeps values within their ranges).
    public func int(_ key: String) -> Int? { self[key].flatMap { Int($0) } }

    public var maxAttempts: Int { int("outbox.max_attempts") ?? 8 }
    public var answerThresholdSeconds: Int { int("stats.answer_threshold_seconds") ?? 20 }
    public var telegramPerMinute: Int { max(1, Int(self["telegram.per_minute"] ?? "") ?? 20) }
    public var telegramEnabled: Bool { self["telegram.bot_token"] != nil && self["telegram.chat_id"] != nil }
    public var smsProvider: String { self["sms.provider"] ?? "none" }
    public var smsEnabled: Bool { smsProvider != "none" }

    public func smtp(_ configuration: NotificationConfiguration) -> SMTPConfiguration? {
        guard let host = self["smtp.host"], let from = self["smtp.from"] else { return nil }
        return SMTPConfiguration(host: host, port: Int(self["smtp.port"] ?? "") ?? 587,
                                 security: SMTPConfiguration.Security(rawValue: self["smtp.security"] ?? "") ?? .starttls,
                                 username: self["smtp.username"], password: self["smtp.password"], from: from,
                                 fromName: self["smtp.from_name"], trustRootsFile: configuration.smtpTrustRootsFile)
    }
}
