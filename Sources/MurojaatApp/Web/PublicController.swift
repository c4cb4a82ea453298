import Crypto
import Foundation
import Hummingbird
import NIOCore
import PostgresNIO
import Synchronization

/// Per-key sliding-window limit (per IP address here), in memory.
final class RateLimiter: Sendable {
    let limit: Int
    let window: TimeInterval
    let hits = Mutex<[String: [Date]]>([:])

    init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    /// Counts a hit for `key` if it is within the limit, in one step (two submissions at once cannot both slip under
    /// it); nil when counted, else how long to wait. A reservation that is not used is given back with `release`.
    func reserve(_ key: String, now: Date = Date()) -> TimeInterval? {
        hits.withLock { hits in
            if hits.count > 50_000 { hits = hits.filter { $0.value.last.map { now.timeIntervalSince($0) < window } ?? false } }
            var list = hits[key, default: []].filter { now.timeIntervalSince($0) < window }
            if list.count >= limit, let oldest = list.first {
                hits[key] = list
                return max(1, window - now.timeIntervalSince(oldest))
            }
            list.append(now)
            hits[key] = list
            return nil
        }
    }

    /// Gives back the latest reservation of `key` (the submission was refused or was a repeat).
    func release(_ key: String) {
        hits.withLock { hits in
            if var list = hits[key], !list.isEmpty {
                list.removeLast()
                hits[key] = list.isEmpty ? nil : list
            }
        }
    }

    /// Counts a hit and says whether it is within the limit.
    func allow(_ key: String, now: Date = Date()) -> Bool { reserve(key, now: now) == nil }
}

/// The public site: the appeal form and the status page (number + phone → status and answer, nothing else).
/// No session: the form carries a double-submit CSRF token (cookie and hidden field), a honeypot field, a
/// one-time key (a repeated submission creates nothing), and accepted appeals are limited per phone number and,
/// more loosely (many citizens share one address behind a carrier's or a school's NAT), per IP address.
struct PublicController: Sendable {
    let web: WebContext
    let pages: Pages
    /// Accepted appeals per IP address.
    let submissions: RateLimiter
    /// Accepted appeals per phone number.
    let phones: RateLimiter
    let lookups: RateLimiter
    static let csrfCookie = "pcsrf"

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/murojaat") { request, context in try await form(request, context, draft: [:], errors: FieldErrors()) }
        router.post("/murojaat") { request, context in try await submit(request, context) }
        router.get("/murojaat/qabul/:key") { request, context in try await done(request, context) }
        router.get("/murojaat/holat") { request, context in
            // The thank-you page links here with its number filled in.
            let number = request.uri.queryParameters["number"].map(String.init).flatMap { $0.count <= 20 ? $0 : nil } ?? ""
            return statusPage(request, context, values: ["number": number])
        }
        router.post("/murojaat/holat") { request, context in try await lookup(request, context) }
    }

    func token(_ request: Request) -> (String, Bool) {
        if let existing = request.cookies[Self.csrfCookie]?.value, existing.count == 32 { return (existing, false) }
        return (Accounts.randomToken(bytes: 24), true)
    }

    func withToken(_ response: Response, _ token: (String, Bool)) -> Response {
        var response = response
        if token.1 { response.setCookie(.init(name: Self.csrfCookie, value: token.0, path: "/murojaat", httpOnly: true, sameSite: .strict)) }
        return response
    }

    func form(_ request: Request, _ context: AppRequestContext, draft: [String: String], errors: FieldErrors,
              limited: String = "", status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        let csrf = token(request)
        let response = pages.render("public_form", request, context, title: "public_title", [
            "pcsrf": csrf.0, "once": draft[FormOnce.field] ?? FormOnce.newKey(), "f": draft, "errors": Pages.errors(errors, language), "hasErrors": !errors.isEmpty,
            "categories": classifier.options(classifier.categories, selected: draft["category"], language: language),
            "regions": classifier.options(classifier.regions, selected: draft["region"], language: language),
            "topics": classifier.options(classifier.topics.filter { $0.parent == nil }, selected: draft["topic"], language: language),
            "subtopics": classifier.options(classifier.topics.filter { $0.parent != nil }, selected: draft["subtopic"], language: language),
            "consentChecked": draft["consent"] != nil, "limited": limited,
        ], status: status)
        return withToken(response, csrf)
    }

    func submit(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context, limit: 32 * 1024)
        guard let cookie = request.cookies[Self.csrfCookie]?.value, let field = form.fields["_pcsrf"], constantTimeEquals(cookie, field) else {
            throw HTTPError(.forbidden, message: "csrf")
        }
        // A person never sees the honeypot field; a bot fills it.
        guard (form.fields["website"] ?? "").isEmpty else { throw HTTPError(.badRequest, message: "bad_request") }
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        var (draft, errors) = AppealDraft.from(form, source: "web", classifier: classifier, requireName: true, requireOutcome: false)
        if form.fields["language"] == nil { draft.language = language }
        guard errors.isEmpty else {
            return try await self.form(request, context, draft: form.echo, errors: errors, status: .unprocessableContent)
        }
        // Post/redirect/get: the thank-you page is a page of its own, and the form's one-time key makes a repeated
        // submission (back and send again, a double click) land there too without a second appeal.
        let once = FormOnce.key(form) ?? FormOnce.newKey()
        if try await FormOnce.result(once, kind: "public_appeal", database: web.database, logger: web.logger) != nil {
            return .seeOther("/murojaat/qabul/\(once)")
        }
        // The same text from the same phone within the hour, from this same browser, is the same appeal sent again from a
        // form the browser restored (back, then send; a second tab): it gets the first one's page. Never another browser's.
        let browser = Self.browserHash(cookie)
        for try await earlier in try await web.database.query("""
            SELECT f.key FROM appeals a JOIN form_submissions f ON f.kind = 'public_appeal' AND f.object_id = a.id
            WHERE f.browser = \(browser) AND a.source = 'web' AND a.phone = \(draft.phone) AND a.text = \(draft.text)
              AND a.created_at > now() - interval '1 hour'
            ORDER BY a.id LIMIT 1
            """, logger: web.logger).decode(String.self) {
            return .seeOther("/murojaat/qabul/\(earlier)")
        }
        // Only accepted appeals count; checked and counted in one step per limit, given back if not used. The typed
        // text stays on the page, with how long to wait.
        let address = Self.addressKey(context.remoteAddress), phone = draft.phone ?? ""
        let waitAddress = submissions.reserve(address)
        let waitPhone = waitAddress == nil ? phones.reserve(phone) : nil
        if let wait = waitAddress ?? waitPhone {
            if waitAddress == nil { submissions.release(address) }
            let minutes = Int((wait / 60).rounded(.up))
            let message = Strings.text("too_many_appeals", language).replacingOccurrences(of: "{minutes}", with: "\(minutes)")
            var response = try await self.form(request, context, draft: form.echo, errors: FieldErrors(), limited: message, status: .tooManyRequests)
            response.headers[.retryAfter] = "\(Int(wait.rounded(.up)))"
            return response
        }
        let created: AppealRepository.Created
        do {
            created = try await AppealRepository(database: web.database, logger: web.logger, publicURL: web.configuration.publicURL)
                .create(draft, classifier: classifier, once: once, kind: "public_appeal", browser: browser)
        } catch is FormOnce.ForeignKey {
            submissions.release(address)
            phones.release(phone)
            throw HTTPError(.forbidden, message: "csrf")
        } catch {
            submissions.release(address)
            phones.release(phone)
            throw error
        }
        if created.repeated {
            submissions.release(address)
            phones.release(phone)
        }
        return .seeOther("/murojaat/qabul/\(once)")
    }

    /// The browser that sends a public form, as a hash of its form cookie (the cookie itself is never stored).
    static func browserHash(_ cookie: String) -> String {
        SHA256.hash(data: Array(cookie.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The address a limit counts by: IPv4 as it is, IPv6 by its /64 (one customer's network; rotating addresses
    /// inside it does not escape the limit), parsed by NIO. An IPv4 client seen on a dual-stack socket
    /// (`::ffff:a.b.c.d`) counts as its IPv4 address, not as one shared /64.
    static func addressKey(_ address: String?) -> String {
        guard let address, let parsed = try? SocketAddress(ipAddress: address, port: 0) else { return address ?? "unknown" }
        guard case .v6(let v6) = parsed else { return address }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        return stride(from: 0, to: 8, by: 2).map { String(Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]), radix: 16) }.joined(separator: ":") + "::/64"
    }

    /// The thank-you page of one submission: its number, due date and what happens next. The address holds the
    /// submission's one-time key, so a refresh shows the same page and nobody can list others' appeals.
    func done(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let raw = context.parameters.get("key"), let key = FormOnce.valid(raw),
              let (id, number) = try await FormOnce.result(key, kind: "public_appeal", database: web.database, logger: web.logger) else {
            throw HTTPError(.notFound)
        }
        var due = ""
        for try await value in try await web.database.query("""
            SELECT coalesce(to_char(due_date, 'DD.MM.YYYY'), '') FROM appeals WHERE id = \(id)
            """, logger: web.logger).decode(String.self) { due = value }
        return pages.render("public_done", request, context, title: "thanks", ["number": number, "due": due])
    }

    func statusPage(_ request: Request, _ context: AppRequestContext, values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let csrf = token(request)
        var values = values
        values["pcsrf"] = csrf.0
        return withToken(pages.render("public_status", request, context, title: "check_status", values, status: status), csrf)
    }

    func lookup(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Form.read(request, context, limit: 4096)
        guard let cookie = request.cookies[Self.csrfCookie]?.value, let field = form.fields["_pcsrf"], constantTimeEquals(cookie, field) else {
            throw HTTPError(.forbidden, message: "csrf")
        }
        guard lookups.allow(Self.addressKey(context.remoteAddress)) else { throw HTTPError(.tooManyRequests, message: "too_many") }
        let language = Pages.language(request, context)
        let number = form["number"] ?? ""
        let phone = form["phone"].flatMap(AppealDraft.normalisePhone)
        var errors = FieldErrors()
        if number.range(of: #"^\d{4}-\d{6,9}$"#, options: .regularExpression) == nil { errors.add("number", "err_number") }
        if phone == nil { errors.add("phone", "err_phone") }
        guard errors.isEmpty else {
            return statusPage(request, context, values: ["errors": Pages.errors(errors, language), "number": String(number.prefix(20))], status: .unprocessableContent)
        }
        var found: [String: Any]?
        for try await (status, answer, created, due) in try await web.database.query("""
            SELECT status, answer, created_at, to_char(due_date, 'DD.MM.YYYY') FROM appeals WHERE number = \(number) AND phone = \(phone)
            """, logger: web.logger).decode((String, String?, Date, String?).self) {
            let formatter = DateFormatter()
            formatter.timeZone = web.configuration.timeZone
            formatter.dateFormat = "dd.MM.yyyy"
            // The answer is shown once the appeal is answered or closed; nothing else of the appeal.
            let visible = ["answered", "closed", "resolved"].contains(status) ? (answer ?? "") : ""
            // What happens next, in plain words, by where the appeal is.
            let next = switch status {
            case "answered", "closed", "resolved": "next_answered"
            case "forwarded": "next_forwarded"
            default: "next_working"
            }
            found = ["status": Strings.text("status_\(status)", language), "answer": visible, "created": formatter.string(from: created),
                     "due": due ?? "", "next": Strings.text(next, language)]
        }
        guard let found else {
            return statusPage(request, context, values: ["notFound": true, "number": number], status: .notFound)
        }
        return statusPage(request, context, values: ["found": found, "number": number])
    }
}
