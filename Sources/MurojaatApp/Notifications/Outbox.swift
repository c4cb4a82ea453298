import Foundation
import Logging
import Notifications
import PostgresNIO

/// What an outbox row carries. E-mail: `to` (or `toSetting`, resolved when sent), subject, text, optional
/// HTML and attachments. Telegram: `text` in HTML (the chat comes from the settings when sent). SMS: `phone`, `text`.
public struct OutboxPayload: Codable, Sendable, Equatable {
    public struct Attachment: Codable, Sendable, Equatable {
        public var filename: String
        public var contentType: String
        public var base64: String
    }
    public var to: String?
    public var toSetting: String?
    public var subject: String?
    public var text: String
    public var html: String?
    public var attachments: [Attachment]?
    public var phone: String?
    public var language: String?

    public init(to: String? = nil, toSetting: String? = nil, subject: String? = nil, text: String, html: String? = nil,
                attachments: [Attachment]? = nil, phone: String? = nil, language: String? = nil) {
        self.to = to
        self.toSetting = toSetting
        self.subject = subject
        self.text = text
        self.html = html
        self.attachments = attachments
        self.phone = phone
        self.language = language
    }

    enum CodingKeys: String, CodingKey { case to, toSetting = "to_setting", subject, text, html, attachments, phone, language }
}

public enum OutboxChannel: String, Sendable, CaseIterable { case email, telegram, sms }

/// Writes notifications into the outbox inside the caller's transaction: the row exists if and only if
/// the change that caused it was committed, and its key makes a repeated event write no second row.
public enum Outbox {
    @discardableResult
    public static func enqueue(_ channel: OutboxChannel, key: String, payload: OutboxPayload, appealID: Int64? = nil,
                               on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let json = String(decoding: try JSONEncoder().encode(payload), as: UTF8.self)
        var inserted = false
        for try await _ in try await connection.query("""
            INSERT INTO outbox (channel, dedupe_key, payload, appeal_id) VALUES (\(channel.rawValue), \(key), \(json)::jsonb, \(appealID))
            ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
            """, logger: logger).decode(Int64.self) { inserted = true }
        return inserted
    }

    @discardableResult
    public static func enqueue(_ channel: OutboxChannel, key: String, payload: OutboxPayload, appealID: Int64? = nil,
                               database: PostgresClient, logger: Logger) async throws -> Bool {
        try await database.withConnection { connection in
            try await enqueue(channel, key: key, payload: payload, appealID: appealID, on: connection, logger: logger)
        }
    }

    /// `+998 90 *** ** 67`: enough to recognise, not enough to call.
    public static func maskedPhone(_ phone: String?) -> String {
        guard let phone, phone.count == 13 else { return "—" }
        let digits = Array(phone)
        return "+998 \(String(digits[4...5])) *** ** \(String(digits[11...12]))"
    }
}

/// The notifications an appeal causes: alerts to the Center, SMS to the citizen.
enum AppealNotifications {
    struct Facts {
        var number: String
        var source: String
        var status: String
        var language: String
        var phone: String?
        var category: String
        var categoryName: String
        var topic: String
        var text: String
        var operatorName: String?
        var createdAt: String
    }

    static func facts(_ id: Int64, on connection: PostgresConnection, logger: Logger) async throws -> Facts? {
        var facts: Facts?
        for try await row in try await connection.query("""
            SELECT a.number, a.source, a.status, a.language, a.phone, a.category_code, c.name_uz || ' / ' || c.name_ru,
                   coalesce(t.name_uz || ' / ' || t.name_ru, '—'), a.text,
                   coalesce(u.full_name, o.extension),
                   to_char(a.created_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI')
            FROM appeals a JOIN categories c ON c.code = a.category_code LEFT JOIN topics t ON t.code = a.topic_code
                 LEFT JOIN operators o ON o.id = a.operator_id LEFT JOIN users u ON u.id = coalesce(o.user_id, a.created_by)
            WHERE a.id = \(id)
            """, logger: logger).decode((String, String, String, String, String?, String, String, String, String, String?, String).self) {
            facts = Facts(number: row.0, source: row.1, status: row.2, language: row.3, phone: row.4, category: row.5, categoryName: row.6,
                          topic: row.7, text: row.8, operatorName: row.9, createdAt: row.10)
        }
        return facts
    }

    static let alertCategories: Set<String> = ["complaint", "suggestion"]
    static let alertStatuses: Set<String> = ["unresolved", "disputed"]

    /// After an appeal is registered: an alert when it is a complaint or suggestion or was saved as
    /// unresolved/disputed, and an SMS with its number to the citizen's mobile.
    static func created(_ id: Int64, publicURL: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard let facts = try await facts(id, on: connection, logger: logger) else { return }
        let settings = try await NotificationSettings.load(connection, logger: logger)
        if alertCategories.contains(facts.category) || alertStatuses.contains(facts.status) {
            try await alert(id, facts, reason: alertStatuses.contains(facts.status) ? facts.status : facts.category, key: "appeal:\(id):alert",
                            settings: settings, publicURL: publicURL, on: connection, logger: logger)
        }
        if settings.smsEnabled, let phone = facts.phone.flatMap(PhoneNumber.mobile) {
            let link = "\(publicURL)/murojaat/holat?number=\(facts.number)"
            let text = facts.language == "ru"
                ? "Ваше обращение зарегистрировано под номером \(facts.number). Статус: \(link)"
                : "Murojaatingiz \(facts.number) raqami bilan ro'yxatga olindi. Holati: \(link)"
            try await Outbox.enqueue(.sms, key: "appeal:\(id):sms:registered", payload: OutboxPayload(text: text, phone: phone, language: facts.language),
                                     appealID: id, on: connection, logger: logger)
        }
    }

    /// After a status change: an alert for unresolved/disputed, an SMS when forwarded or answered.
    static func moved(_ id: Int64, to status: String, publicURL: String, on connection: PostgresConnection, logger: Logger) async throws {
        guard alertStatuses.contains(status) || status == "forwarded" || status == "answered" else { return }
        guard let facts = try await facts(id, on: connection, logger: logger) else { return }
        let settings = try await NotificationSettings.load(connection, logger: logger)
        if alertStatuses.contains(status) {
            try await alert(id, facts, reason: status, key: "appeal:\(id):alert:\(status)", settings: settings, publicURL: publicURL,
                            on: connection, logger: logger)
        } else if settings.smsEnabled, let phone = facts.phone.flatMap(PhoneNumber.mobile) {
            let link = "\(publicURL)/murojaat/holat?number=\(facts.number)"
            let text: String
            switch (status, facts.language) {
            case ("answered", "ru"): text = "На ваше обращение \(facts.number) дан ответ: \(link)"
            case ("answered", _): text = "\(facts.number) raqamli murojaatingizga javob berildi: \(link)"
            case (_, "ru"): text = "Ваше обращение \(facts.number) передано в канцелярию ГЦТ. Статус: \(link)"
            default: text = "\(facts.number) raqamli murojaatingiz DTM devonxonasiga yuborildi. Holati: \(link)"
            }
            try await Outbox.enqueue(.sms, key: "appeal:\(id):sms:\(status)", payload: OutboxPayload(text: text, phone: phone, language: facts.language),
                                     appealID: id, on: connection, logger: logger)
        }
    }

    static let reasonNames: [String: String] = [
        "complaint": "Shikoyat / Жалоба", "suggestion": "Taklif / Предложение",
        "unresolved": "Hal etilmagan / Не решено", "disputed": "E'tirozli / Оспаривается",
    ]

    static func alert(_ id: Int64, _ facts: Facts, reason: String, key: String, settings: NotificationSettings, publicURL: String,
                      on connection: PostgresConnection, logger: Logger) async throws {
        let link = "\(publicURL)/appeals/\(id)"
        let short = facts.text.count > 300 ? String(facts.text.prefix(300)) + "…" : facts.text
        let reasonName = reasonNames[reason] ?? reason
        let phone = Outbox.maskedPhone(facts.phone)
        let operatorName = facts.operatorName ?? "—"
        if settings["alerts.email"] != nil {
            let text = """
                \(reasonName): \(facts.number)
                Toifa / Категория: \(facts.categoryName)
                Mavzu / Тема: \(facts.topic)
                Operator: \(operatorName)
                Vaqt / Время: \(facts.createdAt)
                Telefon: \(phone)

                \(short)

                \(link)
                """
            try await Outbox.enqueue(.email, key: key + ":email",
                                     payload: OutboxPayload(toSetting: "alerts.email", subject: "[Murojaat] \(reasonName) \(facts.number)", text: text),
                                     appealID: id, on: connection, logger: logger)
        }
        if settings.telegramEnabled {
            let e = TelegramClient.escape
            let html = """
                <b>\(e(reasonName)): \(e(facts.number))</b>
                \(e(facts.categoryName)) · \(e(facts.topic))
                Operator: \(e(operatorName)) · \(e(facts.createdAt)) · \(e(phone))

                \(e(short))

                <a href="\(e(link))">\(e(link))</a>
                """
            try await Outbox.enqueue(.telegram, key: key + ":telegram", payload: OutboxPayload(text: html), appealID: id, on: connection, logger: logger)
        }
    }
}
