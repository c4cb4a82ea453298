import Foundation
import Hummingbird
import Mustache

/// Renders a template inside the layout with what every page needs: texts in the chosen language,
/// the signed-in user, the navigation for their role and the CSRF token for forms.
struct Pages: Sendable {
    let templates: MustacheLibrary

    /// `?lang=` wins, then the `lang` cookie, then the user's own language, then Uzbek.
    static func language(_ request: Request, _ context: AppRequestContext) -> UILanguage {
        if let query = request.uri.queryParameters["lang"].flatMap({ UILanguage(rawValue: String($0)) }) { return query }
        if let cookie = request.cookies["lang"]?.value, let language = UILanguage(rawValue: cookie) { return language }
        return context.user?.language ?? .uz
    }

    static func navigation(for role: Role, _ strings: [String: String]) -> [[String: String]] {
        var items: [(String, String)] = []
        if role == .operator { items.append(("/panel", "nav_panel")) }
        if role == .dtm { items.append(("/overview", "nav_overview")) }
        items.append(("/appeals", "nav_appeals"))
        if role == .editor || role == .supervisor {
            items += [("/appeals?queue=1", "nav_queue"), ("/appeals/new", "nav_written"), ("/kb", "nav_kb"), ("/classifier", "nav_topics")]
        }
        if role == .supervisor || role == .dtm {
            items += [("/wallboard", "nav_wallboard"), ("/stats", "nav_stats"), ("/calls", "nav_calls"), ("/qa", "nav_qa_short")]
        }
        if role == .dtm { items.append(("/qa/answers", "nav_qa_answers")) }
        if role == .operator { items.append(("/qa/mine", "nav_qa_mine")) }
        if role == .admin {
            items += [("/admin/users", "nav_users"), ("/stats", "nav_stats"), ("/admin/settings", "nav_settings"), ("/admin/outbox", "nav_outbox"), ("/admin/audit", "nav_audit")]
        }
        return items.map { ["href": $0.0, "label": strings[$0.1] ?? $0.1] }
    }

    /// The public site's links, for visitors who are not signed in.
    static func publicNavigation(_ strings: [String: String]) -> [[String: String]] {
        [("/murojaat", "public_title"), ("/murojaat/holat", "check_status")].map { ["href": $0.0, "label": strings[$0.1] ?? $0.1] }
    }

    func render(_ template: String, _ request: Request, _ context: AppRequestContext, title: String,
                _ values: [String: Any] = [:], status: HTTPResponse.Status = .ok) -> Response {
        let language = Self.language(request, context)
        let strings = Strings.all(language)
        var page: [String: Any] = [
            "t": strings, "lang": language.rawValue, "uz": language == .uz, "ru": language == .ru,
            "pageTitle": strings[title] ?? title,
        ]
        if let user = context.user {
            page["user"] = ["name": user.fullName, "role": strings["role_\(user.role.rawValue)"] ?? user.role.rawValue]
            page["csrf"] = user.csrfToken
            page["nav"] = Self.navigation(for: user.role, strings)
        }
        for (key, value) in values { page[key] = Self.blanksAreFalse(value) }
        let html = templates.render(page, withTemplate: template) ?? ""
        var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: html)))
        response.headers[.cacheControl] = "no-store"
        if let chosen = request.uri.queryParameters["lang"], UILanguage(rawValue: String(chosen)) != nil {
            response.setCookie(.init(name: "lang", value: String(chosen), maxAge: 365 * 86400, path: "/", httpOnly: true, sameSite: .lax))
        }
        return response
    }

    /// Field errors as `{field: message}` in the page's language, plus a flag per field for CSS.
    static func errors(_ errors: FieldErrors, _ language: UILanguage) -> [String: Any] {
        var values: [String: Any] = [:]
        for (field, key) in errors.messages { values[field] = Strings.text(key, language) }
        return values
    }
}

extension Response {
    static func seeOther(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}

/// Mustache treats an empty string as true in `{{#x}}`; an empty text must hide its section, as nil does,
/// while `{{x}}` still renders nothing (and does not fall through to a same-named key of an outer context).
struct BlankText: MustacheCustomRenderable {
    var renderText: String { "" }
    var isNull: Bool { true }
}

extension Pages {
    static func blanksAreFalse(_ value: Any) -> Any {
        switch value {
        case let text as String: return text.isEmpty ? BlankText() : text
        case let dictionary as [String: Any]: return dictionary.mapValues(blanksAreFalse)
        case let rows as [[String: Any]]: return rows.map { $0.mapValues(blanksAreFalse) }
        case let list as [Any]: return list.map(blanksAreFalse)
        default: return value
        }
    }
}
