import Foundation
import Hummingbird
import NIOCore

/// Staff roles. `dtm` is the Center's responsible employee: read-only statistics, appeals and recordings.
enum Role: String, CaseIterable, Sendable {
    case `operator`, editor, supervisor, admin, dtm
}

/// The signed-in user of a request, loaded from the server-side session.
struct SessionUser: Sendable {
    var id: Int64
    var login: String
    var fullName: String
    var role: Role
    var language: UILanguage
    var operatorId: Int64?
    var csrfToken: String
    var sessionId: [UInt8]
}

/// Hummingbird's request context plus who is asking and from where.
struct AppRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var user: SessionUser?
    /// The form body, once read (the CSRF check reads it before the handler does).
    var form: Form?
    let remoteAddress: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The signed-in user; the role middleware guarantees one on staff routes.
    func requireUser() throws -> SessionUser {
        guard let user else { throw HTTPError(.unauthorized) }
        return user
    }
}
