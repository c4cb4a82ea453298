import Foundation
import Hummingbird
import PostgresNIO
import Storage

/// Editors and supervisors keep the knowledge base (FAQ answers and call scripts, each edit keeps the
/// previous version) and the topic classifier (both languages; every change is in the audit log with
/// what it was before).
struct KnowledgeController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    static let keepers: Set<Role> = [.editor, .supervisor]

    func addRoutes(to router: Router<AppRequestContext>) {
        let kb = router.group("kb").add(middleware: RequireRole(Self.keepers))
        kb.get { request, context in try await list(request, context, errors: FieldErrors(), form: [:]) }
        kb.post { request, context in try await save(request, context) }
        kb.get(":id/history") { request, context in try await history(request, context) }
        let classifier = router.group("classifier").add(middleware: RequireRole(Self.keepers))
        classifier.get { request, context in try await topics(request, context, errors: FieldErrors(), form: [:]) }
        classifier.post { request, context in try await saveTopic(request, context) }
    }

    // MARK: knowledge base

    func list(_ request: Request, _ context: AppRequestContext, errors: FieldErrors, form: [String: String],
              status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        var rows: [[String: Any]] = []
        for try await (id, topic, kind, lang, title, version, active) in try await web.database.query("""
            SELECT id, topic_code, kind, language, title, version, active FROM kb_articles ORDER BY topic_code NULLS FIRST, kind, language, title
            """, logger: web.logger).decode((Int64, String?, String, String, String, Int, Bool).self) {
            let topicName = topic.flatMap { code in classifier.topics.first { $0.code == code } }.map { classifier.name($0, language) } ?? "—"
            rows.append(["id": id, "topic": topicName, "kind": Strings.text("kb_\(kind)", language), "language": Strings.text("lang_\(lang)", language),
                         "title": title, "version": version, "active": active])
        }
        var editing = form
        if editing.isEmpty, let id = request.uri.queryParameters["edit"].flatMap({ Int64(String($0)) }) {
            for try await (topic, kind, lang, title, body) in try await web.database.query(
                "SELECT topic_code, kind, language, title, body FROM kb_articles WHERE id = \(id)", logger: web.logger
            ).decode((String?, String, String, String, String).self) {
                editing = ["id": "\(id)", "topic": topic ?? "", "kind": kind, "language": lang, "title": title, "body": body]
            }
        }
        return pages.render("kb", request, context, title: "kb", [
            "rows": rows, "f": editing, "errors": Pages.errors(errors, language), "hasErrors": !errors.isEmpty,
            "topics": classifier.options(classifier.topics, selected: editing["topic"], language: language),
            "isFaq": editing["kind"] != "script", "isScript": editing["kind"] == "script",
            "isUz": editing["language"] != "ru", "isRu": editing["language"] == "ru",
        ], status: status)
    }

    func save(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        var errors = FieldErrors()
        let id = form["id"].flatMap(Int64.init)
        if form["id"] != nil && id == nil { errors.add("id", "bad_request") }
        let topic = form["topic"]
        if let topic, !classifier.topics.contains(where: { $0.code == topic }) { errors.add("topic", "err_choice") }
        let kind = form["kind"] ?? ""
        if !["faq", "script"].contains(kind) { errors.add("kind", "err_choice") }
        let language = form["language"] ?? ""
        if UILanguage(rawValue: language) == nil { errors.add("language", "err_choice") }
        let title = form["title"] ?? ""
        if title.isEmpty { errors.add("title", "err_required") } else if title.count > 200 { errors.add("title", "err_too_long") }
        let body = form["body"] ?? ""
        if body.isEmpty { errors.add("body", "err_required") } else if body.count > 20_000 { errors.add("body", "err_too_long") }
        let active = form["active"] != nil || id == nil
        guard errors.isEmpty else {
            return try await list(request, context, errors: errors, form: form.echo, status: .unprocessableContent)
        }
        let logger = web.logger
        if let id {
            try await web.database.transaction(logger: logger) { connection in
                // The version being replaced goes to the history first.
                var copied = false
                for try await _ in try await connection.query("""
                    INSERT INTO kb_article_history (article_id, version, topic_code, kind, language, title, body, changed_by)
                    SELECT id, version, topic_code, kind, language, title, body, \(user.id) FROM kb_articles WHERE id = \(id) FOR UPDATE
                    RETURNING id
                    """, logger: logger).decode(Int64.self) { copied = true }
                guard copied else { throw HTTPError(.notFound) }
                try await connection.query("""
                    UPDATE kb_articles SET topic_code = \(topic), kind = \(kind), language = \(language), title = \(title), body = \(body),
                           active = \(active), version = version + 1, updated_by = \(user.id), updated_at = now()
                    WHERE id = \(id)
                    """, logger: logger)
            }
            try await audit.record(user, ip: context.remoteAddress, action: "kb.edit", objectType: "kb_article", objectId: "\(id)")
        } else {
            var created: Int64 = 0
            for try await value in try await web.database.query("""
                INSERT INTO kb_articles (topic_code, kind, language, title, body, updated_by) VALUES (\(topic), \(kind), \(language), \(title), \(body), \(user.id))
                RETURNING id
                """, logger: logger).decode(Int64.self) { created = value }
            try await audit.record(user, ip: context.remoteAddress, action: "kb.create", objectType: "kb_article", objectId: "\(created)")
        }
        return .seeOther("/kb")
    }

    func history(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        var versions: [[String: Any]] = []
        for try await (version, title, body, who, at) in try await web.database.query("""
            SELECT h.version, h.title, h.body, u.full_name, to_char(h.changed_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI')
            FROM kb_article_history h LEFT JOIN users u ON u.id = h.changed_by WHERE h.article_id = \(id) ORDER BY h.version DESC
            """, logger: web.logger).decode((Int, String, String, String?, String).self) {
            versions.append(["version": version, "title": title, "body": body, "who": who ?? "—", "at": at])
        }
        return pages.render("kb_history", request, context, title: "history", ["versions": versions, "empty": versions.isEmpty])
    }

    // MARK: classifier

    func topics(_ request: Request, _ context: AppRequestContext, errors: FieldErrors, form: [String: String],
                status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        var rows: [[String: Any]] = []
        for try await (code, parent, uz, ru, active) in try await web.database.query("""
            SELECT code, parent_code, name_uz, name_ru, active FROM topics ORDER BY coalesce(parent_code, code), parent_code NULLS FIRST, sort, code
            """, logger: web.logger).decode((String, String?, String, String, Bool).self) {
            rows.append(["code": code, "parent": parent ?? "", "sub": parent != nil, "uz": uz, "ru": ru, "active": active])
        }
        var changes: [[String: Any]] = []
        for try await (at, who, object, details) in try await web.database.query("""
            SELECT to_char(a.at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'), u.full_name, a.object_id, a.details::text
            FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE a.object_type = 'topic' ORDER BY a.at DESC LIMIT 50
            """, logger: web.logger).decode((String, String?, String?, String).self) {
            changes.append(["at": at, "who": who ?? "—", "code": object ?? "", "details": details])
        }
        let parents = rows.filter { ($0["sub"] as? Bool) == false }.map { ["code": $0["code"]!, "name": (language == .ru ? $0["ru"] : $0["uz"])!] }
        return pages.render("classifier", request, context, title: "topic", [
            "rows": rows, "parents": parents, "changes": changes, "f": form, "errors": Pages.errors(errors, language), "hasErrors": !errors.isEmpty,
        ], status: status)
    }

    /// Adds a topic or subtopic, or renames / (de)activates one; codes never change (calls and appeals refer to them).
    func saveTopic(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        var errors = FieldErrors()
        let code = form["code"] ?? ""
        let parent = form["parent"]
        if code.isEmpty || code.count > 64 || code.range(of: #"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"#, options: .regularExpression) == nil {
            errors.add("code", "err_choice")
        }
        if let parent, !code.hasPrefix(parent + ".") { errors.add("code", "err_choice") }
        let uz = form["name_uz"] ?? "", ru = form["name_ru"] ?? ""
        if uz.isEmpty { errors.add("name_uz", "err_required") } else if uz.count > 200 { errors.add("name_uz", "err_too_long") }
        if ru.isEmpty { errors.add("name_ru", "err_required") } else if ru.count > 200 { errors.add("name_ru", "err_too_long") }
        let active = form["active"] != nil
        guard errors.isEmpty else {
            return try await topics(request, context, errors: errors, form: form.echo, status: .unprocessableContent)
        }
        var before: [String: String] = [:]
        for try await (oldUz, oldRu, oldActive) in try await web.database.query(
            "SELECT name_uz, name_ru, active FROM topics WHERE code = \(code)", logger: web.logger
        ).decode((String, String, Bool).self) {
            before = ["name_uz": oldUz, "name_ru": oldRu, "active": "\(oldActive)"]
        }
        do {
            try await web.database.query("""
                INSERT INTO topics (code, parent_code, name_uz, name_ru, active) VALUES (\(code), \(parent), \(uz), \(ru), \(active))
                ON CONFLICT (code) DO UPDATE SET name_uz = EXCLUDED.name_uz, name_ru = EXCLUDED.name_ru, active = EXCLUDED.active
                """, logger: web.logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
            errors.add("parent", "err_choice")
            return try await topics(request, context, errors: errors, form: form.fields, status: .unprocessableContent)
        }
        var details = ["name_uz": uz, "name_ru": ru, "active": "\(active)"]
        for (key, value) in before { details["was_" + key] = value }
        try await audit.record(user, ip: context.remoteAddress, action: before.isEmpty ? "topic.create" : "topic.edit",
                               objectType: "topic", objectId: code, details: details)
        return .seeOther("/classifier")
    }
}
