import Foundation
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
}

/// Loads the templates once at start and fails fast if one is missing.
public func loadTemplates(_ directory: String) async throws -> MustacheLibrary {
    let library = try await MustacheLibrary(directory: directory)
    for name in ["layout", "status", "error"] where library.getTemplate(named: name) == nil {
        throw ConfigurationError(setting: "MUROJAAT_TEMPLATES_DIR", problem: "(\(directory)) has no \(name).mustache")
    }
    return library
}

public func buildApplication(_ web: WebContext, logger: Logger) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: ErrorPageMiddleware(templates: web.templates, logger: logger))
    router.add(middleware: FileMiddleware(web.configuration.publicDirectory, searchForIndexHtml: false))
    StatusController(web: web).addRoutes(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(web.configuration.httpHost, port: web.configuration.httpPort), serverName: "Murojaat"),
        logger: logger
    )
}

/// HTML for errors: generic text for 500s, the real error only in the log.
struct ErrorPageMiddleware<Context: RequestContext>: RouterMiddleware {
    let templates: MustacheLibrary
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status.code < 500 {
            return page(request, status: error.status, key: error.status == .notFound ? "not_found" : nil, message: error.body)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return page(request, status: .internalServerError, key: "server_error", message: nil)
        }
    }

    func page(_ request: Request, status: HTTPResponse.Status, key: String?, message: String?) -> Response {
        let language = UILanguage.pick(query: request.uri.queryParameters["lang"].map(String.init), cookie: request.cookies["lang"]?.value)
        let strings = Strings.all(language)
        let text = key.flatMap { strings[$0] } ?? message ?? "\(status.code)"
        let html = templates.render(["t": strings, "lang": language.rawValue, "code": status.code, "message": text,
                                     "pageTitle": text], withTemplate: "error") ?? text
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
