import AsyncHTTPClient
import Foundation
import Hummingbird
import Notifications
import PostgresNIO

/// Admins: the notification settings (mail server, the Center's addresses, Telegram, SMS provider) with a
/// "send a test message" button per channel that shows what the server answered; the outbox with failed
/// messages and a retry button.
struct SettingsController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    func addRoutes(to router: Router<AppRequestContext>) {
        let admin = router.group("admin").add(middleware: RequireRole(.admin))
        admin.get("settings") { request, context in try await page(request, context) }
        admin.post("settings") { request, context in try await save(request, context) }
        admin.post("settings/test") { request, context in try await test(request, context) }
        admin.get("outbox") { request, context in try await outbox(request, context) }
        admin.post("outbox/:id/retry") { request, context in try await retry(request, context) }
    }

    func page(_ request: Request, _ context: AppRequestContext, errors: FieldErrors = FieldErrors(), typed: [String: String]? = nil,
              result: (ok: Bool, text: String)? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        let messages = Pages.errors(errors, language)
        let fields: [[String: Any]] = NotificationSettings.fields.map { field in
            let current = settings.values[field.key] ?? NotificationSettings.defaults[field.key] ?? ""
            var row: [String: Any] = ["key": field.key, "label": Strings.text("setting_\(field.key)", language), "secret": field.secret,
                                      "isSet": !current.isEmpty]
            if let error = messages[field.key] as? String { row["error"] = error }
            if case .choice(let options) = field.kind {
                let chosen = typed?[field.key] ?? current
                row["options"] = options.map { ["value": $0, "label": Strings.text("choice_\($0)", language), "selected": $0 == chosen] }
                row["isChoice"] = true
            } else {
                row["value"] = field.secret ? "" : (typed?[field.key] ?? current)
            }
            return row
        }
        // Grouped by channel, each group with its own test buttons beside it.
        func group(_ key: String) -> String {
            if key.hasPrefix("smtp.") || key.hasSuffix(".email") && !key.hasPrefix("eskiz.") { return "mail" }
            if key.hasPrefix("telegram.") { return "telegram" }
            if key.hasPrefix("sms.") || key.hasPrefix("eskiz.") || key.hasPrefix("playmobile.") { return "sms" }
            return "other"
        }
        let tests: [String: [String]] = ["mail": ["email", "chancery", "report"], "telegram": ["telegram"], "sms": ["sms"], "other": []]
        let groups: [[String: Any]] = ["mail", "telegram", "sms", "other"].map { name in
            ["name": name, "title": Strings.text("settings_group_\(name)", language),
             "fields": fields.filter { group($0["key"] as! String) == name },
             "hasTests": !(tests[name] ?? []).isEmpty,
             "tests": (tests[name] ?? []).map { ["channel": $0, "label": Strings.text("test_\($0)", language), "phone": $0 == "sms"] }]
        }
        let secret = settings["sms.callback_secret"] ?? ""
        var values: [String: Any] = ["fields": fields, "groups": groups, "hasErrors": !errors.isEmpty,
                                     "callbackEskiz": secret.isEmpty ? "" : "\(web.configuration.publicURL)/sms/reports/eskiz?key=\(secret)",
                                     "callbackPlayMobile": secret.isEmpty ? "" : "\(web.configuration.publicURL)/sms/reports/playmobile?key=\(secret)",
                                     "saved": request.uri.queryParameters["saved"] != nil]
        if let result { values["result"] = ["ok": result.ok, "text": result.text] }
        return pages.render("settings", request, context, title: "nav_settings", values, status: status)
    }

    func save(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        var errors = FieldErrors()
        var updates: [(String, String)] = []
        for field in NotificationSettings.fields {
            let value = form.fields[field.key] ?? ""
            if field.secret && value.isEmpty && form.fields["clear." + field.key] == nil { continue }   // blank keeps the secret
            if let problem = NotificationSettings.problem(field, value) { errors.add(field.key, problem); continue }
            let stored: String
            switch field.kind {
            case .email: stored = value.isEmpty ? "" : (EmailAddress.normalise(value) ?? value)
            default: stored = value
            }
            updates.append((field.key, stored))
        }
        guard errors.isEmpty else {
            return try await page(request, context, errors: errors, typed: form.echo, status: .unprocessableContent)
        }
        let logger = web.logger
        let userID = user.id
        var changed: [String] = []
        try await web.database.transaction(logger: logger) { connection in
            for (key, value) in updates {
                for try await _ in try await connection.query("""
                    INSERT INTO settings (key, value, updated_by, updated_at) VALUES (\(key), to_jsonb(\(value)::text), \(userID), now())
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = now()
                    WHERE settings.value IS DISTINCT FROM excluded.value
                    RETURNING key
                    """, logger: logger).decode(String.self) { changed.append(key) }
            }
        }
        if !changed.isEmpty {
            // Which settings changed, never their values: some are passwords.
            try await audit.record(user, ip: context.remoteAddress, action: "settings.update", objectType: "settings",
                                   details: ["keys": changed.joined(separator: ",")])
        }
        return .seeOther("/admin/settings?saved=1")
    }

    /// Sends one message now, without the outbox, and shows what the server answered.
    func test(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        let language = Pages.language(request, context)
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        let deliverer = Deliverer(configuration: web.configuration.notifications, http: HTTPClient.shared)
        let channel = form["channel"] ?? ""
        let note = language == .ru ? "Проверочное сообщение Murojaat" : "Murojaat sinov xabari"
        let result: Deliverer.Result
        switch channel {
        case "email", "chancery", "report":
            let setting = ["email": "alerts.email", "chancery": "chancery.email", "report": "report.email"][channel]!
            result = await deliverer.deliver(.email, OutboxPayload(toSetting: setting, subject: note, text: "\(note) (\(setting))\n\(web.configuration.publicURL)/"),
                                             reference: "test", settings: settings)
        case "telegram":
            result = await deliverer.deliver(.telegram, OutboxPayload(text: "<b>\(TelegramClient.escape(note))</b>"), reference: "test", settings: settings)
        case "sms":
            guard let phone = form["phone"].flatMap(PhoneNumber.mobile) else {
                var errors = FieldErrors()
                errors.add("test_phone", "err_mobile")
                return try await page(request, context, errors: errors, result: (false, Strings.text("err_mobile", language)), status: .unprocessableContent)
            }
            result = await deliverer.deliver(.sms, OutboxPayload(text: note, phone: phone), reference: "murojaat-test-\(Int(Date().timeIntervalSince1970))",
                                             settings: settings)
        default:
            throw HTTPError(.badRequest)
        }
        let shown: (Bool, String)
        switch result {
        case .sent(let id): shown = (true, Strings.text("test_sent", language) + " " + id)
        case .rateLimited(let seconds): shown = (false, Strings.text("test_rate_limited", language).replacingOccurrences(of: "{seconds}", with: "\(seconds)"))
        case .migrated(let chat): shown = (false, Strings.text("test_migrated", language).replacingOccurrences(of: "{chat}", with: "\(chat)"))
        // The server's own words stay as they are (they name the fault); the page puts ours before them.
        case .failed(let error, _): shown = (false, error)
        }
        try await audit.record(user, ip: context.remoteAddress, action: "settings.test", objectType: "channel", objectId: channel,
                               details: ["ok": shown.0 ? "yes" : "no"])
        return try await page(request, context, result: shown)
    }

    func outbox(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = Pages.language(request, context)
        // The first tab is what is waiting to go; failures next.
        let wanted = request.uri.queryParameters["status"].map(String.init) ?? "pending"
        let status = ["pending", "failed", "sending", "sent", "all"].contains(wanted) ? wanted : "pending"
        var rows: [[String: Any]] = []
        for try await (id, channel, key, rowStatus, attempts, error, created, sent, appeal, text) in try await web.database.query("""
            SELECT id, channel, coalesce(dedupe_key, ''), status, attempts, coalesce(last_error, ''),
                   to_char(created_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI:SS'),
                   coalesce(to_char(sent_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI:SS'), ''), appeal_id, payload->>'text'
            FROM outbox WHERE (\(status) = 'all' OR status = \(status)) ORDER BY id DESC LIMIT 200
            """, logger: web.logger).decode((Int64, String, String, String, Int, String, String, String, Int64?, String?).self) {
            var row: [String: Any] = ["id": id, "channel": Strings.text("channel_\(channel)", language), "key": key, "status": Strings.text("outbox_\(rowStatus)", language),
                                      "attempts": attempts, "error": error, "created": created,
                                      "canRetry": rowStatus == "failed"]
            if let appeal { row["appeal"] = appeal }
            if !sent.isEmpty { row["sent"] = sent }
            if channel == "sms", let text {
                let segments = SMSSegments(text)
                row["segments"] = "\(segments.segments) × \(segments.encoding.rawValue)"
            }
            rows.append(row)
        }
        var counts: [String: Int] = [:]
        for try await (rowStatus, count) in try await web.database.query("SELECT status, count(*) FROM outbox GROUP BY status", logger: web.logger)
            .decode((String, Int).self) { counts[rowStatus] = count }
        let filters = ["pending", "failed", "sending", "sent", "all"].map { code in
            ["code": code, "name": Strings.text("outbox_\(code)", language), "count": code == "all" ? counts.values.reduce(0, +) : counts[code] ?? 0,
             "selected": code == status] as [String: Any]
        }
        return pages.render("outbox", request, context, title: "nav_outbox", ["rows": rows, "filters": filters, "empty": rows.isEmpty])
    }

    func retry(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        _ = try await Form.read(request, context)
        var retried = false
        for try await _ in try await web.database.query("""
            UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL
            WHERE id = \(id) AND status = 'failed' RETURNING id
            """, logger: web.logger).decode(Int64.self) { retried = true }
        guard retried else { return .seeOther("/admin/outbox?status=failed") }
        try await audit.record(user, ip: context.remoteAddress, action: "outbox.retry", objectType: "outbox", objectId: "\(id)")
        return .seeOther("/admin/outbox?status=pending")
    }
}

/// Delivery reports from the SMS providers. The URL carries a secret (`?key=`, shown on the settings
/// page) since the providers cannot sign in; a wrong key is answered like an unknown page.
struct SMSReportsController: Sendable {
    let web: WebContext

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("sms/reports/:provider") { request, context in try await receive(request, context) }
    }

    func receive(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let provider = context.parameters.get("provider"), ["eskiz", "playmobile"].contains(provider) else { throw HTTPError(.notFound) }
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        guard let secret = settings["sms.callback_secret"], let key = request.uri.queryParameters["key"].map(String.init),
              constantTimeEquals(secret, key) else { throw HTTPError(.notFound) }
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: 16 * 1024) } catch { throw HTTPError(.contentTooLarge) }
        let reports = Self.parse(body, contentType: request.headers[.contentType] ?? "")
        guard !reports.isEmpty else { throw HTTPError(.badRequest, message: "no delivery report in the body") }
        for fields in reports {
            let messageID = fields["message_id"] ?? fields["message-id"] ?? fields["id"]
            let status = fields["status"] ?? ""
            guard let messageID, !messageID.isEmpty, messageID.count <= 100, !status.isEmpty, status.count <= 40 else {
                throw HTTPError(.badRequest, message: "message id and status are required")
            }
            let phone = (fields["phone_number"] ?? fields["recipient"]).map { String($0.prefix(20)) }
            let statusAt = (fields["status_date"] ?? fields["delivered-date"]).map { String($0.prefix(40)) }
            let raw = String(decoding: try JSONEncoder().encode(fields.mapValues { String($0.prefix(200)) }), as: UTF8.self)
            try await web.database.query("""
                INSERT INTO sms_delivery_reports (outbox_id, provider, provider_message_id, phone, status, status_at, raw)
                VALUES ((SELECT id FROM outbox WHERE channel = 'sms' AND provider_message_id = \(messageID) ORDER BY id DESC LIMIT 1),
                        \(provider), \(messageID), \(phone), \(status.uppercased()),
                        CASE WHEN \(statusAt) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?' THEN \(statusAt)::timestamptz END,
                        \(raw)::jsonb)
                """, logger: web.logger)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
    }

    /// Form (urlencoded or multipart) or JSON — a single report, or Play Mobile's `{"messages": [...]}`.
    static func parse(_ body: ByteBuffer, contentType: String) -> [[String: String]] {
        let text = String(buffer: body)
        let type = contentType.lowercased()
        if type.hasPrefix("application/json") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return [] }
            func flat(_ value: Any) -> [String: String]? {
                guard let dictionary = value as? [String: Any] else { return nil }
                var out: [String: String] = [:]
                for (key, value) in dictionary where key.count <= 64 {
                    if let string = value as? String { out[key] = string } else if let number = value as? NSNumber { out[key] = number.stringValue }
                }
                return out
            }
            if let dictionary = object as? [String: Any], let messages = dictionary["messages"] as? [Any] { return messages.prefix(100).compactMap(flat) }
            if let array = object as? [Any] { return array.prefix(100).compactMap(flat) }
            return flat(object).map { [$0] } ?? []
        }
        if type.hasPrefix("multipart/form-data"), let range = type.range(of: "boundary=") {
            let boundary = String(contentType[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
            var fields: [String: String] = [:]
            for part in text.components(separatedBy: "--" + boundary) {
                guard let split = part.range(of: "\r\n\r\n"),
                      let name = part[..<split.lowerBound].range(of: #"name="([^"]{1,64})""#, options: .regularExpression) else { continue }
                let key = String(part[name].dropFirst(6).dropLast())
                var value = String(part[split.upperBound...])
                if value.hasSuffix("\r\n") { value.removeLast() }  // "\r\n" is one Character
                fields[key] = value
            }
            return fields.isEmpty ? [] : [fields]
        }
        let fields = Form.parse(text)
        return fields.isEmpty ? [] : [fields]
    }
}
