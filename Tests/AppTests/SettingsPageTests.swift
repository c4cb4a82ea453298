import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import MurojaatApp
import PostgresNIO
import Storage
import Synchronization
import TestSupport
import Testing

@Suite("Notification settings page", .serialized)
struct SettingsPageTests {
    @Test func adminsEditSettingsWithValidationAndSendTestMessages() async throws {
        let smtp = try SMTPTestServer.start()
        defer { smtp.stop() }
        let telegram = FakeTelegram(chats: ["-1001234567890"])
        try await withHTTPServer(telegram.router) { telegramURL in
            try await BackOffice.run(configure: { $0.notifications.telegramURL = telegramURL }) { world, client in
                let admin = Visitor(client)
                try await admin.signIn("admin")
                let page = try await admin.request(.get, "/admin/settings")
                #expect(page.status == .ok)
                #expect(String(buffer: page.body).contains("name=\"smtp.host\""))
                for role in ["operator", "editor", "supervisor", "dtm"] {
                    let visitor = Visitor(client)
                    try await visitor.signIn(role)
                    #expect(try await visitor.request(.get, "/admin/settings").status == .forbidden, "\(role)")
                    #expect(try await visitor.request(.post, "/admin/settings/test", form: ["_csrf": visitor.token, "channel": "email"]).status == .forbidden)
                }
                #expect(try await admin.request(.post, "/admin/settings", form: ["smtp.host": "evil"]).status == .forbidden, "no CSRF token")

                // A bad address anywhere: nothing of the form is saved, the error is in the user's language.
                var form = ["_csrf": admin.token, "smtp.host": "127.0.0.1", "smtp.port": "\(smtp.port)", "smtp.security": "none",
                            "smtp.from": "murojaat@dtm.uz", "alerts.email": "markaz@", "telegram.bot_token": telegram.token,
                            "telegram.chat_id": "-1001234567890", "smtp.password": "s3cret-mail-pass", "sms.provider": "none"]
                let refused = try await admin.request(.post, "/admin/settings?lang=ru", form: form)
                #expect(refused.status == .unprocessableContent)
                #expect(String(buffer: refused.body).contains("Неверный адрес почты"))
                #expect(try await rowCount(world.database, "SELECT count(*) FROM settings WHERE key LIKE 'smtp.%'") == 0)
                #expect(String(buffer: try await admin.request(.get, "/admin/settings?lang=uz").body).contains("Sozlamalar"))
                for (key, value) in [("smtp.port", "99999"), ("smtp.security", "ssl3"), ("telegram.chat_id", "-100; DROP"), ("telegram.bot_token", "nope"),
                                     ("sms.provider", "other"), ("smtp.host", "a\nb"), ("outbox.max_attempts", "0"), ("smtp.from_name", String(repeating: "x", count: 501))] {
                    var bad = form
                    bad["alerts.email"] = "markaz@dtm.uz"
                    bad[key] = value
                    #expect(try await admin.request(.post, "/admin/settings", form: bad).status == .unprocessableContent, "\(key)=\(value.prefix(20))")
                }
                #expect(try await rowCount(world.database, "SELECT count(*) FROM settings WHERE key LIKE 'smtp.%'") == 0)

                form["alerts.email"] = "Markaz@DTM.uz"
                form["smtp.from_name"] = "<script>alert(1)</script>"
                #expect(try await admin.request(.post, "/admin/settings", form: form).headers[.location] == "/admin/settings?saved=1")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM settings WHERE key = 'alerts.email' AND value #>> '{}' = 'Markaz@dtm.uz'") == 1)
                // The audit row names the keys, never a password.
                #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'settings.update' AND details->>'keys' LIKE '%smtp.password%'") == 1)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE details::text LIKE '%s3cret%'") == 0)
                let shown = String(buffer: try await admin.request(.get, "/admin/settings").body)
                #expect(!shown.contains("s3cret-mail-pass") && !shown.contains(telegram.token), "secrets are not sent back to the browser")
                #expect(shown.contains("&lt;script&gt;") && !shown.contains("<script>alert"))
                // A blank secret keeps the stored one; "clear" removes it.
                form["smtp.password"] = ""
                try await admin.request(.post, "/admin/settings", form: form)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM settings WHERE key = 'smtp.password' AND value #>> '{}' = 's3cret-mail-pass'") == 1)
                form["clear.smtp.password"] = "on"
                try await admin.request(.post, "/admin/settings", form: form)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM settings WHERE key = 'smtp.password' AND value #>> '{}' = ''") == 1)

                // Test buttons: what the server answered is shown.
                let mail = String(buffer: try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": "email"]).body)
                #expect(mail.contains("id=\"test-result\"") && mail.contains("Server qabul qildi"))
                #expect(try await smtp.waitForMessages(1).count == 1)
                #expect(try ParsedMail.parse(smtp.messages[0]).to.contains("Markaz@dtm.uz"))
                let chancery = String(buffer: try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": "chancery"]).body)
                #expect(chancery.contains("chancery.email is not set"))
                let tg = String(buffer: try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": "telegram"]).body)
                #expect(tg.contains("Server qabul qildi") && telegram.messages.count == 1)
                let sms = try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": "sms", "phone": "+998 71 123 45 67"])
                #expect(sms.status == .unprocessableContent && String(buffer: sms.body).contains("Mobil raqam kiriting"))
                let noProvider = String(buffer: try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": "sms", "phone": "+998 90 123 45 67"]).body)
                #expect(noProvider.contains("no SMS provider is chosen"))
                #expect(try await admin.request(.post, "/admin/settings/test", form: ["_csrf": admin.token, "channel": "fax"]).status == .badRequest)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'settings.test'") == 4)
            }
        }
    }

    /// The worker is killed after Telegram accepted a message and before the row was marked sent: the next
    /// process sends it again once the lease expires — one duplicate at most, never a loss.
    @Test func aWorkerKilledBetweenSendingAndMarkingCausesAtMostOneDuplicate() async throws {
        let victim = Mutex<Int32>(0)
        let telegram = FakeTelegram(chats: ["-1001234567890"]) { _ in
            let pid = victim.withLock { pid in defer { pid = 0 }; return pid }
            if pid > 0 { kill(pid, SIGKILL) }
        }
        try await withHTTPServer(telegram.router) { telegramURL in
            try await withMigratedDatabase { database in
                try await withPostgres(database) { client in
                    for (key, value) in [("telegram.bot_token", telegram.token), ("telegram.chat_id", "-1001234567890")] {
                        try await client.query("INSERT INTO settings (key, value) VALUES (\(key), to_jsonb(\(value)::text))")
                    }
                    try await client.query("INSERT INTO outbox (channel, dedupe_key, payload) VALUES ('telegram', 'crash:1', '{\"text\":\"only once, please\"}')")
                    func serve() throws -> Process {
                        let process = Process()
                        process.executableURL = ShutdownTests.binary
                        process.arguments = ["serve"]
                        var environment = ProcessInfo.processInfo.environment
                        environment["MUROJAAT_DATABASE_URL"] = "postgres://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
                        environment["MUROJAAT_HTTP_PORT"] = "\(try freePort())"
                        environment["MUROJAAT_ARI_URL"] = ""
                        environment["MUROJAAT_TELEGRAM_API_URL"] = telegramURL
                        environment["MUROJAAT_OUTBOX_LEASE_SECONDS"] = "2"
                        environment["MUROJAAT_OUTBOX_POLL_SECONDS"] = "0.1"
                        environment["MUROJAAT_TEMPLATES_DIR"] = ShutdownTests.binary.deletingLastPathComponent().appendingPathComponent("../../Templates").standardized.path
                        process.environment = environment
                        process.standardOutput = FileHandle.nullDevice
                        process.standardError = FileHandle.nullDevice
                        try process.run()
                        return process
                    }
                    let first = try serve()
                    victim.withLock { $0 = first.processIdentifier }
                    defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
                    let clock = ContinuousClock()
                    var deadline = clock.now.advanced(by: .seconds(60))
                    while first.isRunning && clock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                    #expect(!first.isRunning && first.terminationReason == .uncaughtSignal, "killed by the fake Telegram after it accepted the message")
                    #expect(telegram.messages.count == 1)
                    #expect(try await rowCount(client, "SELECT count(*) FROM outbox WHERE dedupe_key = 'crash:1' AND status = 'sending'") == 1)

                    let second = try serve()
                    defer { if second.isRunning { kill(second.processIdentifier, SIGTERM) }; second.waitUntilExit() }
                    deadline = clock.now.advanced(by: .seconds(60))
                    while try await rowCount(client, "SELECT count(*) FROM outbox WHERE dedupe_key = 'crash:1' AND status = 'sent'") == 0, clock.now < deadline {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    #expect(try await rowCount(client, "SELECT count(*) FROM outbox WHERE dedupe_key = 'crash:1' AND status = 'sent' AND attempts = 2") == 1)
                    try await Task.sleep(for: .seconds(2.5))
                    #expect(telegram.messages.map(\.text) == ["only once, please", "only once, please"], "exactly one duplicate, then never again")
                }
            }
        }
    }
}
