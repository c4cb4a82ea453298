import Foundation
import Hummingbird
import PostgresNIO

/// Admins: staff accounts with roles, operators' extensions and language skills, teams; the audit log.
struct AdminController: Sendable {
    let web: WebContext
    let accounts: Accounts
    let audit: AuditLog
    let pages: Pages

    func addRoutes(to router: Router<AppRequestContext>) {
        let admin = router.group("admin").add(middleware: RequireRole(.admin))
        admin.get("users") { request, context in try await users(request, context, errors: FieldErrors(), form: nil) }
        admin.post("users") { request, context in try await addUser(request, context) }
        admin.post("users/:id/active") { request, context in try await setActive(request, context) }
        admin.post("users/:id/operator") { request, context in try await updateOperator(request, context) }
        admin.post("teams") { request, context in try await saveTeam(request, context) }
        admin.get("audit") { request, context in try await auditLog(request, context) }
    }

    func users(_ request: Request, _ context: AppRequestContext, errors: FieldErrors, form: Form?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        var rows: [[String: Any]] = []
        for try await (id, login, name, role, active, ext, uz, ru, team, teamId) in try await web.database.query("""
            SELECT u.id, u.login, u.full_name, u.role, u.active, o.extension, o.skill_uz, o.skill_ru, t.name, u.team_id
            FROM users u LEFT JOIN operators o ON o.user_id = u.id LEFT JOIN teams t ON t.id = u.team_id
            ORDER BY u.role, u.login
            """, logger: web.logger).decode((Int64, String, String, String, Bool, String?, Bool?, Bool?, String?, Int64?).self) {
            let skills = [(uz ?? false) ? "uz" : nil, (ru ?? false) ? "ru" : nil].compactMap { $0 }.joined(separator: ", ")
            rows.append(["id": id, "login": login, "name": name, "role": Strings.text("role_\(role)", language), "active": active,
                         "extension": ext ?? "", "skills": skills, "team": team ?? "", "teamId": teamId.map(String.init) ?? "",
                         "isOperator": ext != nil, "skillUz": uz ?? false, "skillRu": ru ?? false])
        }
        var teams: [[String: Any]] = []
        for try await (id, name, operators, lead) in try await web.database.query("""
            SELECT t.id, t.name, count(u.id) FILTER (WHERE u.role = 'operator' AND u.active),
                   (t.supervisor_id IS NOT NULL OR t.editor_id IS NOT NULL)
            FROM teams t LEFT JOIN users u ON u.team_id = t.id GROUP BY t.id ORDER BY t.name
            """, logger: web.logger).decode((Int64, String, Int, Bool).self) {
            teams.append(["id": id, "name": name, "operators": operators, "flag": operators > 20 && !lead])
        }
        rows = rows.map { row in
            var row = row
            let current = row["teamId"] as? String
            row["teamOptions"] = teams.map { ["id": $0["id"]!, "name": $0["name"]!, "selected": "\($0["id"]!)" == current] }
            return row
        }
        var supervisors: [[String: Any]] = [], editors: [[String: Any]] = []
        for try await (id, name, role) in try await web.database.query(
            "SELECT id, full_name, role FROM users WHERE role IN ('supervisor', 'editor') AND active ORDER BY full_name", logger: web.logger
        ).decode((Int64, String, String).self) {
            if role == "supervisor" { supervisors.append(["id": id, "name": name]) } else { editors.append(["id": id, "name": name]) }
        }
        let roles = Role.allCases.map { ["code": $0.rawValue, "name": Strings.text("role_\($0.rawValue)", language), "selected": form?["role"] == $0.rawValue] }
        return pages.render("admin_users", request, context, title: "nav_users", [
            "rows": rows, "teams": teams, "roles": roles, "errors": Pages.errors(errors, language), "hasErrors": !errors.isEmpty,
            "form": form?.fields ?? [:], "supervisors": supervisors, "editors": editors,
            "once": form.flatMap(FormOnce.key) ?? FormOnce.newKey(), "created": try await createdLogin(request),
            "error": request.uri.queryParameters["error"].map { Strings.text("err_admin_\($0)", language) } ?? "",
        ], status: status)
    }

    /// The login of the user `?created=<key>` names (the page a user creation redirects to).
    func createdLogin(_ request: Request) async throws -> String {
        guard let raw = request.uri.queryParameters["created"].map(String.init), let key = FormOnce.valid(raw),
              let (_, login) = try await FormOnce.result(key, kind: "user", database: web.database, logger: web.logger) else { return "" }
        return login
    }

    func addUser(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context)
        // Sent again (a refresh, back and save, a double click): the user the first submission made, nothing new.
        let once = FormOnce.key(form) ?? FormOnce.newKey()
        if try await FormOnce.result(once, kind: "user", database: web.database, logger: web.logger) != nil {
            return .seeOther("/admin/users?created=\(once)")
        }
        var errors = FieldErrors()
        let login = form["login"] ?? ""
        if !Accounts.validLogin(login) { errors.add("login", "err_login") }
        let name = form["full_name"] ?? ""
        if name.isEmpty { errors.add("full_name", "err_required") } else if name.count > 120 { errors.add("full_name", "err_too_long") }
        let role = form["role"].flatMap(Role.init(rawValue:))
        if role == nil { errors.add("role", "err_choice") }
        let password = form.fields["password"] ?? ""
        if !Accounts.validPassword(password) { errors.add("password", "err_password") }
        let ext = form["extension"]
        if role == .operator {
            if let ext, ext.count >= 2, ext.count <= 6, ext.allSatisfy(\.isNumber) {} else { errors.add("extension", "err_extension") }
        }
        let skillUz = form["skill_uz"] != nil, skillRu = form["skill_ru"] != nil
        guard errors.isEmpty, let role else { return try await users(request, context, errors: errors, form: form, status: .badRequest) }
        // The key is taken first: a concurrent duplicate waits here for the first to finish, then goes to its result.
        guard try await claimUserKey(once) else {
            for _ in 0..<50 {
                if try await FormOnce.result(once, kind: "user", database: web.database, logger: web.logger) != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return .seeOther("/admin/users?created=\(once)")
        }
        do {
            let accounts = accounts
            let userId = try await accounts.createUser(login: login, fullName: name, role: role, password: password)
            if role == .operator, let ext {
                do {
                    try await web.database.query("""
                        INSERT INTO operators (user_id, extension, endpoint, skill_uz, skill_ru)
                        VALUES (\(userId), \(ext), \(web.configuration.callFlow.operatorEndpointTemplate.replacingOccurrences(of: "{extension}", with: ext)),
                                \(skillUz || !skillRu), \(skillRu))
                        """, logger: web.logger)
                } catch {
                    try await web.database.query("DELETE FROM users WHERE id = \(userId)", logger: web.logger)
                    try await releaseUserKey(once)
                    errors.add("extension", "err_extension")
                    return try await self.users(request, context, errors: errors, form: form, status: .badRequest)
                }
            }
            try await web.database.withConnection { connection in
                try await FormOnce.complete(once, objectId: userId, label: login, on: connection, logger: web.logger)
            }
            let admin = try context.requireUser()
            try await audit.record(admin, ip: context.remoteAddress, action: "user.create", objectType: "user", objectId: "\(userId)",
                                   details: ["login": login, "role": role.rawValue])
        } catch Accounts.AccountError.loginTaken {
            try await releaseUserKey(once)
            errors.add("login", "err_login_taken")
            return try await users(request, context, errors: errors, form: form, status: .badRequest)
        } catch {
            try? await releaseUserKey(once)
            throw error
        }
        return .seeOther("/admin/users?created=\(once)")
    }

    func claimUserKey(_ key: String) async throws -> Bool {
        try await web.database.withConnection { connection in
            if case .claimed = try await FormOnce.claim(key, kind: "user", on: connection, logger: web.logger) { return true }
            return false
        }
    }

    /// A creation that failed gives its key back, so the corrected form can be sent with it.
    func releaseUserKey(_ key: String) async throws {
        try await web.database.query("DELETE FROM form_submissions WHERE key = \(key) AND object_id IS NULL", logger: web.logger)
    }

    /// An operator's extension, language skills and team. The call flow picks the change up on its next
    /// operator sync.
    func updateOperator(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.badRequest) }
        let form = try await Form.read(request, context)
        let admin = try context.requireUser()
        guard let ext = form["extension"], (2...6).contains(ext.count), ext.allSatisfy(\.isNumber) else {
            return .seeOther("/admin/users?error=extension")
        }
        let uz = form["skill_uz"] != nil, ru = form["skill_ru"] != nil
        guard uz || ru else { return .seeOther("/admin/users?error=skills") }
        let team = form["team"].flatMap(Int64.init)
        let endpoint = web.configuration.callFlow.operatorEndpointTemplate.replacingOccurrences(of: "{extension}", with: ext)
        do {
            try await web.database.withTransaction(logger: web.logger) { connection in
                try await connection.query("""
                    UPDATE operators SET extension = \(ext), endpoint = \(endpoint), skill_uz = \(uz), skill_ru = \(ru) WHERE user_id = \(id)
                    """, logger: web.logger)
                try await connection.query("UPDATE users SET team_id = \(team) WHERE id = \(id)", logger: web.logger)
            }
        } catch {
            return .seeOther("/admin/users?error=extension")
        }
        try await audit.record(admin, ip: context.remoteAddress, action: "operator.update", objectType: "user", objectId: "\(id)",
                               details: ["extension": ext, "uz": "\(uz)", "ru": "\(ru)", "team": team.map(String.init) ?? ""])
        return .seeOther("/admin/users")
    }

    /// Creates a team, or sets its supervisor and editor.
    func saveTeam(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context)
        let admin = try context.requireUser()
        guard let name = form["name"], name.count <= 80 else { return .seeOther("/admin/users?error=team") }
        let supervisor = form["supervisor"].flatMap(Int64.init), editor = form["editor"].flatMap(Int64.init)
        do {
            try await web.database.query("""
                INSERT INTO teams (name, supervisor_id, editor_id)
                VALUES (\(name), (SELECT id FROM users WHERE id = \(supervisor) AND role = 'supervisor'), (SELECT id FROM users WHERE id = \(editor) AND role = 'editor'))
                ON CONFLICT (name) DO UPDATE SET supervisor_id = EXCLUDED.supervisor_id, editor_id = EXCLUDED.editor_id
                """, logger: web.logger)
        } catch {
            return .seeOther("/admin/users?error=team")
        }
        try await audit.record(admin, ip: context.remoteAddress, action: "team.save", objectType: "team", objectId: name)
        return .seeOther("/admin/users")
    }

    func setActive(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.badRequest) }
        let form = try await Form.read(request, context)
        let active = form["active"] == "1"
        let admin = try context.requireUser()
        guard id != admin.id else { throw HTTPError(.badRequest) }
        try await web.database.query("UPDATE users SET active = \(active) WHERE id = \(id)", logger: web.logger)
        if !active { try await web.database.query("DELETE FROM sessions WHERE user_id = \(id)", logger: web.logger) }
        try await audit.record(admin, ip: context.remoteAddress, action: active ? "user.activate" : "user.deactivate", objectType: "user", objectId: "\(id)")
        return .seeOther("/admin/users")
    }

    func auditLog(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let language = Pages.language(request, context)
        let action = query["action"].map(String.init).flatMap { $0.isEmpty || $0.count > 64 ? nil : $0 }
        let login = query["user"].map(String.init).flatMap { $0.isEmpty || $0.count > 64 ? nil : $0 }
        let fromDay = query["from"].flatMap { DisplayTime.isoDay(String($0)) }, toDay = query["to"].flatMap { DisplayTime.isoDay(String($0)) }
        let from = fromDay.flatMap { AppealRepository.dayFormatter.date(from: $0) }
        let to = toDay.flatMap { AppealRepository.dayFormatter.date(from: $0) }.map { $0.addingTimeInterval(86400) }
        let page = max(1, min(10_000, query["page"].flatMap { Int(String($0)) } ?? 1))
        var rows: [[String: Any]] = []
        let formatter = DateFormatter()
        formatter.timeZone = web.configuration.timeZone
        formatter.dateFormat = "dd.MM.yyyy HH:mm:ss"
        for try await (at, who, ip, act, type, object, details) in try await web.database.query("""
            SELECT a.at, u.login, host(a.ip), a.action, a.object_type, a.object_id, a.details::text
            FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
            WHERE (\(action)::text IS NULL OR a.action = \(action))
              AND (\(login)::text IS NULL OR lower(u.login) = lower(\(login)))
              AND (\(from)::timestamptz IS NULL OR a.at >= \(from)) AND (\(to)::timestamptz IS NULL OR a.at < \(to))
            ORDER BY a.at DESC, a.id DESC LIMIT 51 OFFSET \((page - 1) * 50)
            """, logger: web.logger).decode((Date, String?, String?, String, String?, String?, String).self) {
            rows.append(["at": formatter.string(from: at), "user": who ?? "—", "ip": ip ?? "", "action": AuditStrings.action(act, language),
                         "object": AuditStrings.object(type, object, language), "details": details == "{}" ? "" : AuditStrings.details(details, language)])
        }
        let more = rows.count > 50
        return pages.render("audit", request, context, title: "nav_audit", [
            "rows": Array(rows.prefix(50)), "empty": rows.isEmpty, "filterAction": action ?? "", "filterUser": login ?? "",
            "filterFrom": fromDay.map(DisplayTime.showDay) ?? "", "filterTo": toDay.map(DisplayTime.showDay) ?? "",
            "nextPage": more ? "\(page + 1)" : "", "prevPage": page > 1 ? "\(page - 1)" : "",
        ])
    }
}
