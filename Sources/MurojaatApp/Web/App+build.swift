import CallCenter
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import PostgresNIO

/// What the web layer needs from the rest of the process.
public struct WebContext: Sendable {
    public var configuration: AppConfiguration
    public var database: PostgresClient
    public var telephony: TelephonyStatus
    public var templates: MustacheLibrary
    public var callCenter: CallCenter?
    public var logger: Logger

    public init(configuration: AppConfiguration, database: PostgresClient, telephony: TelephonyStatus, templates: MustacheLibrary,
                callCenter: CallCenter? = nil, logger: Logger = Logger(label: "murojaat.web")) {
        self.configuration = configuration
        self.database = database
        self.telephony = telephony
        self.templates = templates
        self.callCenter = callCenter
        self.logger = logger
    }
}

/// Loads the templates once at start and fails fast if one is missing.
public func loadTemplates(_ directory: String) async throws -> MustacheLibrary {
    HTMLText.registered
    let library = try await MustacheLibrary(directory: directory)
    for name in ["layout", "status", "error", "login", "panel", "appeals", "appeal", "admin_users", "audit", "public_form",
                 "public_done", "public_status", "print", "kb", "kb_history", "classifier", "appeal_new", "settings", "outbox",
                 "stats", "stats_print", "forecast", "overview", "calls", "wallboard", "qa", "qa_evaluation", "qa_mine", "qa_answers", "qa_forms"] where library.getTemplate(named: name) == nil {
        throw ConfigurationError(setting: "MUROJAAT_TEMPLATES_DIR", problem: "(\(directory)) has no \(name).mustache")
    }
    // Every template escapes by Unicode scalar (see `HTMLText`): one that does not ask for it is refused.
    for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".mustache") {
        let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
        guard text.hasPrefix("{{% CONTENT_TYPE: \(HTMLText.name)}}") else {
            throw ConfigurationError(setting: "MUROJAAT_TEMPLATES_DIR", problem: "(\(directory)) has \(file) without {{% CONTENT_TYPE: \(HTMLText.name)}} on its first line")
        }
    }
    return library
}

public func buildApplication(_ web: WebContext, logger: Logger) -> some ApplicationProtocol {
    Application(
        router: buildRouter(web, logger: logger),
        configuration: .init(address: .hostname(web.configuration.httpHost, port: web.configuration.httpPort), serverName: "Murojaat"),
        logger: logger
    )
}

func buildRouter(_ web: WebContext, logger: Logger, bcryptCost: UInt8 = 10) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ErrorPageMiddleware(templates: web.templates, logger: logger))
    router.add(middleware: SecurityHeadersMiddleware())
    // Scripts, styles and pictures are served before the session is looked up (no database work for a file).
    router.add(middleware: StaticFilesMiddleware(files: FileMiddleware(web.configuration.publicDirectory, searchForIndexHtml: false)))
    var accounts = Accounts(database: web.database, logger: logger)
    accounts.bcryptCost = bcryptCost
    let audit = AuditLog(database: web.database, logger: logger)
    let pages = Pages(templates: web.templates)
    router.add(middleware: SessionMiddleware(accounts: accounts))
    // Again inside the session: an error page of a signed-in user keeps their menu and language.
    router.add(middleware: ErrorPageMiddleware(templates: web.templates, logger: logger))
    StatusController(web: web).addRoutes(to: router)
    LoginController(accounts: accounts, audit: audit, pages: pages).addRoutes(to: router)
    PanelController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    AppealsController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    EditorController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    KnowledgeController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    AdminController(web: web, accounts: accounts, audit: audit, pages: pages).addRoutes(to: router)
    SettingsController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    SMSReportsController(web: web).addRoutes(to: router)
    StatsController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    OverviewController(web: web, pages: pages).addRoutes(to: router)
    RecordingsController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    WallboardController(web: web, audit: audit, pages: pages, feed: WallboardFeed(web: web)).addRoutes(to: router)
    QualityController(web: web, audit: audit, pages: pages).addRoutes(to: router)
    PublicController(web: web, pages: pages, submissions: RateLimiter(limit: 30, window: 600), phones: RateLimiter(limit: 3, window: 600),
                     lookups: RateLimiter(limit: 30, window: 600)).addRoutes(to: router)
    return router
}

/// Serves a request for a static file (by its extension) from the public folder without going further down the
/// middleware chain: no session lookup, no routes. A missing file is a 404 like any other.
struct StaticFilesMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let files: FileMiddleware<AppRequestContext, LocalFileSystem>
    static let extensions: Set<String> = ["css", "js", "png", "svg", "ico", "txt", "woff2", "map"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let dot = path.lastIndex(of: "."), Self.extensions.contains(path[path.index(after: dot)...].lowercased()) else {
            return try await next(request, context)
        }
        return try await files.handle(request, context: context) { _, _ in throw HTTPError(.notFound) }
    }
}

/// No framing by other sites, no MIME sniffing, no referrer leaks; scripts and styles only from here.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        response.headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
        return response
    }
}

/// HTML for errors: generic text for 500s, the real error only in the log.
struct ErrorPageMiddleware<Context: RequestContext>: RouterMiddleware {
    let templates: MustacheLibrary
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status.code < 500 {
            let key: String? = switch error.status {
            case .notFound: "not_found"
            case .unauthorized: "unauthorized"
            case .forbidden: error.body == "csrf" ? "csrf" : "forbidden"
            case .contentTooLarge: "too_large"
            case .tooManyRequests: "too_many"
            default: error.body.flatMap { Strings.merged[$0] != nil ? $0 : nil } ?? "bad_request"
            }
            if (request.headers[.accept] ?? "").contains("application/json") {
                let language = UILanguage.pick(query: nil, cookie: request.cookies["lang"]?.value)
                let body = (try? JSONEncoder().encode(["error": Strings.text(key ?? "bad_request", language)])) ?? Data()
                return Response(status: error.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            return page(request, context, status: error.status, key: key, message: nil)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return page(request, context, status: .internalServerError, key: "server_error", message: nil)
        }
    }

    /// Whether `url` is on this site: its host is the request's, and so is its port when the request names one.
    static func sameSite(_ url: URL, authority: String) -> Bool {
        guard let host = url.host, ["http", "https"].contains(url.scheme ?? "") else { return false }
        let parts = authority.split(separator: ":", maxSplits: 1)
        guard host == parts.first.map(String.init) else { return false }
        return parts.count == 1 || url.port.map { "\($0)" } == String(parts[1])
    }

    /// The page keeps the layout: the signed-in user's menu (or the public site's links), the language switch, and
    /// a way back — to the page the user came from on this site, and to their start page.
    func page(_ request: Request, _ context: Context, status: HTTPResponse.Status, key: String?, message: String?) -> Response {
        let user = (context as? AppRequestContext)?.user
        let query = request.uri.queryParameters["lang"].map(String.init)
        let cookie = request.cookies["lang"].map { String($0.value) }
        let language = query.flatMap { UILanguage(rawValue: $0) } ?? cookie.flatMap { UILanguage(rawValue: $0) } ?? user?.language ?? .uz
        let strings = Strings.all(language)
        let text = key.flatMap { strings[$0] } ?? message ?? "\(status.code)"
        var values: [String: Any] = ["t": strings, "lang": language.rawValue, "uz": language == .uz, "ru": language == .ru,
                                     "code": status.code, "message": text, "pageTitle": text]
        let home: String
        if let user {
            values["user"] = ["name": user.fullName, "role": strings["role_\(user.role.rawValue)"] ?? user.role.rawValue]
            values["csrf"] = user.csrfToken
            values["nav"] = Pages.navigation(for: user.role, strings)
            home = LoginController.landing(user.role)
        } else {
            values["nav"] = Pages.publicNavigation(strings)
            home = request.uri.path.hasPrefix("/murojaat") ? "/murojaat" : "/login"
        }
        values["home"] = home
        // Back to where the user was, when that was a page of this site (never another site's address).
        // The path as sent (still percent-encoded: `%2F%2Fevil.example` must not become `//evil.example`), and only a plain
        // local path.
        if let referer = request.headers[.referer], let url = URL(string: referer), let authority = request.head.authority,
           Self.sameSite(url, authority: authority) {
            let path = url.path(percentEncoded: true)
            if path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"), !path.lowercased().contains("%2f%2f"), !path.lowercased().contains("%5c"),
               path != request.uri.path {
                values["back"] = path + (url.query(percentEncoded: true).map { "?" + $0 } ?? "")
            }
        }
        let html = templates.render(values, withTemplate: "error") ?? text
        var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
