import Foundation
import Hummingbird
import Notifications
import PostgresNIO

/// Appeals for staff: list with filters and search, one appeal with its history, status changes.
/// Operators see only appeals they registered; personal data is shown to roles that need it and
/// every view of it is audited.
struct AppealsController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    static let readers: Set<Role> = [.operator, .editor, .supervisor, .admin, .dtm]
    static let personalData: Set<Role> = [.operator, .editor, .supervisor, .dtm]
    static let changers: Set<Role> = [.editor, .supervisor]

    func addRoutes(to router: Router<AppRequestContext>) {
        let appeals = router.group("appeals").add(middleware: RequireRole(Self.readers))
        appeals.get { request, context in try await list(request, context) }
        appeals.get(":id") { request, context in try await show(request, context) }
        let changers = router.group("appeals").add(middleware: RequireRole(Self.changers))
        changers.post(":id/status") { request, context in try await changeStatus(request, context) }
        changers.get("new") { request, context in try await newWritten(request, context, draft: [:], errors: FieldErrors()) }
        changers.post("new") { request, context in try await saveWritten(request, context) }
    }

    struct Filters {
        var status: String?
        var category: String?
        var topic: String?
        var region: String?
        var from: Date?
        var to: Date?
        var overdue = false
        var queue = false
        var search: String?
        var operatorId: Int64?
        var page = 1
    }

    func filters(_ request: Request) -> Filters {
        let q = request.uri.queryParameters
        func text(_ key: String) -> String? {
            guard let value = q[Substring(key)].map(String.init), !value.isEmpty, value.count <= 64 else { return nil }
            return value
        }
        var f = Filters()
        f.status = text("status").flatMap { AppealStatus(rawValue: $0)?.rawValue }
        f.category = text("category")
        f.topic = text("topic")
        f.region = text("region")
        f.from = text("from").flatMap(DisplayTime.isoDay).flatMap { AppealRepository.dayFormatter.date(from: $0) }
        f.to = text("to").flatMap(DisplayTime.isoDay).flatMap { AppealRepository.dayFormatter.date(from: $0) }.map { $0.addingTimeInterval(86400) }
        f.overdue = q["overdue"] == "1"
        f.queue = q["queue"] == "1"
        f.search = text("q")
        f.operatorId = text("operator").flatMap(Int64.init)
        f.page = max(1, min(100_000, q["page"].flatMap { Int(String($0)) } ?? 1))
        return f
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        let f = filters(request)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        let ownOnly: Int64? = user.role == .operator ? user.id : nil
        let phone = f.search.flatMap(AppealDraft.normalisePhone)
        let number = f.search.flatMap { $0.range(of: #"^\d{4}-\d{1,9}$"#, options: .regularExpression) != nil ? $0 : nil }
        let searchInvalid = f.search != nil && phone == nil && number == nil
        var rows: [[String: Any]] = []
        let formatter = DateFormatter()
        formatter.timeZone = web.configuration.timeZone
        formatter.dateFormat = "dd.MM.yyyy"
        let showPersonal = Self.personalData.contains(user.role)
        if !searchInvalid {
            var listQuery: PostgresQuery = """
                SELECT a.id, a.number, a.created_at, a.status, a.source, a.category_code, coalesce(t.name_uz, ''), coalesce(t.name_ru, ''),
                       a.phone, a.due_date::text, (a.due_date < current_date AND a.status NOT IN ('answered', 'closed', 'resolved')),
                       (a.due_date BETWEEN current_date AND current_date + 3 AND a.status NOT IN ('answered', 'closed', 'resolved'))
                FROM appeals a LEFT JOIN topics t ON t.code = a.topic_code
                WHERE (\(f.status)::text IS NULL OR a.status = \(f.status))
                  AND (\(f.category)::text IS NULL OR a.category_code = \(f.category))
                  AND (\(f.topic)::text IS NULL OR a.topic_code = \(f.topic) OR a.topic_code LIKE \(f.topic.map { $0 + ".%" }))
                  AND (\(f.region)::text IS NULL OR a.region_code = \(f.region))
                  AND (\(f.from)::timestamptz IS NULL OR a.created_at >= \(f.from))
                  AND (\(f.to)::timestamptz IS NULL OR a.created_at < \(f.to))
                  AND (NOT \(f.queue) OR (a.forwarded_at IS NULL AND a.status IN ('unresolved', 'disputed', 'resolved')
                                         AND (a.status <> 'resolved' OR a.category_code IN ('complaint', 'application', 'suggestion'))))
                  AND (NOT \(f.overdue) OR (a.due_date < current_date AND a.status NOT IN ('answered', 'closed', 'resolved')))
                  AND (\(phone)::text IS NULL OR a.phone = \(phone))
                  AND (\(number)::text IS NULL OR a.number = \(number))
                  AND (\(ownOnly)::bigint IS NULL OR a.created_by = \(ownOnly))
                  AND (\(f.operatorId)::bigint IS NULL OR a.operator_id = \(f.operatorId))
                """
            // Overdue appeals come by deadline (most recent first), which the partial index on open appeals serves.
            listQuery.sql += f.overdue ? " ORDER BY a.due_date DESC, a.id DESC" : " ORDER BY a.created_at DESC, a.id DESC"
            listQuery.sql += " LIMIT 51 OFFSET \((f.page - 1) * 50)"
            let sequence = try await web.database.query(listQuery, logger: web.logger)
            for try await (id, num, created, status, source, category, topicUz, topicRu, phoneValue, due, overdue, soon)
                in sequence.decode((Int64, String, Date, String, String, String, String, String, String?, String?, Bool?, Bool?).self) {
                let categoryName = classifier.categories.first { $0.code == category }.map { classifier.name($0, language) } ?? category
                rows.append([
                    "id": id, "number": num, "created": formatter.string(from: created),
                    "status": Strings.text("status_\(status)", language), "source": Strings.text("source_\(source)", language),
                    "category": categoryName, "topic": language == .ru ? topicRu : topicUz,
                    "phone": showPersonal ? (phoneValue ?? "") : Self.mask(phoneValue), "due": due.map(DisplayTime.showDay) ?? "",
                    "overdue": overdue ?? false, "dueSoon": soon ?? false,
                ])
            }
        }
        var operatorOptions: [[String: Any]] = []
        if user.role != .operator {
            for try await (id, name) in try await web.database.query(
                "SELECT o.id, u.full_name FROM operators o JOIN users u ON u.id = o.user_id ORDER BY u.full_name", logger: web.logger
            ).decode((Int64, String).self) {
                operatorOptions.append(["id": id, "name": name, "selected": id == f.operatorId])
            }
        }
        var query = request.uri.queryParameters.filter { $0.key != "page" }.map { "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")" }
        query.sort()
        let base = "/appeals?" + query.joined(separator: "&") + (query.isEmpty ? "" : "&")
        return pages.render("appeals", request, context, title: "nav_appeals", [
            "rows": Array(rows.prefix(50)), "empty": rows.isEmpty,
            "statuses": AppealStatus.allCases.map { ["code": $0.rawValue, "name": Strings.text("status_\($0.rawValue)", language), "selected": $0.rawValue == f.status] },
            "categories": classifier.options(classifier.categories, selected: f.category, language: language),
            "topics": classifier.options(classifier.topics.filter { $0.parent == nil }, selected: f.topic, language: language),
            "regions": classifier.options(classifier.regions, selected: f.region, language: language),
            "q": f.search ?? "", "overdue": f.overdue, "operators": operatorOptions, "hasOperators": !operatorOptions.isEmpty, "fromValue": request.uri.queryParameters["from"].map(String.init).flatMap(DisplayTime.isoDay).map(DisplayTime.showDay) ?? "",
            "toValue": request.uri.queryParameters["to"].map(String.init).flatMap(DisplayTime.isoDay).map(DisplayTime.showDay) ?? "",
            "searchError": searchInvalid ? Strings.text("search_hint", language) : "",
            "prevLink": f.page > 1 ? base + "page=\(f.page - 1)" : "", "nextLink": rows.count > 50 ? base + "page=\(f.page + 1)" : "",
        ])
    }

    static func mask(_ phone: String?) -> String {
        guard let phone, phone.count > 6 else { return "" }
        return String(phone.prefix(6)) + String(repeating: "•", count: phone.count - 8) + String(phone.suffix(2))
    }

    func show(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        let ownOnly: Int64? = user.role == .operator ? user.id : nil
        var appeal: [String: Any]?
        var statusCode = ""
        for try await (number, status, source, name, phone, region, category, topic, text, answer, created, due, callId, createdBy,
                       official, registration, forwarded, delivery)
            in try await web.database.query("""
            SELECT a.number, a.status, a.source, a.citizen_name, a.phone,
                   coalesce(CASE WHEN \(language.rawValue) = 'ru' THEN r.name_ru ELSE r.name_uz END, ''),
                   CASE WHEN \(language.rawValue) = 'ru' THEN c.name_ru ELSE c.name_uz END,
                   coalesce(CASE WHEN \(language.rawValue) = 'ru' THEN t.name_ru ELSE t.name_uz END, ''), a.text, a.answer, a.created_at,
                   a.due_date::text, a.call_id::text, a.created_by, a.official_text, a.chancery_reg_number,
                   to_char(a.forwarded_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'),
                   (SELECT o.status || coalesce(' · ' || o.last_error, '') FROM outbox o WHERE o.appeal_id = a.id AND o.dedupe_key = 'appeal:' || a.id || ':chancery')
            FROM appeals a JOIN categories c ON c.code = a.category_code LEFT JOIN regions r ON r.code = a.region_code
                 LEFT JOIN topics t ON t.code = a.topic_code
            WHERE a.id = \(id) AND (\(ownOnly)::bigint IS NULL OR a.created_by = \(ownOnly))
            """, logger: web.logger).decode((String, String, String, String?, String?, String, String, String, String, String?, Date, String?, String?, Int64?,
                      String?, String?, String?, String?).self) {
            _ = createdBy
            statusCode = status
            let personal = Self.personalData.contains(user.role)
            appeal = [
                "id": id, "number": number, "status": Strings.text("status_\(status)", language), "source": Strings.text("source_\(source)", language),
                "name": personal ? (name ?? "—") : Strings.text("hidden", language), "phone": personal ? (phone ?? "—") : Self.mask(phone),
                "region": region, "category": category, "topic": topic, "text": text, "answer": answer ?? "", "created": DisplayTime.minute(created, web.configuration.timeZone),
                "due": due.map(DisplayTime.showDay) ?? "—", "callId": callId ?? "", "official": official ?? "", "registration": registration ?? "",
                "forwarded": forwarded ?? "", "delivery": delivery ?? "",
                "canForward": ["resolved", "unresolved", "disputed"].contains(status) && !(official ?? "").isEmpty,
                "canEditOfficial": !["forwarded", "answered", "closed"].contains(status),
                "canRegister": forwarded != nil,
            ]
        }
        guard var appeal else { throw HTTPError(.notFound) }
        if Self.personalData.contains(user.role) {
            try await audit.record(user, ip: context.remoteAddress, action: "appeal.view", objectType: "appeal", objectId: "\(id)")
        }
        var history: [[String: Any]] = []
        for try await (from, to, who, comment, at) in try await web.database.query("""
            SELECT h.from_status, h.to_status, u.full_name, h.comment, h.at FROM appeal_history h LEFT JOIN users u ON u.id = h.user_id
            WHERE h.appeal_id = \(id) ORDER BY h.at, h.id
            """, logger: web.logger).decode((String?, String, String?, String?, Date).self) {
            history.append(["from": from.map { Strings.text("status_\($0)", language) } ?? "", "to": Strings.text("status_\(to)", language),
                            "who": who ?? "—", "comment": comment ?? "", "at": DisplayTime.minute(at, web.configuration.timeZone)])
        }
        appeal["history"] = history
        var notifications: [[String: Any]] = []
        for try await (channel, key, state, error, text, sent, report) in try await web.database.query("""
            SELECT o.channel, coalesce(o.dedupe_key, ''), o.status, coalesce(o.last_error, ''), o.payload->>'text',
                   coalesce(to_char(o.sent_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'), ''),
                   (SELECT r.status FROM sms_delivery_reports r WHERE r.outbox_id = o.id ORDER BY r.id DESC LIMIT 1)
            FROM outbox o WHERE o.appeal_id = \(id) ORDER BY o.id
            """, logger: web.logger).decode((String, String, String, String, String?, String, String?).self) {
            var row: [String: Any] = ["channel": Strings.text("channel_\(channel)", language), "kind": Self.noticeKind(key, language),
                                      "state": Strings.text("outbox_\(state)", language), "error": error, "sent": sent]
            if let report { row["report"] = report }
            if channel == "sms", let text {
                let segments = SMSSegments(text)
                row["segments"] = "\(segments.segments) (\(segments.encoding.rawValue), \(segments.units))"
            }
            notifications.append(row)
        }
        appeal["notifications"] = notifications
        // Forwarding sends an e-mail: without one configured the button is not offered, and the page says what is missing.
        if appeal["canForward"] as? Bool == true, let missing = try await EditorController.chanceryMailMissing(web) {
            appeal["canForward"] = false
            appeal["forwardBlocked"] = Strings.text(missing, language)
            appeal["forwardBlockedSettings"] = user.role == .admin
        }
        appeal["letter"] = try await Self.letter(id, language, web)
        appeal["canSMS"] = EditorController.editors.contains(user.role)
        let canChange = Self.changers.contains(user.role)
        let next = AppealStatus(rawValue: statusCode)?.next ?? []
        // Forwarding goes through the editor's form: it needs the official text and writes the chancery e-mail.
        appeal["transitions"] = canChange ? AppealStatus.allCases.filter { next.contains($0) && $0 != .forwarded }.map { ["code": $0.rawValue, "name": Strings.text("status_\($0.rawValue)", language)] } : []
        appeal["canChange"] = canChange && !next.subtracting([.forwarded]).isEmpty
        appeal["isEditor"] = EditorController.editors.contains(user.role)
        appeal["canPrint"] = EditorController.printers.contains(user.role)
        // What was just done, said once after the redirect (only known actions: nothing typed into the address is shown).
        let saved = request.uri.queryParameters["saved"].map(String.init).flatMap { ["official", "registration", "status", "forward", "sms"].contains($0) ? $0 : nil }
        return pages.render("appeal", request, context, title: "appeal", ["appeal": appeal,
                            "error": request.uri.queryParameters["error"].map { Strings.text("err_appeal_\($0)", language) } ?? "",
                            "saved": saved.map { Strings.text("saved_\($0)", language) } ?? ""])
    }

    /// A written (paper) appeal registered by an editor.
    func newWritten(_ request: Request, _ context: AppRequestContext, draft: [String: String], errors: FieldErrors,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        return pages.render("appeal_new", request, context, title: "new_written", [
            "once": draft[FormOnce.field] ?? FormOnce.newKey(), "f": draft,
            "vias": AppealDraft.receivedVia.map { ["code": $0, "name": Strings.text("via_\($0)", language), "selected": draft["received_via"] == $0] },
            "langUz": draft["language"] != "ru", "langRu": draft["language"] == "ru", "errors": Pages.errors(errors, language), "hasErrors": !errors.isEmpty, "consentChecked": draft["consent"] != nil,
            "categories": classifier.options(classifier.categories, selected: draft["category"], language: language),
            "regions": classifier.options(classifier.regions, selected: draft["region"], language: language),
            "topics": classifier.options(classifier.topics.filter { $0.parent == nil }, selected: draft["topic"], language: language),
            "subtopics": classifier.options(classifier.topics.filter { $0.parent != nil }, selected: draft["subtopic"], language: language),
        ], status: status)
    }

    func saveWritten(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        var (draft, errors) = AppealDraft.from(form, source: "written", classifier: classifier, requireName: true, requireOutcome: false)
        if form["call_id"] != nil { errors.add("call_id", "bad_request") }
        guard errors.isEmpty else {
            return try await newWritten(request, context, draft: form.echo, errors: errors, status: .unprocessableContent)
        }
        draft.createdBy = user.id
        let created = try await AppealRepository(database: web.database, logger: web.logger, publicURL: web.configuration.publicURL)
            .create(draft, classifier: classifier, once: FormOnce.key(form))
        // Sent again (back and save, a double click): the appeal the first one made, nothing new.
        if created.repeated { return .seeOther("/appeals/\(created.id)") }
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.create", objectType: "appeal", objectId: "\(created.id)",
                               details: ["number": created.number, "source": "written"])
        return .seeOther("/appeals/\(created.id)")
    }

    /// A written appeal's letter in words: day of receipt, incoming number, how it arrived; nil for other appeals.
    static func letter(_ id: Int64, _ language: UILanguage, _ web: WebContext) async throws -> [String: Any]? {
        for try await (day, number, via) in try await web.database.query("""
            SELECT to_char(received_on, 'DD.MM.YYYY'), incoming_number, received_via FROM appeals WHERE id = \(id) AND received_on IS NOT NULL
            """, logger: web.logger).decode((String, String?, String?).self) {
            return ["received": day, "number": number ?? "—", "via": via.map { Strings.text("via_\($0)", language) } ?? "—"]
        }
        return nil
    }

    /// What an outbox row of an appeal is, from its key (`appeal:<id>:sms:registered`, `…:alert:disputed`, `…:chancery`).
    static func noticeKind(_ key: String, _ language: UILanguage) -> String {
        let parts = key.split(separator: ":").dropFirst(2).map(String.init)
        switch (parts.first, parts.dropFirst().first) {
        case ("chancery", _): return Strings.text("notice_chancery", language)
        case ("alert", let status?) where AppealStatus(rawValue: status) != nil:
            return Strings.text("notice_alert", language) + ": " + Strings.text("status_\(status)", language)
        case ("alert", _): return Strings.text("notice_alert", language)
        case ("sms", "registered"): return "SMS: " + Strings.text("notice_sms_registered", language)
        case ("sms", "manual"): return "SMS: " + Strings.text("notice_sms_manual", language)
        case ("sms", let status?) where AppealStatus(rawValue: status) != nil: return "SMS: " + Strings.text("status_\(status)", language)
        default: return Strings.text("notice_other", language)
        }
    }

    func changeStatus(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        let form = try await Form.read(request, context)
        guard let status = form["status"].flatMap(AppealStatus.init(rawValue:)) else { throw HTTPError(.badRequest, message: "err_choice") }
        guard status != .forwarded else { return .seeOther("/appeals/\(id)?error=forward") }
        let comment = form["comment"].map { String($0.prefix(1000)) }
        do {
            try await AppealRepository(database: web.database, logger: web.logger, publicURL: web.configuration.publicURL).transition(id, to: status, by: user.id, comment: comment)
        } catch AppealRepository.TransitionError.notFound {
            throw HTTPError(.notFound)
        } catch AppealRepository.TransitionError.notAllowed {
            return .seeOther("/appeals/\(id)?error=transition")
        }
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.status", objectType: "appeal", objectId: "\(id)", details: ["to": status.rawValue])
        return .seeOther("/appeals/\(id)?saved=status")
    }
}
