import Foundation
import HummingbirdTesting
@testable import MurojaatApp
import PostgresNIO
import Testing

/// Issue 22, points 7 and 8: every page, as each role sees it in Chromium (text drawn by scripts included), in both
/// languages: no internal code (`in_progress`, `lunch`, `settings.test`, `complaint`, `{"ok": …}`), no English
/// status word, and dates as dd.mm.yyyy with 24-hour time.
extension BrowserTests {
    /// Words that are the product's internal codes and never UI text in Uzbek or Russian.
    static let codeWords: Set<String> = [
        "complaint", "question", "suggestion", "application", "gratitude", "answered", "resolved", "unresolved", "disputed",
        "forwarded", "closed", "lunch", "break", "training", "meeting", "email", "telegram", "pending", "sending", "sent", "failed",
        "chancery", "ready", "paused", "offline", "ringing", "abandoned", "lost", "callback", "true", "false", "null", "written",
        "registration", "results", "inbound", "caller", "system", "operator_no_answer", "ok", "yes", "no", "none", "warning", "critical",
    ]

    /// What in `text` looks like a code rather than a word: snake_case, dotted keys, JSON, English code words, and dates
    /// or times not in dd.mm.yyyy / 24-hour form.
    static func rawCodes(in text: String) -> [String] {
        var text = text
        // E-mail addresses and links are data, not words.
        for pattern in [#"\S+@\S+"#, #"https?://\S+"#] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        var found: [String] = []
        for pattern in [#"\b[a-z]+(_[a-z0-9]+)+\b"#, #"\b(appeal|settings|user|call|recording|smtp|sms|telegram|outbox|qa|kb|alerts|report|stats|eskiz|playmobile)\.[a-z_]+\b"#,
                        #"\{\s*""#, #"\b\d{4}-\d{2}-\d{2}\b"#, #"\b\d{1,2}/\d{1,2}/\d{4}\b"#, #"\b(AM|PM)\b"#, #"\+0000"#] {
            var range = text.startIndex..<text.endIndex
            while let match = text.range(of: pattern, options: .regularExpression, range: range) {
                found.append(String(text[match]))
                range = match.upperBound..<text.endIndex
            }
        }
        for word in text.split(whereSeparator: { !$0.isLetter && $0 != "_" }) where codeWords.contains(String(word)) {
            found.append(String(word))
        }
        return found
    }

    @Test func rawCodeCheckFindsWhatItShould() {
        #expect(Self.rawCodes(in: "Holat: in_progress (lunch)") == ["in_progress", "lunch"])
        #expect(Self.rawCodes(in: "settings.test {\"ok\": \"no\"}").contains("settings.test"))
        #expect(Self.rawCodes(in: "2026-12-07 14:28:31 +0000").count == 2)
        #expect(Self.rawCodes(in: "12/07/2026, 2:28 PM").count == 2)
        #expect(Self.rawCodes(in: "Yangi · 07.12.2026 14:28 · devon@dtm.uz · Shikoyat").isEmpty)
    }

    @Test("No internal code and one date format on any page, for every role, in both languages", arguments: UILanguage.allCases)
    func everyPageSpeaksPlainly(_ language: UILanguage) async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let db = world.database
            let center = try #require(world.center)
            try await BackOfficeTests.configureMail(db)
            // Something of everything: appeals in each category and status, calls of each outcome (one still going),
            // every kind of outbox row, audited settings tests, an operator paused for lunch.
            let op = Visitor(client)
            try await op.signIn("operator")
            let categories = ["question", "complaint", "suggestion", "application", "gratitude"]
            let statuses = ["new", "in_progress", "resolved", "unresolved", "disputed", "forwarded", "answered", "closed"]
            for (n, category) in categories.enumerated() {
                var card = BackOfficeTests.validPublic
                card["_csrf"] = op.token
                card["category"] = category
                card["outcome"] = ["resolved", "unresolved", "disputed"][n % 3]
                card["text"] = "Murojaat matni raqam \(n), imtihon natijalari haqida savol."
                #expect(try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"]).status == .created)
            }
            for (n, status) in statuses.enumerated() {
                try await db.query("UPDATE appeals SET status = \(status) WHERE id = (SELECT id FROM appeals ORDER BY id OFFSET \(n % 5) LIMIT 1)",
                                   logger: Logger(label: "test"))
            }
            let operatorId = try #require(world.operators["operator"])
            for (n, outcome) in ["answered", "abandoned_ivr", "abandoned_queue", "operator_no_answer", "callback_requested", "lost", "in_progress"].enumerated() {
                let id = UUID()
                try await db.query("""
                    INSERT INTO calls (id, asterisk_node, channel_id, caller_number, dialled_number, language, topic_code, started_at,
                                       answered_at, ended_at, wait_seconds, talk_seconds, operator_id, outcome, hangup_side)
                    VALUES (\(id), 'test', \("ch-\(n)"), '+998901234567', '1000', 'uz', 'results', now() - interval '2 hours',
                            now() - interval '119 minutes', \(outcome == "in_progress" ? nil : Date().addingTimeInterval(-7000)), 20,
                            \(outcome == "answered" ? 60 : nil), \(outcome == "answered" ? operatorId : nil), \(outcome), \(outcome == "in_progress" ? nil : "caller"))
                    """, logger: Logger(label: "test"))
            }
            let appealId = try #require(try await db.query("SELECT min(id) FROM appeals").decode(Int64.self).first { _ in true })
            for (n, (channel, status)) in [("email", "pending"), ("email", "sent"), ("telegram", "failed"), ("sms", "sent"), ("sms", "failed")].enumerated() {
                try await db.query("""
                    INSERT INTO outbox (channel, dedupe_key, payload, status, last_error, appeal_id, sent_at)
                    VALUES (\(channel), \("appeal:\(appealId):test:\(n)"), '{"text": "Matn", "phone": "+998901234567"}'::jsonb, \(status),
                            \(status == "failed" ? "550 mailbox unavailable" : nil), \(appealId), \(status == "sent" ? Date() : nil))
                    """, logger: Logger(label: "test"))
            }
            let admin = Visitor(client)
            try await admin.signIn("admin")
            for channel in ["email", "chancery", "telegram", "sms"] {
                _ = try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": channel])
            }
            let operator2 = try #require(world.operators["operator2"])
            try await center.setAgentState(operator2, .paused, reason: "lunch")

            let base = "http://127.0.0.1:\(try #require(client.port))"
            let pages: [(String?, [String])] = [
                (nil, ["/murojaat", "/murojaat/holat", "/login"]),
                ("operator", ["/panel", "/appeals", "/appeals/\(appealId)", "/qa/mine"]),
                ("editor", ["/appeals", "/appeals?queue=1", "/appeals/new", "/appeals/\(appealId)", "/appeals/\(appealId)/print", "/kb", "/classifier"]),
                ("supervisor", ["/wallboard", "/stats", "/stats/forecast", "/calls", "/qa", "/qa/forms", "/appeals/\(appealId)"]),
                ("dtm", ["/overview", "/appeals", "/stats", "/calls", "/qa/answers", "/appeals/\(appealId)/print"]),
                ("admin", ["/admin/users", "/admin/settings", "/admin/outbox", "/admin/audit", "/stats"]),
            ]
            var problems: [String] = []
            try await withBrowser { browser in
                for (login, paths) in pages {
                    if let login { try await signIn(browser, base, login) } else { try await browser.send("DELETE", "/cookie") }
                    for path in paths {
                        try await browser.open(base + path + (path.contains("?") ? "&" : "?") + "lang=\(language.rawValue)")
                        // Pages that draw with scripts (wallboard, panel) get a moment to draw.
                        if path == "/wallboard" { try await browser.waitFor("#agents", text: "102") }
                        if path == "/panel" { try await Task.sleep(for: .milliseconds(500)) }
                        // What is marked as code (a topic's identifier, an outbox key, a server's error) is data shown on purpose.
                        let text = (try await browser.script("""
                            document.querySelectorAll('code').forEach(function (e) { e.style.display = 'none'; });
                            return document.body.innerText;
                            """) as? String) ?? ""
                        let codes = Self.rawCodes(in: text)
                        if !codes.isEmpty {
                            problems.append("\(login ?? "public") \(path) [\(language.rawValue)]: \(Array(Set(codes)).sorted())")
                            // The page's text beside the screenshots, to see where the codes are.
                            let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                                .appendingPathComponent("../../.build/test-artifacts/pages").standardized
                            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                            let name = "\(login ?? "public")\(path)-\(language.rawValue)".replacingOccurrences(of: "/", with: "_")
                            try? text.write(to: folder.appendingPathComponent(name + ".txt"), atomically: true, encoding: .utf8)
                        }
                    }
                }
            }
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }
}
