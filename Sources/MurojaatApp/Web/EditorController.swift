import Foundation
import Crypto
import Hummingbird
import Notifications
import PostgresNIO
import Storage

/// The editor's work on an appeal: the official wording, forwarding to the chancery (an e-mail row in
/// the outbox, written in the same transaction as the status change, so it is sent exactly once by the
/// notifications worker), the chancery's registration number, and a printable A4 document.
struct EditorController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    static let editors: Set<Role> = [.editor, .supervisor]
    static let printers: Set<Role> = [.editor, .supervisor, .dtm]

    func addRoutes(to router: Router<AppRequestContext>) {
        let edit = router.group("appeals").add(middleware: RequireRole(Self.editors))
        edit.post(":id/official") { request, context in try await saveOfficial(request, context) }
        edit.post(":id/forward") { request, context in try await forward(request, context) }
        edit.post(":id/chancery") { request, context in try await registration(request, context) }
        edit.post(":id/sms") { request, context in try await sendSMS(request, context) }
        router.group("appeals").add(middleware: RequireRole(Self.printers))
            .get(":id/print") { request, context in try await print(request, context) }
    }

    func id(_ context: AppRequestContext) throws -> Int64 {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        return id
    }

    func saveOfficial(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try id(context)
        let form = try await Form.read(request, context)
        guard let text = form["official_text"] else { return .seeOther("/appeals/\(id)?error=official") }
        guard text.count <= 10_000 else { throw HTTPError(.contentTooLarge) }
        let rows = try await web.database.query("""
            UPDATE appeals SET official_text = \(text), assigned_to = coalesce(assigned_to, \(user.id)), updated_at = now()
            WHERE id = \(id) AND status NOT IN ('forwarded', 'answered', 'closed') RETURNING id
            """, logger: web.logger)
        var updated = false
        for try await _ in rows.decode(Int64.self) { updated = true }
        guard updated else { return .seeOther("/appeals/\(id)?error=transition") }
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.official_text", objectType: "appeal", objectId: "\(id)")
        return .seeOther("/appeals/\(id)?saved=official")
    }

    /// What keeps a letter to the chancery from leaving (a strings-table key), or nil when it can go: an SMTP server and
    /// sender, and the chancery's address.
    static func chanceryMailMissing(_ web: WebContext) async throws -> String? {
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        if settings["smtp.host"] == nil || settings["smtp.from"] == nil { return "forward_no_smtp" }
        if settings["chancery.email"] == nil { return "forward_no_chancery" }
        return nil
    }

    /// Forwards to the chancery: status, history and the e-mail row in one transaction. The outbox key
    /// makes a second click (or a retried request) produce no second e-mail.
    func forward(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try id(context)
        let form = try await Form.read(request, context)
        let comment = form["comment"].map { String($0.prefix(1000)) }
        // Never "forwarded" while the letter cannot leave: refused, and the page says what is missing.
        if let missing = try await Self.chanceryMailMissing(web) { return .seeOther("/appeals/\(id)?error=\(missing)") }
        let base = web.configuration.publicURL
        let logger = web.logger
        do {
            try await web.database.transaction(logger: logger) { connection in
                var found: (String, String?, String, String?, String?)?
                for try await row in try await connection.query("""
                    SELECT a.number, a.official_text, a.text, a.citizen_name, a.phone FROM appeals a WHERE a.id = \(id) FOR UPDATE
                    """, logger: logger).decode((String, String?, String, String?, String?).self) { found = row }
                guard let (number, official, text, name, phone) = found else { throw AppealRepository.TransitionError.notFound }
                guard let official, !official.isEmpty else { throw AppealRepository.TransitionError.notAllowed }
                try await AppealRepository.move(id, to: .forwarded, by: user.id, comment: comment, publicURL: base, on: connection, logger: logger)
                let body = """
                    Murojaat / Обращение \(number)
                    \(name ?? "") \(phone ?? "")

                    \(official)

                    ---
                    \(text)

                    \(base)/appeals/\(id)
                    """
                // The address is taken when the e-mail is sent, so a chancery address set later still receives it.
                try await Outbox.enqueue(.email, key: "appeal:\(id):chancery",
                                         payload: OutboxPayload(toSetting: "chancery.email", subject: "Murojaat \(number)", text: body),
                                         appealID: id, on: connection, logger: logger)
            }
        } catch AppealRepository.TransitionError.notFound {
            throw HTTPError(.notFound)
        } catch AppealRepository.TransitionError.notAllowed {
            return .seeOther("/appeals/\(id)?error=forward")
        }
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.forward", objectType: "appeal", objectId: "\(id)")
        return .seeOther("/appeals/\(id)?saved=forward")
    }

    /// A message of the editor's to the citizen's mobile, through the outbox. The same text to the same
    /// appeal is one message, however often the button is pressed.
    func sendSMS(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try id(context)
        let form = try await Form.read(request, context)
        guard let text = form["sms_text"], SMSSegments(text).segments <= 6 else { return .seeOther("/appeals/\(id)?error=sms_text") }
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        var phone: String?
        var language = "uz"
        for try await (number, lang) in try await web.database.query("SELECT phone, language FROM appeals WHERE id = \(id)", logger: web.logger)
            .decode((String?, String).self) { phone = number.flatMap(PhoneNumber.mobile); language = lang }
        guard settings.smsEnabled, let phone else { return .seeOther("/appeals/\(id)?error=sms") }
        let digest = SHA256.hash(data: Array(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        try await Outbox.enqueue(.sms, key: "appeal:\(id):sms:manual:\(digest)", payload: OutboxPayload(text: text, phone: phone, language: language),
                                 appealID: id, database: web.database, logger: web.logger)
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.sms", objectType: "appeal", objectId: "\(id)")
        return .seeOther("/appeals/\(id)?saved=sms")
    }

    func registration(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try id(context)
        let form = try await Form.read(request, context)
        guard let number = form["chancery_reg_number"], number.count <= 64,
              number.allSatisfy({ $0.isLetter || $0.isNumber || "-/ .№".contains($0) }) else {
            return .seeOther("/appeals/\(id)?error=registration")
        }
        try await web.database.query("UPDATE appeals SET chancery_reg_number = \(number), updated_at = now() WHERE id = \(id) AND forwarded_at IS NOT NULL",
                                     logger: web.logger)
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.chancery_number", objectType: "appeal", objectId: "\(id)",
                               details: ["number": number])
        return .seeOther("/appeals/\(id)?saved=registration")
    }

    /// The appeal as an official A4 document; the browser prints it.
    func print(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try id(context)
        let language = Pages.language(request, context)
        var document: [String: Any]?
        for try await (number, created, name, phone, region, category, topic, text, official, answer, reg, status)
            in try await web.database.query("""
            SELECT a.number, to_char(a.created_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'), a.citizen_name, a.phone,
                   coalesce(CASE WHEN \(language.rawValue) = 'ru' THEN r.name_ru ELSE r.name_uz END, ''),
                   CASE WHEN \(language.rawValue) = 'ru' THEN c.name_ru ELSE c.name_uz END,
                   coalesce(CASE WHEN \(language.rawValue) = 'ru' THEN t.name_ru ELSE t.name_uz END, ''),
                   a.text, a.official_text, a.answer, a.chancery_reg_number, a.status
            FROM appeals a JOIN categories c ON c.code = a.category_code LEFT JOIN regions r ON r.code = a.region_code
                 LEFT JOIN topics t ON t.code = a.topic_code WHERE a.id = \(id)
            """, logger: web.logger).decode((String, String, String?, String?, String, String, String, String, String?, String?, String?, String).self) {
            document = ["id": id, "number": number, "created": created, "name": name ?? "—", "phone": phone ?? "—", "region": region,
                        "category": category, "topic": topic, "text": official ?? text, "answer": answer ?? "", "reg": reg ?? "",
                        "status": Strings.text("status_\(status)", language)]
        }
        guard var document else { throw HTTPError(.notFound) }
        document["letter"] = try await AppealsController.letter(id, language, web)
        try await audit.record(user, ip: context.remoteAddress, action: "appeal.print", objectType: "appeal", objectId: "\(id)")
        return pages.render("print", request, context, title: "appeal", ["doc": document])
    }
}
