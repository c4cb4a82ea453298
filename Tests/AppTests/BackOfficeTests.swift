import Foundation
import Hummingbird
import Mustache
import HummingbirdTesting
@testable import MurojaatApp
import PostgresNIO
import Testing

@Suite("Back office: accounts, roles, CSRF, appeals, public form", .serialized)
struct BackOfficeTests {
    // MARK: sign-in

    @Test func signInSignOutAndLockout() async throws {
        try await BackOffice.run { world, client in
            let visitor = Visitor(client)
            // Anonymous: staff pages send to the login page, JSON/POST get 401.
            let anonymous = try await visitor.request(.get, "/appeals")
            #expect(anonymous.status == .seeOther && anonymous.headers[.location]?.hasPrefix("/login?next=") == true)
            #expect(try await visitor.request(.post, "/appeals/1/status", form: ["status": "closed"]).status == .unauthorized)

            let wrong = try await visitor.request(.post, "/login", form: ["login": "editor", "password": "not-the-password"])
            #expect(wrong.status == .unauthorized)
            #expect(String(buffer: wrong.body).contains("Login yoki parol noto"))
            try await visitor.signIn("editor")
            #expect(visitor.cookies.withLock { $0["sid"] } != nil)
            let stored = try await rowCount(world.database, "SELECT count(*) FROM sessions WHERE user_id = \(world.users["editor"]!)")
            #expect(stored == 1)
            #expect(try await visitor.request(.get, "/appeals").status == .ok)
            // Sign-out needs the token, then the session is gone on the server.
            #expect(try await visitor.request(.post, "/logout", form: [:]).status == .forbidden)
            #expect(try await visitor.request(.post, "/logout", form: ["_csrf": visitor.token]).status == .seeOther)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM sessions WHERE user_id = \(world.users["editor"]!)") == 0)
            #expect(try await visitor.request(.get, "/appeals").status == .seeOther)

            // Five wrong passwords lock the account, even for the right password afterwards.
            let attacker = Visitor(client)
            for _ in 0..<4 { #expect(try await attacker.request(.post, "/login", form: ["login": "dtm", "password": "guess-guess"]).status == .unauthorized) }
            #expect(try await attacker.request(.post, "/login", form: ["login": "dtm", "password": "guess-guess"]).status == .tooManyRequests)
            let locked = try await attacker.request(.post, "/login", form: ["login": "dtm", "password": BackOffice.password])
            #expect(locked.status == .tooManyRequests)
            #expect(String(buffer: locked.body).contains("bloklandi"))
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'login.failed'") >= 5)
            // A forged or truncated cookie is nobody.
            let forger = Visitor(client)
            forger.cookies.withLock { $0["sid"] = String(repeating: "A", count: 43) }
            #expect(try await forger.request(.get, "/admin/users").status == .seeOther)
            // An open redirect through `next` is refused.
            let redirect = try await Visitor(client).request(.post, "/login", form: ["login": "admin", "password": BackOffice.password, "next": "//evil.example/x"])
            #expect(redirect.headers[.location] == "/admin/users")
            // Russian, when asked for.
            let russian = Visitor(client)
            russian.cookies.withLock { $0["lang"] = "ru" }
            let page = try await russian.request(.post, "/login", form: ["login": "x", "password": "y"])
            #expect(String(buffer: page.body).contains("Неверный логин или пароль."))
        }
    }

    // MARK: every route, every role

    struct Route: Sendable { var method: HTTPRequest.Method; var path: String; var allowed: Set<Role> }

    static let routes: [Route] = [
        Route(method: .get, path: "/panel", allowed: [.operator]),
        Route(method: .post, path: "/panel/state", allowed: [.operator]),
        Route(method: .post, path: "/panel/appeal", allowed: [.operator]),
        Route(method: .get, path: "/kb/search?q=test", allowed: [.operator, .editor, .supervisor]),
        Route(method: .get, path: "/appeals", allowed: [.operator, .editor, .supervisor, .admin, .dtm]),
        Route(method: .get, path: "/appeals/999999", allowed: [.operator, .editor, .supervisor, .admin, .dtm]),
        Route(method: .post, path: "/appeals/999999/status", allowed: [.editor, .supervisor]),
        Route(method: .post, path: "/appeals/999999/official", allowed: [.editor, .supervisor]),
        Route(method: .post, path: "/appeals/999999/forward", allowed: [.editor, .supervisor]),
        Route(method: .post, path: "/appeals/999999/chancery", allowed: [.editor, .supervisor]),
        Route(method: .get, path: "/appeals/999999/print", allowed: [.editor, .supervisor, .dtm]),
        Route(method: .get, path: "/kb", allowed: [.editor, .supervisor]),
        Route(method: .post, path: "/kb", allowed: [.editor, .supervisor]),
        Route(method: .get, path: "/kb/999999/history", allowed: [.editor, .supervisor]),
        Route(method: .get, path: "/classifier", allowed: [.editor, .supervisor]),
        Route(method: .post, path: "/classifier", allowed: [.editor, .supervisor]),
        Route(method: .get, path: "/appeals/new", allowed: [.editor, .supervisor]),
        Route(method: .post, path: "/appeals/new", allowed: [.editor, .supervisor]),
        Route(method: .get, path: "/admin/users", allowed: [.admin]),
        Route(method: .post, path: "/admin/users", allowed: [.admin]),
        Route(method: .post, path: "/admin/users/999999/active", allowed: [.admin]),
        Route(method: .get, path: "/admin/audit", allowed: [.admin]),
        Route(method: .get, path: "/admin/settings", allowed: [.admin]),
        Route(method: .get, path: "/admin/outbox", allowed: [.admin]),
        Route(method: .get, path: "/overview", allowed: [.supervisor, .dtm, .admin]),
        Route(method: .post, path: "/admin/outbox/999999/retry", allowed: [.admin]),
        Route(method: .post, path: "/appeals/999999/sms", allowed: [.editor, .supervisor]),
        Route(method: .get, path: "/stats", allowed: [.supervisor, .dtm, .admin]),
        Route(method: .get, path: "/stats/print", allowed: [.supervisor, .dtm, .admin]),
        Route(method: .get, path: "/stats/export/summary?format=csv", allowed: [.supervisor, .dtm, .admin]),
        Route(method: .get, path: "/stats/forecast", allowed: [.supervisor, .dtm, .admin]),
        Route(method: .get, path: "/calls", allowed: [.supervisor, .dtm]),
        Route(method: .get, path: "/recordings/999999/audio", allowed: [.supervisor, .dtm]),
        Route(method: .post, path: "/recordings/zip", allowed: [.supervisor, .dtm]),
        Route(method: .get, path: "/wallboard", allowed: [.supervisor, .dtm]),
        Route(method: .get, path: "/wallboard/state", allowed: [.supervisor, .dtm]),
        Route(method: .post, path: "/wallboard/monitor", allowed: [.supervisor]),
        Route(method: .get, path: "/qa", allowed: [.supervisor, .dtm]),
        Route(method: .get, path: "/qa/answers", allowed: [.supervisor, .dtm]),
        Route(method: .get, path: "/qa/evaluations/999999", allowed: [.supervisor, .dtm, .operator]),
        Route(method: .post, path: "/qa/evaluations/999999", allowed: [.supervisor]),
        Route(method: .post, path: "/qa/sample", allowed: [.supervisor]),
        Route(method: .get, path: "/qa/forms", allowed: [.supervisor]),
        Route(method: .post, path: "/qa/forms", allowed: [.supervisor]),
        Route(method: .get, path: "/qa/mine", allowed: [.operator]),
        Route(method: .post, path: "/qa/evaluations/999999/acknowledge", allowed: [.operator]),
    ]

    @Test func everyRouteChecksTheRole() async throws {
        try await BackOffice.run { _, client in
            for role in Role.allCases {
                let visitor = Visitor(client)
                try await visitor.signIn(role.rawValue)
                for route in Self.routes {
                    let form = route.method == .post ? ["_csrf": visitor.token] : nil
                    let response = try await visitor.request(route.method, route.path, form: form)
                    if route.allowed.contains(role) {
                        #expect(![.forbidden, .unauthorized].contains(response.status), "\(role) may \(route.method) \(route.path): got \(response.status)")
                    } else {
                        #expect(response.status == .forbidden, "\(role) may not \(route.method) \(route.path): got \(response.status)")
                    }
                }
            }
            let anonymous = Visitor(client)
            for route in Self.routes {
                let response = try await anonymous.request(route.method, route.path, form: route.method == .post ? [:] : nil)
                #expect([.seeOther, .unauthorized].contains(response.status), "anonymous \(route.method) \(route.path): \(response.status)")
            }
        }
    }

    @Test func statePostsNeedTheSessionsCSRFToken() async throws {
        try await BackOffice.run { world, client in
            let admin = Visitor(client)
            try await admin.signIn("admin")
            let form = ["login": "newop", "full_name": "New Operator", "role": "operator", "password": "long-enough-1", "extension": "150", "skill_uz": "1"]
            #expect(try await admin.request(.post, "/admin/users", form: form).status == .forbidden)
            var withWrong = form
            withWrong["_csrf"] = (admin.token.hasPrefix("x") ? "y" : "x") + admin.token.dropFirst() // certainly not the token
            #expect(try await admin.request(.post, "/admin/users", form: withWrong).status == .forbidden)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM users WHERE login = 'newop'") == 0)
            // Another user's token does not work either.
            let editor = Visitor(client)
            try await editor.signIn("editor")
            var withOthers = form
            withOthers["_csrf"] = editor.token
            #expect(try await admin.request(.post, "/admin/users", form: withOthers).status == .forbidden)
            var good = form
            good["_csrf"] = admin.token
            #expect(try await admin.request(.post, "/admin/users", form: good).status == .seeOther)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM operators o JOIN users u ON u.id = o.user_id WHERE u.login = 'newop' AND o.extension = '150' AND o.endpoint = 'PJSIP/150'") == 1)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'user.create'") == 1)
            // Bad input: every field wrong, nothing created, errors in the page.
            let bad = ["_csrf": admin.token, "login": "<script>", "full_name": "", "role": "root", "password": "short", "extension": "12a"]
            let refused = try await admin.request(.post, "/admin/users", form: bad)
            #expect(refused.status == .badRequest)
            let html = String(buffer: refused.body)
            #expect(!html.contains("<script>") && html.contains("&lt;script&gt;"))
            #expect(html.contains("Parol kamida 10 belgidan"))
            // A mark that Swift joins with the next character (U+0600 before `<` is one Character) does not carry markup
            // past the escaping: it is escaped one Unicode scalar at a time.
            var joined = bad
            joined["login"] = "\u{0600}<img src=x onerror=alert(1)>"
            let joinedPage = String(buffer: try await admin.request(.post, "/admin/users", form: joined).body)
            #expect(!joinedPage.contains("<img src=x") && joinedPage.contains("&lt;img src=x onerror=alert(1)&gt;"))
            // The same through a template (and its layout), the mark kept: the template engine's own escaping let it through.
            let library = try await BackOffice.templates()
            let rendered = library.render(["code": 400, "message": "\u{0600}<img src=x onerror=alert(1)>", "home": "/", "t": [String: String](), "lang": "uz"],
                                          withTemplate: "error") ?? ""
            #expect(rendered.contains("<p id=\"error-message\">\u{0600}&lt;img src=x onerror=alert(1)&gt;</p>") && !rendered.contains("<img"), "\(rendered.suffix(300))")
            var taken = good
            taken["extension"] = "151"
            #expect(try await admin.request(.post, "/admin/users", form: taken).status == .badRequest) // login taken
            var sameExtension = good
            sameExtension["login"] = "newop2"
            #expect(try await admin.request(.post, "/admin/users", form: sameExtension).status == .badRequest) // extension taken
            #expect(try await rowCount(world.database, "SELECT count(*) FROM users WHERE login LIKE 'newop%'") == 1)
            // An operator's extension, skills and team; a team of more than 20 operators without a lead is flagged.
            let newop = try #require(try await world.database.query("SELECT id FROM users WHERE login = 'newop'").decode(Int64.self).first { _ in true })
            #expect(try await admin.request(.post, "/admin/teams", form: ["_csrf": admin.token, "name": "Smena A"]).status == .seeOther)
            let team = try #require(try await world.database.query("SELECT id FROM teams WHERE name = 'Smena A'").decode(Int64.self).first { _ in true })
            #expect(try await admin.request(.post, "/admin/users/\(newop)/operator", form: ["_csrf": admin.token, "extension": "160", "skill_ru": "1", "team": "\(team)"]).status == .seeOther)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM operators o JOIN users u ON u.id = o.user_id WHERE u.id = \(newop) AND o.extension = '160' AND NOT o.skill_uz AND o.skill_ru AND u.team_id = \(team)") == 1)
            #expect(try await admin.request(.post, "/admin/users/\(newop)/operator", form: ["_csrf": admin.token, "extension": "101", "skill_uz": "1"]).headers[.location] == "/admin/users?error=extension")
            #expect(try await admin.request(.post, "/admin/users/\(newop)/operator", form: ["_csrf": admin.token, "extension": "161"]).headers[.location] == "/admin/users?error=skills")
            try await world.database.query("INSERT INTO users (login, full_name, password_hash, role, team_id) SELECT 'bulk' || g, 'Bulk ' || g, '!locked', 'operator', \(team) FROM generate_series(1, 21) g")
            #expect(String(buffer: try await admin.request(.get, "/admin/users").body).contains("20 dan ortiq operator"))
            // Oversized body.
            let huge = try await admin.request(.post, "/admin/users", rawBody: "_csrf=\(admin.token)&full_name=" + String(repeating: "a", count: 70_000))
            #expect(huge.status == .contentTooLarge)
        }
    }

    // MARK: public site

    func publicForm(_ visitor: Visitor) async throws -> String {
        let page = try await visitor.request(.get, "/murojaat")
        #expect(page.status == .ok)
        let html = String(buffer: page.body)
        let range = try #require(html.range(of: #"name="_pcsrf" value="([^"]+)""#, options: .regularExpression))
        return String(html[range].split(separator: "\"")[3])
    }

    static let validPublic: [String: String] = [
        "citizen_name": "Aliyev Vali", "phone": "+998 90 123 45 67", "region": "TK", "category": "complaint",
        "topic": "results", "text": "Test natijalarim hali ham e'lon qilinmadi, iltimos yordam bering.", "consent": "1",
    ]

    @Test func publicFormRefusesBadInputAndStoresGoodInput() async throws {
        try await BackOffice.run { world, client in
            let citizen = Visitor(client)
            let token = try await publicForm(citizen)
            // Without the form's token: refused.
            #expect(try await citizen.request(.post, "/murojaat", form: Self.validPublic).status == .forbidden)
            // Each field wrong at once: per-field errors, nothing stored, what was typed comes back escaped.
            let hostile: [String: String] = ["_pcsrf": token, "citizen_name": "<b>x</b>' OR 1=1 --", "phone": "12345",
                                             "region": "XX", "category": "'; DROP TABLE appeals; --", "topic": "nope", "text": "short"]
            let refused = try await citizen.request(.post, "/murojaat", form: hostile)
            #expect(refused.status == .unprocessableContent)
            let html = String(buffer: refused.body)
            #expect(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"))
            for field in ["phone", "region", "category", "topic", "text", "consent"] {
                let error = try #require(html.range(of: "id=\"err-\(field)\">[^<]+<", options: .regularExpression), "error for \(field)")
                #expect(!html[error].isEmpty)
            }
            #expect(html.contains("+998 va 9 ta raqam"))
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 0)
            // The honeypot.
            var bot = Self.validPublic
            bot["_pcsrf"] = token
            bot["website"] = "http://spam.example"
            #expect(try await citizen.request(.post, "/murojaat", form: bot).status == .badRequest)
            // Refused submissions do not count against the limit.
            for _ in 0..<6 { #expect(try await citizen.request(.post, "/murojaat", form: hostile).status == .unprocessableContent) }
            // Good input: a number, a due date from the category, status new; post/redirect/get to a page of its own.
            var good = Self.validPublic
            good["_pcsrf"] = token
            good["_once"] = "first-submission-key-0001"
            let posted = try await citizen.request(.post, "/murojaat", form: good)
            #expect(posted.status == .seeOther)
            let location = try #require(posted.headers[.location])
            #expect(location == "/murojaat/qabul/first-submission-key-0001")
            let done = try await citizen.request(.get, location)
            #expect(done.status == .ok)
            let body = String(buffer: done.body)
            #expect(body.contains("holat?number="), "the status page link carries the number")
            // The same form sent again (back and send, a double click): the same page, no second appeal.
            let again = try await citizen.request(.post, "/murojaat", form: good)
            #expect(again.status == .seeOther && again.headers[.location] == location)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 1)
            // The same text from the same phone with a new form (the browser restored the typed text into a fresh page): the first appeal.
            var restored = good
            restored["_once"] = "restored-form-key-0000001"
            #expect(try await citizen.request(.post, "/murojaat", form: restored).headers[.location] == location)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 1)
            #expect(try await citizen.request(.get, "/murojaat/qabul/no-such-submission-key").status == .notFound)
            #expect(try await citizen.request(.get, "/murojaat/qabul/%27%20OR%201%3D1").status == .notFound)
            let numberRange = try #require(body.range(of: #"\d{4}-\d{6}"#, options: .regularExpression))
            let number = String(body[numberRange])
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE source = 'web' AND phone = '+998901234567' AND status = 'new' AND due_date = (created_at AT TIME ZONE 'Asia/Tashkent')::date + 15 AND consent") == 1)
            // Status page: number + phone, nothing else.
            let wrongPhone = try await citizen.request(.post, "/murojaat/holat", form: ["_pcsrf": token, "number": number, "phone": "+998 91 000 00 00"])
            #expect(wrongPhone.status == .notFound)
            let found = try await citizen.request(.post, "/murojaat/holat", form: ["_pcsrf": token, "number": number, "phone": "901234567"])
            #expect(found.status == .ok)
            let status = String(buffer: found.body)
            #expect(status.contains("Yangi") && !status.contains("Aliyev") && !status.contains("natijalarim"))
            #expect(try await citizen.request(.post, "/murojaat/holat", form: ["_pcsrf": token, "number": "1 OR 1=1", "phone": "x"]).status == .unprocessableContent)
            // Limit per phone: three accepted appeals in ten minutes; the fourth is refused with the text kept and the wait named.
            for n in 2...3 {
                good["_once"] = "next-submission-key-000\(n)"
                good["text"] = Self.validPublic["text"]! + " (\(n))"
                #expect(try await citizen.request(.post, "/murojaat", form: good).status == .seeOther)
            }
            good["_once"] = "next-submission-key-0004"
            good["text"] = Self.validPublic["text"]! + " (4)"
            let limited = try await citizen.request(.post, "/murojaat", form: good)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter].flatMap { Int($0) }.map { (1...600).contains($0) } == true)
            let limitedPage = String(buffer: limited.body)
            #expect(limitedPage.contains("natijalarim hali ham") && limitedPage.contains("daqiqadan so"), "the text stays, the wait is named")
            #expect(limitedPage.contains("id=\"logout\"") == false && limitedPage.contains("<nav"), "the page keeps its layout")
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 3)
            // Another citizen behind the same address (a carrier's NAT) is not turned away.
            var neighbour = good
            neighbour["phone"] = "+998 91 765 43 21"
            neighbour["_once"] = "neighbour-submission-key-1"
            #expect(try await citizen.request(.post, "/murojaat", form: neighbour).status == .seeOther)
            // Another browser sending the first appeal's phone and text is never shown that citizen's appeal (here the
            // phone's limit answers it instead).
            let stranger = Visitor(client)
            var copied = Self.validPublic
            copied["_pcsrf"] = try await publicForm(stranger)
            copied["_once"] = "stranger-submission-key-01"
            let strangers = try await stranger.request(.post, "/murojaat", form: copied)
            #expect(strangers.status == .tooManyRequests && strangers.headers[.location] == nil)
        }
    }

    // MARK: appeals life cycle and visibility

    @Test func appealsMoveThroughTheirLifeCycleAndStayWithTheirOwners() async throws {
        try await BackOffice.run { world, client in
            let op = Visitor(client)
            try await op.signIn("operator")
            var card = Self.validPublic
            card["_csrf"] = op.token
            card["outcome"] = "disputed"
            card["subtopic"] = "results.scoring"
            let saved = try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"])
            #expect(saved.status == .created)
            let id = try #require(try await world.database.query("SELECT id FROM appeals").decode(Int64.self).first { _ in true })
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE source = 'call' AND status = 'disputed' AND topic_code = 'results.scoring' AND operator_id = \(world.operators["operator"]!)") == 1)
            // Invalid card: JSON errors per field, nothing stored.
            let invalid = try await op.request(.post, "/panel/appeal", form: ["_csrf": op.token, "phone": "abc"], headers: [.accept: "application/json"])
            #expect(invalid.status == .unprocessableContent)
            #expect(String(buffer: invalid.body).contains("\"phone\""))
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 1)
            // The other operator neither lists nor opens it.
            let other = Visitor(client)
            try await other.signIn("operator2")
            #expect(!String(buffer: try await other.request(.get, "/appeals").body).contains("/appeals/\(id)\""))
            #expect(try await other.request(.get, "/appeals/\(id)").status == .notFound)
            #expect(try await op.request(.get, "/appeals/\(id)").status == .ok)
            // The editor forwards, the chancery answers, the editor closes; an illegal jump is refused.
            let editor = Visitor(client)
            try await editor.signIn("editor")
            #expect(try await editor.request(.get, "/appeals/\(id)").status == .ok)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'appeal.view' AND object_id = \(String(id))") == 2)
            let jump = try await editor.request(.post, "/appeals/\(id)/status", form: ["_csrf": editor.token, "status": "answered"])
            #expect(jump.headers[.location]?.contains("error=transition") == true)
            // Forwarding is not a plain status change: it needs the official text and writes the chancery e-mail.
            let plain = try await editor.request(.post, "/appeals/\(id)/status", form: ["_csrf": editor.token, "status": "forwarded"])
            #expect(plain.headers[.location] == "/appeals/\(id)?error=forward")
            #expect(try await editor.request(.post, "/appeals/\(id)/official", form: ["_csrf": editor.token, "official_text": "Rasmiy matn."]).status == .seeOther)
            try await Self.configureMail(world.database)
            #expect(try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token, "comment": "<i>ok</i>"]).headers[.location] == "/appeals/\(id)?saved=forward")
            for status in ["answered", "closed"] {
                let moved = try await editor.request(.post, "/appeals/\(id)/status", form: ["_csrf": editor.token, "status": status])
                #expect(moved.headers[.location] == "/appeals/\(id)?saved=status")
            }
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeal_history WHERE appeal_id = \(id)") == 5)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE status = 'closed' AND forwarded_at IS NOT NULL AND closed_at IS NOT NULL") == 1)
            let page = String(buffer: try await editor.request(.get, "/appeals/\(id)").body)
            #expect(page.contains("&lt;i&gt;ok&lt;/i&gt;"))
            // The admin sees the list but not the citizen's personal data.
            let admin = Visitor(client)
            try await admin.signIn("admin")
            let adminView = String(buffer: try await admin.request(.get, "/appeals/\(id)").body)
            #expect(!adminView.contains("+998901234567") && !adminView.contains("Aliyev"))
            // Filters and search with hostile values answer safely.
            for query in ["status=closed", "q=2026-000001", "q=%2B998901234567", "q=%27%20OR%201%3D1%20--", "category=complaint&overdue=1",
                          "from=2020-01-01&to=2030-12-31", "page=-5", "topic=results", "status=%3Cscript%3E",
                          "operator=\(world.operators["operator"]!)", "operator=abc"] {
                let response = try await editor.request(.get, "/appeals?\(query)")
                #expect(response.status == .ok, "appeals?\(query)")
                #expect(!String(buffer: response.body).contains("<script>"))
            }
            let list = String(buffer: try await editor.request(.get, "/appeals?q=%2B998901234567").body)
            #expect(list.contains("/appeals/\(id)\""))
            let audit = try await admin.request(.get, "/admin/audit?action=appeal.view")
            #expect(String(buffer: audit.body).contains("appeal.view"))
        }
    }

    // MARK: error pages

    @Test("Every error page keeps the layout and the menu, in the user's language, with a way back", arguments: UILanguage.allCases)
    func errorPagesKeepTheLayout(_ language: UILanguage) async throws {
        try await BackOffice.run { world, client in
            let lang = "lang=\(language.rawValue)"
            func check(_ response: TestResponse, _ status: HTTPResponse.Status, menu: String, text: [UILanguage: String],
                       back: String? = nil, _ what: String) {
                let html = String(buffer: response.body)
                #expect(response.status == status, "\(what)")
                #expect(html.contains("<header class=\"top\">") && html.contains("href=\"?lang=ru\""), "\(what): the layout")
                #expect(html.contains("class=\"nav\" href=\"\(menu)\""), "\(what): the menu (\(menu))")
                #expect(html.contains("id=\"error-home\""), "\(what): a way home")
                #expect(html.contains(text[language]!), "\(what): in \(language.rawValue)")
                if let back { #expect(html.contains("<a href=\"\(back)\" id=\"error-back\">"), "\(what): back to \(back)") }
            }
            let visitor = Visitor(client)
            check(try await visitor.request(.get, "/no-such-page?\(lang)"), .notFound, menu: "/murojaat",
                  text: [.uz: "Sahifa topilmadi", .ru: "Страница не найдена"], "404 for a visitor")
            check(try await visitor.request(.post, "/appeals/1/status?\(lang)", form: ["status": "closed"]), .unauthorized, menu: "/murojaat",
                  text: [.uz: "tizimga kiring", .ru: "войдите"], "401")
            var big = Self.validPublic
            big["text"] = String(repeating: "x", count: 40_000)
            check(try await visitor.request(.post, "/murojaat?\(lang)", form: big), .contentTooLarge, menu: "/murojaat",
                  text: [.uz: "juda katta", .ru: "Слишком большой"], "413")
            let token = try await publicForm(visitor)
            var limited: TestResponse?
            for _ in 0..<31 {
                limited = try await visitor.request(.post, "/murojaat/holat?\(lang)", form: ["_pcsrf": token, "number": "2026-000001", "phone": "901234567"])
            }
            check(try #require(limited), .tooManyRequests, menu: "/murojaat/holat", text: [.uz: "Birozdan so", .ru: "Слишком много"], "429")
            let op = Visitor(client)
            try await op.signIn("operator")
            let origin = "http://localhost:\(client.port ?? 0)"
            let forbidden = try await op.request(.get, "/admin/users?\(lang)", headers: [.referer: "\(origin)/appeals?status=new"])
            check(forbidden, .forbidden, menu: "/panel", text: [.uz: "rolingiz uchun emas", .ru: "недоступна"], back: "/appeals?status=new",
                  "403 keeps the operator's menu and leads back")
            // A percent-encoded path of this site is never decoded into another site's address.
            for trick in ["/%2F%2Fevil.example", "/%5Cevil.example", "//evil.example/x"] {
                let page = String(buffer: try await op.request(.get, "/admin/users?\(lang)", headers: [.referer: "\(origin)\(trick)"]).body)
                #expect(!page.contains("href=\"//") && !page.contains("evil.example\" id=\"error-back"), "\(trick)")
            }
            // Another site as the referrer is never offered as "back".
            let foreign = String(buffer: try await op.request(.get, "/admin/users?\(lang)", headers: [.referer: "https://evil.example/x"]).body)
            #expect(!foreign.contains("evil.example"))
            // No telephony in this world: the state change has nothing to talk to (409), and the menu stays.
            check(try await op.request(.post, "/panel/state?\(lang)", form: ["_csrf": op.token, "state": "ready"]), .conflict, menu: "/panel",
                  text: [.uz: "Telefoniya ishlamayapti", .ru: "Телефония не работает"], "409")
            _ = world
        }
    }

    @Test func rateLimitReservationsCannotBeOverrun() async {
        let limiter = RateLimiter(limit: 3, window: 600)
        // Fifty submissions at once: exactly three get through.
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 { group.addTask { limiter.reserve("+998901234567") == nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 3)
        limiter.release("+998901234567")
        #expect(limiter.reserve("+998901234567") == nil, "a reservation given back is free again")
        #expect((limiter.reserve("+998901234567") ?? 0) > 0)
        #expect(PublicController.addressKey("2001:db8:1:2:aaaa::1") == PublicController.addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"))
        #expect(PublicController.addressKey("2001:db8:1:2::1") != PublicController.addressKey("2001:db8:1:3::1"))
        #expect(PublicController.addressKey("203.0.113.7") == "203.0.113.7")
        #expect(PublicController.addressKey("::ffff:203.0.113.7") == "203.0.113.7", "an IPv4 client on a dual-stack socket")
        #expect(PublicController.addressKey("::ffff:203.0.113.7") != PublicController.addressKey("::ffff:198.51.100.1"))
    }

    @Test("A failure inside the server is a 500 page with the layout, the menu and a way home; its cause stays in the log")
    func serverErrorPageKeepsTheLayout() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "secret internal detail" } }
        let templates = try await BackOffice.templates()
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorPageMiddleware(templates: templates, logger: Logger(label: "test")))
        router.get("/broken") { _, _ -> String in throw Broken() }
        let app = Application(router: router)
        try await app.test(.router) { client in
            for (language, words) in [("uz", "Serverda xatolik"), ("ru", "Ошибка на сервере")] {
                let response = try await client.execute(uri: "/broken?lang=\(language)", method: .get)
                let html = String(buffer: response.body)
                #expect(response.status == .internalServerError)
                #expect(html.contains(words) && html.contains("<header class=\"top\">") && html.contains("id=\"error-home\""))
                #expect(html.contains("class=\"nav\" href=\"/murojaat\""), "the public site's links for a visitor")
                #expect(!html.contains("secret internal detail"))
            }
        }
    }

    // MARK: the editor's workflow

    /// An operator saves the appeal card of a call as unresolved; its id.
    static func unresolvedCallAppeal(_ world: BackOffice.World, _ client: any TestClientProtocol) async throws -> Int64 {
        let op = Visitor(client)
        try await op.signIn("operator")
        var card = validPublic
        card["_csrf"] = op.token
        card["outcome"] = "unresolved"
        #expect(try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"]).status == .created)
        return try #require(try await world.database.query("SELECT id FROM appeals ORDER BY id DESC").decode(Int64.self).first { _ in true })
    }

    /// An SMTP server and sender, and (with `chancery`) the chancery's address: what forwarding needs.
    static func configureMail(_ database: PostgresClient, smtp: Bool = true, chancery: Bool = true) async throws {
        var values: [(String, String)] = []
        if smtp { values += [("smtp.host", "127.0.0.1"), ("smtp.from", "murojaat@dtm.uz")] }
        if chancery { values.append(("chancery.email", "devon@dtm.uz")) }
        for (key, value) in values {
            try await database.query("""
                INSERT INTO settings (key, value) VALUES (\(key), to_jsonb(\(value)::text)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger: Logger(label: "test"))
        }
    }

    @Test("Forwarding with e-mail not configured is refused with the reason; the status stays, nothing waits in the outbox",
          arguments: [(false, false), (true, false), (false, true)])
    func forwardingNeedsMail(_ smtp: Bool, _ chancery: Bool) async throws {
        try await BackOffice.run { world, client in
            try await Self.configureMail(world.database, smtp: smtp, chancery: chancery)
            let id = try await Self.unresolvedCallAppeal(world, client)
            let editor = Visitor(client)
            try await editor.signIn("editor")
            #expect(try await editor.request(.post, "/appeals/\(id)/official", form: ["_csrf": editor.token, "official_text": "Rasmiy matn."]).status == .seeOther)
            // Before: no forward button, the reason instead.
            let page = String(buffer: try await editor.request(.get, "/appeals/\(id)").body)
            #expect(!page.contains("id=\"forward\"") && page.contains("id=\"forward-blocked\""))
            #expect(page.contains(smtp ? "e-pochta manzili sozlanmagan" : "(SMTP) sozlanmagan") && page.contains("Administratorga"))
            // Sent anyway (an old page): refused with the reason, nothing changed.
            let refused = try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token])
            #expect(refused.headers[.location] == "/appeals/\(id)?error=\(smtp ? "forward_no_chancery" : "forward_no_smtp")")
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE id = \(id) AND status = 'unresolved' AND forwarded_at IS NULL") == 1)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE appeal_id = \(id) AND channel = 'email'") == 0)
            let explained = String(buffer: try await editor.request(.get, "/appeals/\(id)?error=\(smtp ? "forward_no_chancery" : "forward_no_smtp")").body)
            #expect(explained.contains("zgarmadi"))
        }
    }

    @Test func editorFormalisesForwardsOnceRecordsTheRegistrationAndPrints() async throws {
        try await BackOffice.run { world, client in
            try await Self.configureMail(world.database)
            let id = try await Self.unresolvedCallAppeal(world, client)
            let editor = Visitor(client)
            try await editor.signIn("editor")
            // Without the official wording it cannot go.
            let early = try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token])
            #expect(early.headers[.location] == "/appeals/\(id)?error=forward")
            #expect(try await editor.request(.post, "/appeals/\(id)/official", form: ["_csrf": editor.token, "official_text": "Fuqaro test natijasi bo'yicha shikoyat qildi."]).status == .seeOther)
            #expect(try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token]).headers[.location] == "/appeals/\(id)?saved=forward")
            // A second click changes nothing and sends nothing more.
            #expect(try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token]).headers[.location] == "/appeals/\(id)?error=forward")
            #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE appeal_id = \(id) AND dedupe_key = \("appeal:\(id):chancery") AND payload->>'to_setting' = 'chancery.email' AND status = 'pending'") == 1)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE id = \(id) AND status = 'forwarded' AND forwarded_at IS NOT NULL") == 1)
            // The official text is frozen once forwarded.
            let frozen = try await editor.request(.post, "/appeals/\(id)/official", form: ["_csrf": editor.token, "official_text": "changed"])
            #expect(frozen.headers[.location] == "/appeals/\(id)?error=transition")
            // The chancery's registration number; a hostile one is refused.
            #expect(try await editor.request(.post, "/appeals/\(id)/chancery", form: ["_csrf": editor.token, "chancery_reg_number": "<script>"]).headers[.location] == "/appeals/\(id)?error=registration")
            #expect(try await editor.request(.post, "/appeals/\(id)/chancery", form: ["_csrf": editor.token, "chancery_reg_number": "01-12/345"]).status == .seeOther)
            let page = String(buffer: try await editor.request(.get, "/appeals/\(id)").body)
            #expect(page.contains("01-12/345") && page.contains("pending"))
            // The printable document, for the editor and the dtm role; operators have no print route.
            let printed = try await editor.request(.get, "/appeals/\(id)/print")
            #expect(printed.status == .ok)
            let document = String(buffer: printed.body)
            #expect(document.contains("print.css") && document.contains("Fuqaro test natijasi") && document.contains("01-12/345"))
            // A print button and a way back; labelled signature lines; values in the page's language only.
            #expect(document.contains("id=\"print-button\"") && document.contains("href=\"/appeals/\(id)\" id=\"print-back\"") && document.contains("/print.js"))
            #expect(document.contains("Lavozimi") && document.contains("Imzo") && document.contains("F.I.Sh."))
            let russian = String(buffer: try await editor.request(.get, "/appeals/\(id)/print?lang=ru").body)
            #expect(russian.contains("Жалоба") && russian.contains("Ташкент") && !russian.contains("Shikoyat") && !russian.contains("Toshkent"))
            #expect(russian.contains("Подпись") && russian.contains("Ф.И.О."))
            let op = Visitor(client)
            try await op.signIn("operator")
            #expect(try await op.request(.get, "/appeals/\(id)/print").status == .forbidden)
            let dtm = Visitor(client)
            try await dtm.signIn("dtm")
            #expect(try await dtm.request(.get, "/appeals/\(id)/print").status == .ok)
            #expect(try await dtm.request(.post, "/appeals/\(id)/forward", form: ["_csrf": dtm.token]).status == .forbidden)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'appeal.print'") == 3)
        }
    }

    // MARK: knowledge base and classifier

    @Test func knowledgeBaseEditsKeepHistoryAndSearchFindsThemInBothLanguages() async throws {
        try await BackOffice.run { world, client in
            let editor = Visitor(client)
            try await editor.signIn("editor")
            let article = ["_csrf": editor.token, "topic": "results", "kind": "faq", "language": "uz",
                           "title": "Natijalar qachon e'lon qilinadi?", "body": "Test natijalari imtihondan so'ng 10 kun ichida e'lon qilinadi."]
            #expect(try await editor.request(.post, "/kb", form: article).status == .seeOther)
            var russian = article
            russian["language"] = "ru"
            russian["title"] = "Когда объявят результаты?"
            russian["body"] = "Результаты тестирования объявляются в течение 10 дней после экзамена."
            #expect(try await editor.request(.post, "/kb", form: russian).status == .seeOther)
            let id = try #require(try await world.database.query("SELECT id FROM kb_articles WHERE language = 'uz'").decode(Int64.self).first { _ in true })
            var edit = article
            edit["id"] = "\(id)"
            edit["body"] = "Natijalar 7 kun ichida e'lon qilinadi."
            edit["active"] = "1"
            #expect(try await editor.request(.post, "/kb", form: edit).status == .seeOther)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM kb_article_history WHERE article_id = \(id) AND version = 1 AND body LIKE '%10 kun%'") == 1)
            #expect(try await rowCount(world.database, "SELECT version FROM kb_articles WHERE id = \(id)") == 2)
            #expect(String(buffer: try await editor.request(.get, "/kb/\(id)/history").body).contains("10 kun"))
            // Bad input: nothing written.
            let bad = try await editor.request(.post, "/kb", form: ["_csrf": editor.token, "topic": "nope", "kind": "x", "language": "en", "title": "", "body": ""])
            #expect(bad.status == .unprocessableContent)
            var unknown = edit
            unknown["id"] = "999999"
            #expect(try await editor.request(.post, "/kb", form: unknown).status == .notFound)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM kb_articles") == 2)
            // The operator's search, as they type, in the page's language.
            let op = Visitor(client)
            try await op.signIn("operator")
            let uz = String(buffer: try await op.request(.get, "/kb/search?q=natija", headers: [.accept: "application/json"]).body)
            #expect(uz.contains("7 kun") && !uz.contains("Результаты"))
            op.cookies.withLock { $0["lang"] = "ru" }
            let ru = String(buffer: try await op.request(.get, "/kb/search?q=%D1%80%D0%B5%D0%B7%D1%83%D0%BB%D1%8C%D1%82", headers: [.accept: "application/json"]).body)
            #expect(ru.contains("Результаты"))
            let hostile = try await op.request(.get, "/kb/search?q=%27%29%3B%20DROP%20TABLE%20kb_articles%3B%20--%20%26%20%7C%20%21", headers: [.accept: "application/json"])
            #expect(hostile.status == .ok)
            #expect(try await op.request(.get, "/kb").status == .forbidden)

            // Classifier: a new subtopic in both languages, a rename, audit history; bad codes refused.
            #expect(try await editor.request(.post, "/classifier", form: ["_csrf": editor.token, "parent": "results", "code": "results.appeal_form",
                                                                          "name_uz": "Apellyatsiya arizasi", "name_ru": "Апелляционное заявление", "active": "1"]).status == .seeOther)
            #expect(try await editor.request(.post, "/classifier", form: ["_csrf": editor.token, "parent": "results", "code": "results.appeal_form",
                                                                          "name_uz": "Apellyatsiya", "name_ru": "Апелляция", "active": "1"]).status == .seeOther)
            #expect(try await editor.request(.post, "/classifier", form: ["_csrf": editor.token, "parent": "results", "code": "other.x", "name_uz": "a", "name_ru": "b"]).status == .unprocessableContent)
            #expect(try await editor.request(.post, "/classifier", form: ["_csrf": editor.token, "code": "Bad Code;", "name_uz": "a", "name_ru": "b"]).status == .unprocessableContent)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM topics WHERE code = 'results.appeal_form' AND name_ru = 'Апелляция'") == 1)
            let page = String(buffer: try await editor.request(.get, "/classifier").body)
            #expect(page.contains("Apellyatsiya arizasi")) // the rename's history keeps the old name
        }
    }

    @Test func editorsRegisterWrittenAppealsAndSeeTheirQueue() async throws {
        try await BackOffice.run { world, client in
            let editor = Visitor(client)
            try await editor.signIn("editor")
            #expect(String(buffer: try await editor.request(.get, "/appeals/new").body).contains("id=\"written-form\""))
            var written = Self.validPublic
            written["_csrf"] = editor.token
            written["phone"] = ""
            // The letter's day of receipt and how it came are required; a day in the future or a hostile number is refused.
            let undated = try await editor.request(.post, "/appeals/new", form: written)
            #expect(undated.status == .unprocessableContent)
            let undatedPage = String(buffer: undated.body)
            #expect(undatedPage.contains("id=\"err-received_on\">") && undatedPage.contains("aria-invalid=\"true\""))
            written["received_on"] = "31.12.2099"
            written["received_via"] = "pigeon"
            written["incoming_number"] = "<script>"
            let wrong = String(buffer: try await editor.request(.post, "/appeals/new", form: written).body)
            #expect(wrong.contains("kelajakdagi sana") && wrong.contains("64 belgigacha") && !wrong.contains("<script>"))
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 0)
            written["received_on"] = "03.12.2026"
            written["received_via"] = "post"
            written["incoming_number"] = "01-12/345"
            let created = try await editor.request(.post, "/appeals/new", form: written)
            #expect(created.status == .seeOther)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE source = 'written' AND phone IS NULL AND status = 'new' AND created_by = \(world.users["editor"]!) AND received_on = '2026-12-03' AND incoming_number = '01-12/345' AND received_via = 'post'") == 1)
            let shown = String(buffer: try await editor.request(.get, try #require(created.headers[.location]) + "?lang=ru").body)
            #expect(shown.contains("03.12.2026") && shown.contains("01-12/345") && shown.contains("Почтой"))
            // Bad input: errors, nothing stored.
            let refused = try await editor.request(.post, "/appeals/new", form: ["_csrf": editor.token, "citizen_name": String(repeating: "x", count: 500),
                                                                                 "category": "nope", "text": "short", "call_id": "x"])
            #expect(refused.status == .unprocessableContent)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 1)
            // The queue to formalise: an unresolved call appeal is in it, a resolved question is not.
            let op = Visitor(client)
            try await op.signIn("operator")
            for (category, outcome, text) in [("complaint", "unresolved", "Navbatga tushishi kerak bo'lgan shikoyat."), ("question", "resolved", "Navbatga tushmaydigan savol javobi.")] {
                var card = Self.validPublic
                card["_csrf"] = op.token
                card["category"] = category
                card["outcome"] = outcome
                card["text"] = text
                #expect(try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"]).status == .created)
            }
            let queue = String(buffer: try await editor.request(.get, "/appeals?queue=1").body)
            let unresolved = try #require(try await world.database.query("SELECT id FROM appeals WHERE status = 'unresolved'").decode(Int64.self).first { _ in true })
            let resolved = try #require(try await world.database.query("SELECT id FROM appeals WHERE status = 'resolved'").decode(Int64.self).first { _ in true })
            #expect(queue.contains("/appeals/\(unresolved)\"") && !queue.contains("/appeals/\(resolved)\""))
        }
    }
}
