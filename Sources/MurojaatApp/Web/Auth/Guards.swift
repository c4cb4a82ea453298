import Foundation
import HTTPTypes
import Hummingbird

/// Loads the session named by the `sid` cookie into the context. Never refuses: guards do that.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: Accounts
    static let cookie = "sid"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = request.cookies[Self.cookie]?.value, !token.isEmpty {
            context.user = try await accounts.session(token: token)
        }
        return try await next(request, context)
    }
}

/// Staff routes: a signed-in user with one of `roles`, and on every state-changing request a CSRF
/// token equal to the session's (form field `_csrf` or header `X-CSRF-Token`).
struct RequireRole: RouterMiddleware {
    typealias Context = AppRequestContext
    let roles: Set<Role>

    init(_ roles: Role...) { self.roles = Set(roles) }
    init(_ roles: Set<Role>) { self.roles = roles }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let user = context.user else {
            if request.method == .get, !(request.headers[.accept] ?? "").contains("text/event-stream") {
                let back = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                return Response.redirect(to: "/login?next=" + (back.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/"), type: .normal)
            }
            throw HTTPError(.unauthorized)
        }
        guard roles.contains(user.role) else { throw HTTPError(.forbidden) }
        if request.method != .get && request.method != .head {
            var context = context
            let presented: String?
            if let header = request.headers[HTTPField.Name("X-CSRF-Token")!] {
                presented = header
            } else {
                let form = try await Form.read(request, context)
                presented = form.fields["_csrf"]
                context.form = form // the handler reads it from here: the body is consumed
            }
            guard let presented, constantTimeEquals(presented, user.csrfToken) else { throw HTTPError(.forbidden, message: "csrf") }
            return try await next(request, context)
        }
        return try await next(request, context)
    }
}

extension CharacterSet {
    /// Characters left as they are in a form value (`&`, `=`, `+` and `%` are encoded).
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()
}

func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}
