import Foundation
import Hummingbird
import PostgresNIO

/// `/` — the system's state in both languages; `/health` — the same for monitoring, as JSON.
struct StatusController {
    let web: WebContext

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/") { request, _ in try await status(request) }
        router.get("/health") { _, _ in try await health() }
    }

    struct Health: Encodable {
        struct Server: Codable { var name: String; var connected: Bool; var lastError: String? }
        var database: Bool
        var asterisk: [Server]
    }

    func databaseOK() async -> Bool {
        do {
            let rows = try await web.database.query("SELECT 1", logger: .init(label: "health"))
            for try await value in rows.decode(Int.self) { return value == 1 }
            return false
        } catch {
            return false
        }
    }

    func callsToday() async -> Int? {
        let rows = try? await web.database.query(
            "SELECT count(*) FROM calls WHERE started_at >= date_trunc('day', now() AT TIME ZONE \(web.configuration.timeZone.identifier)) AT TIME ZONE \(web.configuration.timeZone.identifier)",
            logger: .init(label: "status"))
        guard let rows else { return nil }
        do {
            for try await count in rows.decode(Int.self) { return count }
        } catch {}
        return nil
    }

    func health() async throws -> Response {
        let body = Health(database: await databaseOK(),
                          asterisk: web.telephony.servers.map { .init(name: $0.name, connected: $0.connected, lastError: $0.lastError) })
        let healthy = body.database && body.asterisk.allSatisfy(\.connected)
        return Response(status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(body))))
    }

    func status(_ request: Request) async throws -> Response {
        let language = UILanguage.pick(query: request.uri.queryParameters["lang"].map(String.init), cookie: request.cookies["lang"]?.value)
        let strings = Strings.all(language)
        let formatter = DateFormatter()
        formatter.timeZone = web.configuration.timeZone
        formatter.dateFormat = "dd.MM.yyyy HH:mm:ss"
        let servers: [[String: Any]] = web.telephony.servers.map {
            ["name": $0.name, "url": $0.url, "connected": $0.connected, "since": formatter.string(from: $0.since),
             "events": $0.eventsReceived, "error": $0.lastError ?? ""]
        }
        let context: [String: Any] = [
            "t": strings, "lang": language.rawValue, "pageTitle": strings["status"]!,
            "databaseOK": await databaseOK(), "callsToday": await callsToday() ?? "—",
            "servers": servers, "noServers": servers.isEmpty,
            "uz": language == .uz, "ru": language == .ru,
        ]
        let html = web.templates.render(context, withTemplate: "status") ?? ""
        var response = Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        if request.uri.queryParameters["lang"] != nil {
            response.setCookie(.init(name: "lang", value: language.rawValue, maxAge: 365 * 86400, path: "/", httpOnly: true, sameSite: .lax))
        }
        return response
    }
}
