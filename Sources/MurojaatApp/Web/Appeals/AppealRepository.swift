import Crypto
import Foundation
import Notifications
import Logging
import Storage
import PostgresNIO

/// Topics, categories and regions as the forms offer them.
struct Classifier: Sendable {
    struct Item: Sendable { var code: String; var uz: String; var ru: String; var parent: String?; var deadlineDays: Int? }
    var categories: [Item]
    var regions: [Item]
    var topics: [Item]

    static func load(_ database: PostgresClient, logger: Logger) async throws -> Classifier {
        var categories: [Item] = [], regions: [Item] = [], topics: [Item] = []
        for try await (code, uz, ru, days) in try await database.query(
            "SELECT code, name_uz, name_ru, legal_deadline_days FROM categories WHERE active ORDER BY sort, code", logger: logger
        ).decode((String, String, String, Int?).self) {
            categories.append(Item(code: code, uz: uz, ru: ru, parent: nil, deadlineDays: days))
        }
        for try await (code, uz, ru) in try await database.query(
            "SELECT code, name_uz, name_ru FROM regions ORDER BY sort, code", logger: logger
        ).decode((String, String, String).self) {
            regions.append(Item(code: code, uz: uz, ru: ru, parent: nil, deadlineDays: nil))
        }
        for try await (code, parent, uz, ru) in try await database.query(
            "SELECT code, parent_code, name_uz, name_ru FROM topics WHERE active ORDER BY sort, code", logger: logger
        ).decode((String, String?, String, String).self) {
            topics.append(Item(code: code, uz: uz, ru: ru, parent: parent, deadlineDays: nil))
        }
        return Classifier(categories: categories, regions: regions, topics: topics)
    }

    func name(_ item: Item, _ language: UILanguage) -> String { language == .ru ? item.ru : item.uz }

    /// Options for a `<select>`, with the current value marked.
    func options(_ items: [Item], selected: String?, language: UILanguage) -> [[String: Any]] {
        items.map { ["code": $0.code, "name": name($0, language), "selected": $0.code == selected, "parent": $0.parent ?? ""] }
    }
}

enum AppealStatus: String, CaseIterable, Sendable {
    case new, inProgress = "in_progress", resolved, unresolved, disputed, forwarded, answered, closed

    /// The life cycle: new → in progress → resolved | unresolved | disputed → forwarded → answered → closed.
    var next: Set<AppealStatus> {
        switch self {
        case .new: [.inProgress, .resolved, .unresolved, .disputed]
        case .inProgress: [.resolved, .unresolved, .disputed]
        case .resolved, .unresolved, .disputed: [.forwarded, .closed, .inProgress]
        case .forwarded: [.answered]
        case .answered: [.closed]
        case .closed: []
        }
    }
}

/// What a citizen or an operator submits; validated before anything is written.
struct AppealDraft: Sendable {
    var source = "call"
    var citizenName: String?
    var phone: String?
    var regionCode: String?
    var language: UILanguage = .uz
    var categoryCode = ""
    var topicCode: String?
    var text = ""
    var answer: String?
    var outcome: AppealStatus?
    var consent = false
    var callId: UUID?
    var operatorId: Int64?
    var createdBy: Int64?
    /// A written appeal's letter: the day it was received (yyyy-mm-dd), its incoming number, how it arrived.
    var receivedOn: String?
    var incomingNumber: String?
    var receivedVia: String?
    static let receivedVia = ["post", "hand", "email", "fax", "other"]

    /// `+998` and nine digits from what people type: spaces, dashes, brackets, with or without `+998`/`998`.
    static func normalisePhone(_ raw: String) -> String? { PhoneNumber.normalise(raw) }

    /// Reads and checks the fields of a form; errors are keys of the strings table.
    static func from(_ form: Form, source: String, classifier: Classifier, requireName: Bool, requireOutcome: Bool) -> (AppealDraft, FieldErrors) {
        var draft = AppealDraft()
        var errors = FieldErrors()
        draft.source = source
        if let name = form["citizen_name"] {
            if name.count > 120 { errors.add("citizen_name", "err_too_long") } else { draft.citizenName = name }
        } else if requireName {
            errors.add("citizen_name", "err_required")
        }
        if let phone = form["phone"] {
            if let normalised = normalisePhone(phone) { draft.phone = normalised } else { errors.add("phone", "err_phone") }
        } else if source == "web" {
            errors.add("phone", "err_required")
        }
        if let region = form["region"] {
            if classifier.regions.contains(where: { $0.code == region }) { draft.regionCode = region } else { errors.add("region", "err_choice") }
        } else if source == "web" {
            errors.add("region", "err_required")
        }
        draft.language = form["language"].flatMap(UILanguage.init(rawValue:)) ?? .uz
        if let category = form["category"] {
            if classifier.categories.contains(where: { $0.code == category }) { draft.categoryCode = category } else { errors.add("category", "err_choice") }
        } else {
            errors.add("category", "err_required")
        }
        let topic = form["topic"]
        let subtopic = form["subtopic"]
        if let topic, !classifier.topics.contains(where: { $0.code == topic && $0.parent == nil }) { errors.add("topic", "err_choice") }
        if let subtopic {
            if !classifier.topics.contains(where: { $0.code == subtopic && $0.parent != nil && (topic == nil || $0.parent == topic) }) {
                errors.add("subtopic", "err_choice")
            }
        }
        if topic == nil && subtopic == nil { errors.add("topic", "err_required") }
        draft.topicCode = subtopic ?? topic
        if let text = form["text"] {
            if text.count > 5000 { errors.add("text", "err_too_long") } else if text.count < 10 { errors.add("text", "err_text_short") } else { draft.text = text }
        } else {
            errors.add("text", "err_required")
        }
        if let answer = form["answer"] {
            if answer.count > 5000 { errors.add("answer", "err_too_long") } else { draft.answer = answer }
        }
        if requireOutcome {
            if let raw = form["outcome"], let outcome = AppealStatus(rawValue: raw), [.resolved, .unresolved, .disputed].contains(outcome) {
                draft.outcome = outcome
            } else {
                errors.add("outcome", form["outcome"] == nil ? "err_required" : "err_choice")
            }
        }
        draft.consent = form["consent"] != nil
        if !draft.consent && (source == "web" || draft.citizenName != nil) { errors.add("consent", "err_consent") }
        if let call = form["call_id"] {
            if let id = UUID(uuidString: call) { draft.callId = id } else { errors.add("call_id", "bad_request") }
        }
        if source == "written" {
            // The letter's day of receipt: a real day, not in the future (Tashkent), not before 2000.
            let today = StatsRollup.day(Date(), TimeZone(identifier: "Asia/Tashkent")!)
            if let raw = form["received_on"] {
                if let day = DisplayTime.isoDay(raw), day <= today { draft.receivedOn = day } else { errors.add("received_on", "err_received_on") }
            } else {
                errors.add("received_on", "err_required")
            }
            if let number = form["incoming_number"] {
                if number.count <= 64, number.allSatisfy({ $0.isLetter || $0.isNumber || "-/ .№".contains($0) }) {
                    draft.incomingNumber = number
                } else {
                    errors.add("incoming_number", "err_incoming_number")
                }
            }
            if let via = form["received_via"] {
                if receivedVia.contains(via) { draft.receivedVia = via } else { errors.add("received_via", "err_choice") }
            } else {
                errors.add("received_via", "err_required")
            }
        }
        return (draft, errors)
    }
}

struct AppealRepository: Sendable {
    let database: PostgresClient
    let logger: Logger
    /// Base of the links in the notifications an appeal causes.
    var publicURL = "http://localhost:8080"

    struct Created: Sendable {
        var id: Int64
        var number: String
        var statusToken: String?
        /// The form's one-time key had already been used: nothing was created, this is the earlier appeal.
        var repeated = false
    }

    /// Numbers the appeal (gap-free per year), sets its due date from the category and writes its first
    /// history rows, all in one transaction.
    /// With `once` (the form's one-time key, `FormOnce`), a repeated submission creates nothing and returns the
    /// appeal the first one created.
    func create(_ draft: AppealDraft, classifier: Classifier, withStatusToken: Bool = false, once: String? = nil, kind: String = "appeal",
                browser: String? = nil) async throws -> Created {
        let now = Date()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Tashkent")!
        let year = calendar.component(.year, from: now)
        let deadline = classifier.categories.first { $0.code == draft.categoryCode }?.deadlineDays
        let due = deadline.flatMap { calendar.date(byAdding: .day, value: $0, to: now) }
        let dueText = due.map { Self.dayFormatter.string(from: $0) }
        var token: String?
        var tokenHash: ByteBuffer?
        if withStatusToken {
            token = Accounts.randomToken(bytes: 24)
            tokenHash = ByteBuffer(bytes: Array(SHA256.hash(data: Array(token!.utf8))))
        }
        let status = draft.outcome ?? .new
        let draft = draft
        let (id, number, repeated) = try await database.transaction(logger: logger) { connection -> (Int64, String, Bool) in
            var claimed = false
            if let once {
                switch try await FormOnce.claim(once, kind: kind, browser: browser, on: connection, logger: logger) {
                case .claimed: claimed = true
                case .taken(let id?, let number?): return (id, number, true)
                case .taken: throw FormOnce.ForeignKey() // a key of another kind of form: never this form's
                }
            }
            var seq = 0
            for try await value in try await connection.query("""
                INSERT INTO appeal_counters (year, last_seq) VALUES (\(year), 1)
                ON CONFLICT (year) DO UPDATE SET last_seq = appeal_counters.last_seq + 1 RETURNING last_seq
                """, logger: logger).decode(Int.self) { seq = value }
            var result: (Int64, String) = (0, "")
            for try await row in try await connection.query("""
                INSERT INTO appeals (year, seq, source, citizen_name, phone, region_code, language, category_code, topic_code,
                                     text, answer, status, consent, consent_at, call_id, operator_id, created_by, due_date,
                                     status_token_hash, received_on, incoming_number, received_via)
                VALUES (\(year), \(seq), \(draft.source), \(draft.citizenName), \(draft.phone), \(draft.regionCode),
                        \(draft.language.rawValue), \(draft.categoryCode), \(draft.topicCode), \(draft.text), \(draft.answer),
                        \(status.rawValue), \(draft.consent), \(draft.consent ? now : nil), \(draft.callId), \(draft.operatorId),
                        \(draft.createdBy), \(dueText)::date, \(tokenHash), \(draft.receivedOn)::date, \(draft.incomingNumber), \(draft.receivedVia))
                RETURNING id, number
                """, logger: logger).decode((Int64, String).self) { result = row }
            try await connection.query("""
                INSERT INTO appeal_history (appeal_id, from_status, to_status, user_id, comment) VALUES (\(result.0), NULL, 'new', \(draft.createdBy), NULL)
                """, logger: logger)
            if status != .new {
                try await connection.query("""
                    INSERT INTO appeal_history (appeal_id, from_status, to_status, user_id) VALUES (\(result.0), 'new', \(status.rawValue), \(draft.createdBy))
                    """, logger: logger)
            }
            // Alerts and the citizen's SMS are written with the appeal: both or neither.
            try await AppealNotifications.created(result.0, publicURL: publicURL, on: connection, logger: logger)
            if claimed, let once { try await FormOnce.complete(once, objectId: result.0, label: result.1, on: connection, logger: logger) }
            return (result.0, result.1, false)
        }
        return Created(id: id, number: number, statusToken: repeated ? nil : token, repeated: repeated)
    }

    enum TransitionError: Error { case notFound, notAllowed }

    /// Moves an appeal along its life cycle, keeping who, when and why.
    func transition(_ id: Int64, to status: AppealStatus, by user: Int64, comment: String?) async throws {
        try await database.transaction(logger: logger) { connection in
            try await Self.move(id, to: status, by: user, comment: comment, publicURL: publicURL, on: connection, logger: logger)
        }
    }

    /// The status change inside a caller's transaction: locks the row, refuses a step the life cycle does
    /// not allow, stamps the dates and writes the history row.
    static func move(_ id: Int64, to status: AppealStatus, by user: Int64, comment: String?, publicURL: String,
                     on connection: PostgresConnection, logger: Logger) async throws {
        var current: AppealStatus?
        for try await raw in try await connection.query("SELECT status FROM appeals WHERE id = \(id) FOR UPDATE", logger: logger).decode(String.self) {
            current = AppealStatus(rawValue: raw)
        }
        guard let current else { throw TransitionError.notFound }
        guard current.next.contains(status) else { throw TransitionError.notAllowed }
        try await connection.query("""
            UPDATE appeals SET status = \(status.rawValue), updated_at = now(),
                forwarded_at = CASE WHEN \(status.rawValue) = 'forwarded' THEN now() ELSE forwarded_at END,
                answered_at = CASE WHEN \(status.rawValue) = 'answered' THEN now() ELSE answered_at END,
                closed_at = CASE WHEN \(status.rawValue) = 'closed' THEN now() ELSE closed_at END
            WHERE id = \(id)
            """, logger: logger)
        try await connection.query("""
            INSERT INTO appeal_history (appeal_id, from_status, to_status, user_id, comment)
            VALUES (\(id), \(current.rawValue), \(status.rawValue), \(user), \(comment))
            """, logger: logger)
        try await AppealNotifications.moved(id, to: status.rawValue, publicURL: publicURL, on: connection, logger: logger)
    }

    static let dayFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Tashkent")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }()
}
