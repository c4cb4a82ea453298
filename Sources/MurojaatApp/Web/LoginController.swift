import Foundation
import Hummingbird

/// `/login` and `/logout`. Failed attempts count towards the lockout; each sign-in and sign-out is audited.
struct LoginController: Sendable {
    let accounts: Accounts
    let audit: AuditLog
    let pages: Pages

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/login") { request, context in
            if context.user != nil { return Response.seeOther(Self.landing(context.user!.role)) }
            return pages.render("login", request, context, title: "login", ["next": safeNext(request.uri.queryParameters["next"].map(String.init))])
        }
        router.post("/login") { request, context in try await login(request, context) }
        router.post("/logout") { request, context in
            let user = try context.requireUser()
            let form = try await Form.read(request, context)
            guard let token = form.fields["_csrf"], constantTimeEquals(token, user.csrfToken) else { throw HTTPError(.forbidden, message: "csrf") }
            try await accounts.closeSession(user.sessionId)
            try await audit.record(user, ip: context.remoteAddress, action: "logout")
            var response = Response.seeOther("/login")
            response.setCookie(.init(name: SessionMiddleware.cookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .lax))
            return response
        }
    }

    static func landing(_ role: Role) -> String {
        switch role {
        case .operator: "/panel"
        case .admin: "/admin/users"
        case .dtm: "/overview"
        default: "/appeals"
        }
    }

    /// Only local paths: `next` never sends anyone to another site.
    func safeNext(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"), raw.count < 300 else { return "" }
        return raw
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context, limit: 4096)
        let login = String((form["login"] ?? "").prefix(64))
        let password = form.fields["password"] ?? ""
        let next = safeNext(form["next"])
        func again(_ key: String, status: HTTPResponse.Status) -> Response {
            let language = Pages.language(request, context)
            return pages.render("login", request, context, title: "login",
                                ["error": Strings.text(key, language), "login": login, "next": next], status: status)
        }
        guard !login.isEmpty, !password.isEmpty else { return again("wrong_credentials", status: .badRequest) }
        switch try await accounts.verify(login: login, password: password) {
        case .wrongCredentials:
            try await audit.record(nil, ip: context.remoteAddress, action: "login.failed", details: ["login": login])
            return again("wrong_credentials", status: .unauthorized)
        case .locked:
            try await audit.record(nil, ip: context.remoteAddress, action: "login.locked", details: ["login": login])
            return again("locked", status: .tooManyRequests)
        case .success(let userId):
            let token = try await accounts.openSession(userId: userId, ip: context.remoteAddress, userAgent: request.headers[.userAgent])
            guard let user = try await accounts.session(token: token) else { throw HTTPError(.internalServerError) }
            try await audit.record(user, ip: context.remoteAddress, action: "login")
            var response = Response.seeOther(next.isEmpty ? Self.landing(user.role) : next)
            response.setCookie(.init(name: SessionMiddleware.cookie, value: token, maxAge: Int(accounts.sessionLifetime), path: "/",
                                     httpOnly: true, sameSite: .lax))
            return response
        }
    }
}
