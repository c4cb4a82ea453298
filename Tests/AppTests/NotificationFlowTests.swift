import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import MurojaatApp
import Notifications
import PostgresNIO
import Storage
import Synchronization
import TestSupport
import Testing

/// Notifications end to end: rows written with the appeal, delivered by the worker to a real SMTP server
/// and to local Telegram and SMS gateways, retried, failed, retried by an admin; nothing lost, nothing doubled.
@Suite("Notifications through the outbox", .serialized)
struct NotificationFlowTests {
    static let chat = "-1001234567890"

    static func setting(_ database: PostgresClient, _ key: String, _ value: String) async throws {
        try await database.query("""
            INSERT INTO settings (key, value) VALUES (\(key), to_jsonb(\(value)::text)) ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    static func configureAll(_ database: PostgresClient, smtp: SMTPTestServer, telegram: FakeTelegram, eskiz: FakeEskiz) async throws {
        for (key, value) in [("smtp.host", "127.0.0.1"), ("smtp.port", "\(smtp.port)"), ("smtp.security", "none"), ("smtp.from", "murojaat@dtm.uz"),
                             ("alerts.email", "markaz@dtm.uz"), ("chancery.email", "devon@dtm.uz"), ("telegram.bot_token", telegram.token),
                             ("telegram.chat_id", chat), ("telegram.per_minute", "6000"), ("sms.provider", "eskiz"), ("eskiz.email", eskiz.email),
                             ("eskiz.password", eskiz.password), ("sms.callback_secret", "cb-secret")] {
            try await setting(database, key, value)
        }
    }

    static func worker(_ world: BackOffice.World, retry: Double = 0.05, lease: Double = 120) -> OutboxWorker {
        var configuration = world.web.configuration.notifications
        configuration.retrySeconds = retry
        configuration.leaseSeconds = lease
        configuration.pollSeconds = 0.05
        return OutboxWorker(database: world.database, configuration: configuration, publicURL: "https://murojaat.dtm.uz",
                            timeZone: TimeZone(identifier: "Asia/Tashkent")!, logger: Logger(label: "test.outbox"))
    }

    static func configuration(telegram: String, eskiz: String) -> @Sendable (inout AppConfiguration) -> Void {
        { config in
            config.notifications.telegramURL = telegram
            config.notifications.eskizURL = eskiz
            config.publicURL = "https://murojaat.dtm.uz"
        }
    }

    @Test func anAppealsAlertsAndSMSAreWrittenWithItAndDeliveredOnce() async throws {
        let smtp = try SMTPTestServer.start()
        defer { smtp.stop() }
        let telegram = FakeTelegram(chats: [Self.chat])
        let eskiz = FakeEskiz()
        try await withHTTPServer(telegram.router) { telegramURL in
            try await withHTTPServer(eskiz.router) { eskizURL in
                try await BackOffice.run(configure: Self.configuration(telegram: telegramURL, eskiz: eskizURL)) { world, client in
                    try await Self.configureAll(world.database, smtp: smtp, telegram: telegram, eskiz: eskiz)
                    let op = Visitor(client)
                    try await op.signIn("operator")
                    var card = BackOfficeTests.validPublic
                    card["text"] = "Natijam <script>alert('x')</script> & boshqa muammo: test bali noto'g'ri hisoblangan."
                    card["outcome"] = "unresolved"
                    card["_csrf"] = op.token
                    #expect(try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"]).status == .created)
                    let (id, number) = try #require(try await world.database.query("SELECT id, number FROM appeals").decode((Int64, String).self).first { _ in true })
                    // One complaint saved as unresolved: one alert per channel (not two), and the citizen's SMS.
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE appeal_id = \(id) AND status = 'pending'") == 3)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = \("appeal:\(id):alert:email")") == 1)

                    let worker = Self.worker(world)
                    #expect(try await worker.deliverBatch() == 2)
                    #expect(try await worker.deliverTelegram() == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE status = 'sent' AND provider_message_id IS NOT NULL AND attempts = 1") == 3)

                    let mail = try ParsedMail.parse(try #require(try await smtp.waitForMessages(1).first))
                    #expect(mail.subject.contains(number) && mail.to.contains("markaz@dtm.uz"))
                    let text = try #require(mail.text)
                    #expect(text.contains("+998 90 *** ** 67") && !text.contains("1234567"), "the phone is masked")
                    #expect(text.contains("https://murojaat.dtm.uz/appeals/\(id)") && text.contains("Test operator"))
                    let alert = try #require(telegram.messages.first)
                    #expect(alert.chat == Self.chat && alert.parseMode == "HTML")
                    #expect(alert.text.contains("&lt;script&gt;") && !alert.text.contains("<script>"))
                    #expect(alert.text.contains(number) && alert.text.contains("+998 90 *** ** 67"))
                    let sms = try #require(eskiz.sent.first)
                    #expect(sms.phone == "998901234567" && sms.message.contains(number))
                    #expect(sms.message.contains("https://murojaat.dtm.uz/murojaat/holat?number=\(number)"))
                    #expect(sms.callback == "https://murojaat.dtm.uz/sms/reports/eskiz?key=cb-secret")

                    // Sent rows are never sent again.
                    #expect(try await worker.deliverBatch() == 0)
                    #expect(try await worker.deliverTelegram() == 0)
                    #expect(smtp.messages.count == 1 && telegram.messages.count == 1 && eskiz.sent.count == 1)

                    // The editor forwards: the chancery e-mail and the citizen's SMS, in the citizen's language.
                    let editor = Visitor(client)
                    try await editor.signIn("editor")
                    try await editor.request(.post, "/appeals/\(id)/official", form: ["_csrf": editor.token, "official_text": "Rasmiy matn: natija qayta ko'rib chiqilsin."])
                    try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token])
                    try await editor.request(.post, "/appeals/\(id)/forward", form: ["_csrf": editor.token])
                    #expect(try await worker.deliverBatch() == 2)
                    let chancery = try ParsedMail.parse(try #require(try await smtp.waitForMessages(2).last))
                    #expect(chancery.to.contains("devon@dtm.uz") && chancery.text?.contains("Rasmiy matn") == true)
                    #expect(eskiz.sent.last?.message.contains("devonxonasiga yuborildi") == true)
                    #expect(smtp.messages.count == 2 && eskiz.sent.count == 2)

                    // The appeal page lists what was sent, with the SMS's segments.
                    let page = String(buffer: try await editor.request(.get, "/appeals/\(id)").body)
                    #expect(page.contains("id=\"notifications\"") && page.contains("GSM-7"))

                    // An editor's own SMS: refused when too long, sent once however often it is posted.
                    let long = String(repeating: "ж", count: 403)
                    #expect(try await editor.request(.post, "/appeals/\(id)/sms", form: ["_csrf": editor.token, "sms_text": long]).headers[.location] == "/appeals/\(id)?error=sms_text")
                    for _ in 0..<2 {
                        #expect(try await editor.request(.post, "/appeals/\(id)/sms", form: ["_csrf": editor.token, "sms_text": "Hurmatli fuqaro, javob tayyor."]).headers[.location] == "/appeals/\(id)?saved=sms")
                    }
                    #expect(try await op.request(.post, "/appeals/\(id)/sms", form: ["_csrf": op.token, "sms_text": "x"]).status == .forbidden)
                    #expect(try await worker.deliverBatch() == 1)
                    #expect(eskiz.sent.count == 3 && eskiz.sent.last?.message == "Hurmatli fuqaro, javob tayyor.")
                }
            }
        }
    }

    @Test func failuresAreRetriedWithBackoffThenFailedAndAnAdminRetries() async throws {
        let tempfail = try SMTPTestServer.start(mode: .tempfail)
        defer { tempfail.stop() }
        let reject = try SMTPTestServer.start(mode: .reject)
        defer { reject.stop() }
        let accept = try SMTPTestServer.start()
        defer { accept.stop() }
        let telegram = FakeTelegram(chats: [Self.chat])
        let eskiz = FakeEskiz()
        try await withHTTPServer(telegram.router) { telegramURL in
            try await withHTTPServer(eskiz.router) { eskizURL in
                try await BackOffice.run(configure: Self.configuration(telegram: telegramURL, eskiz: eskizURL)) { world, client in
                    try await Self.configureAll(world.database, smtp: tempfail, telegram: telegram, eskiz: eskiz)
                    try await Self.setting(world.database, "outbox.max_attempts", "3")
                    let worker = Self.worker(world, retry: 0.3)
                    try await Outbox.enqueue(.email, key: "test:1", payload: OutboxPayload(to: "a@dtm.uz", subject: "s", text: "t"), database: world.database,
                                             logger: Logger(label: "t"))
                    #expect(try await worker.deliverBatch() == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = 'test:1' AND status = 'pending' AND attempts = 1 AND last_error LIKE 'SMTP 451%' AND next_attempt_at > now()") == 1)
                    // Not due yet: nothing is tried.
                    #expect(try await worker.deliverBatch() == 0)
                    try await Task.sleep(for: .milliseconds(350))
                    #expect(try await worker.deliverBatch() == 1)
                    // The second delay is twice the first.
                    #expect(try await worker.deliverBatch() == 0)
                    try await Task.sleep(for: .milliseconds(350))
                    #expect(try await worker.deliverBatch() == 0, "0.6 s backoff after the second attempt")
                    try await Task.sleep(for: .milliseconds(350))
                    #expect(try await worker.deliverBatch() == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = 'test:1' AND status = 'failed' AND attempts = 3") == 1)

                    // 5xx is final at once; so are Telegram's 400 and the SMS gateway's refusal.
                    try await Self.setting(world.database, "smtp.port", "\(reject.port)")
                    try await Self.setting(world.database, "telegram.chat_id", "-100777")
                    try await Self.setting(world.database, "eskiz.password", "wrong")
                    try await Outbox.enqueue(.email, key: "test:2", payload: OutboxPayload(to: "a@dtm.uz", subject: "s", text: "t"), database: world.database, logger: Logger(label: "t"))
                    try await Outbox.enqueue(.telegram, key: "test:3", payload: OutboxPayload(text: "x"), database: world.database, logger: Logger(label: "t"))
                    try await Outbox.enqueue(.sms, key: "test:4", payload: OutboxPayload(text: "x", phone: "+998901234567"), database: world.database, logger: Logger(label: "t"))
                    try await Outbox.enqueue(.sms, key: "test:5", payload: OutboxPayload(text: "x", phone: "+998711234567"), database: world.database, logger: Logger(label: "t"))
                    #expect(try await worker.deliverBatch() == 3)
                    #expect(try await worker.deliverTelegram() == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE status = 'failed' AND attempts = 1") == 4)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = 'test:3' AND last_error LIKE '%chat not found%'") == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = 'test:4' AND last_error LIKE '%401%'") == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = 'test:5' AND last_error LIKE 'not a mobile number%'") == 1)

                    // The admin sees the failures with their errors and sends one again after fixing the setting.
                    let admin = Visitor(client)
                    try await admin.signIn("admin")
                    let list = String(buffer: try await admin.request(.get, "/admin/outbox?status=failed").body)
                    #expect(list.contains("SMTP 451") && list.contains("SMTP 550") && list.contains("chat not found"))
                    let failedID = try #require(try await world.database.query("SELECT id FROM outbox WHERE dedupe_key = 'test:1'").decode(Int64.self).first { _ in true })
                    #expect(try await admin.request(.post, "/admin/outbox/\(failedID)/retry", form: [:]).status == .forbidden, "CSRF")
                    let editor = Visitor(client)
                    try await editor.signIn("editor")
                    #expect(try await editor.request(.post, "/admin/outbox/\(failedID)/retry", form: ["_csrf": editor.token]).status == .forbidden)
                    #expect(try await admin.request(.post, "/admin/outbox/\(failedID)/retry", form: ["_csrf": admin.token]).status == .seeOther)
                    try await Self.setting(world.database, "smtp.port", "\(accept.port)")
                    #expect(try await worker.deliverBatch() == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE id = \(failedID) AND status = 'sent'") == 1)
                    #expect(accept.messages.count == 1)
                    #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'outbox.retry' AND object_id = \("\(failedID)")") == 1)
                    // A sent row cannot be "retried".
                    try await admin.request(.post, "/admin/outbox/\(failedID)/retry", form: ["_csrf": admin.token])
                    #expect(try await worker.deliverBatch() == 0)
                    #expect(accept.messages.count == 1)
                }
            }
        }
    }

    @Test func aThousandAlertsKeepTheirOrderUnderTelegramsRateLimit() async throws {
        // The group was a plain group and became a supergroup; every 100th request is refused with 429, retry after 1 s.
        let telegram = FakeTelegram(chats: ["-1009999999999"], migrations: ["-4000000001": "-1009999999999"], retryAfter: 1, limitEvery: 100)
        try await withHTTPServer(telegram.router) { telegramURL in
            try await BackOffice.run(configure: Self.configuration(telegram: telegramURL, eskiz: "http://127.0.0.1:9")) { world, _ in
                try await Self.setting(world.database, "telegram.bot_token", telegram.token)
                try await Self.setting(world.database, "telegram.chat_id", "-4000000001")
                try await Self.setting(world.database, "telegram.per_minute", "9000")
                try await world.database.query("""
                    INSERT INTO outbox (channel, dedupe_key, payload)
                    SELECT 'telegram', 'bulk:' || n, jsonb_build_object('text', 'alert ' || n) FROM generate_series(1, 1000) AS n ORDER BY n
                    """)
                let worker = Self.worker(world)
                let started = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await worker.run() }
                    while try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE status = 'sent'") < 1000,
                          ContinuousClock.now - started < .seconds(120) {
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    group.cancelAll()
                }
                let texts = telegram.messages.map(\.text)
                #expect(texts.count == 1000, "each alert once")
                #expect(texts == (1...1000).map { "alert \($0)" }, "in the order written")
                #expect(Set(telegram.messages.map(\.chat)) == ["-1009999999999"])
                #expect(telegram.tooManyRequests >= 9, "the 429s were honoured")
                // Paced to the group's rate (9000 a minute = 150 a second): no second holds more than that.
                let times = telegram.messages.map(\.at)
                var busiest = 0
                var start = 0
                for end in times.indices {
                    while times[end] - times[start] >= .seconds(1) { start += 1 }
                    busiest = max(busiest, end - start + 1)
                }
                #expect(busiest <= 152, "at most 150 messages in any second, saw \(busiest)")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM settings WHERE key = 'telegram.chat_id' AND value #>> '{}' = '-1009999999999'") == 1)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'settings.telegram_migrated'") == 1)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE status = 'sent' AND attempts = 1") == 1000,
                        "rate limits and the migration do not count as attempts")
                print("1000 Telegram alerts delivered in \(ContinuousClock.now - started); 429 answers: \(telegram.tooManyRequests)")
            }
        }
    }

    @Test func smsDeliveryReportsAreMatchedAndHostileReportsRefused() async throws {
        try await BackOffice.run { world, client in
            try await Self.setting(world.database, "sms.callback_secret", "cb-secret")
            let op = Visitor(client)
            try await op.signIn("operator")
            var card = BackOfficeTests.validPublic
            card["_csrf"] = op.token
            card["outcome"] = "resolved"
            card["category"] = "question"
            try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"])
            let id = try #require(try await world.database.query("SELECT id FROM appeals").decode(Int64.self).first { _ in true })
            try await world.database.query("""
                INSERT INTO outbox (channel, dedupe_key, payload, status, provider_message_id, appeal_id, sent_at)
                VALUES ('sms', 'r:1', '{"text":"x","phone":"+998901234567"}', 'sent', 'eskiz-abc', \(id), now()),
                       ('sms', 'r:2', '{"text":"y","phone":"+998901234567"}', 'sent', 'murojaat-77', \(id), now())
                """)
            let gateway = Visitor(client)
            let form = "request_id=1&message_id=eskiz-abc&user_sms_id=&phone_number=998901234567&status=DELIVERED&status_date=2026-11-26+10%3A00%3A00"
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=wrong", rawBody: form).status == .notFound)
            #expect(try await gateway.request(.post, "/sms/reports/eskiz", rawBody: form).status == .notFound)
            #expect(try await gateway.request(.post, "/sms/reports/other?key=cb-secret", rawBody: form).status == .notFound)
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=cb-secret", rawBody: form).status == .ok)
            let json = #"{"messages":[{"message-id":"murojaat-77","status":"delivered","delivered-date":"2026-11-26 10:01:00"}]}"#
            #expect(try await gateway.request(.post, "/sms/reports/playmobile?key=cb-secret", headers: [.contentType: "application/json"], rawBody: json).status == .ok)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM sms_delivery_reports WHERE outbox_id IS NOT NULL AND status = 'DELIVERED' AND status_at IS NOT NULL") == 2)
            // Unknown message ids are kept unmatched; broken and oversized bodies are refused.
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=cb-secret", rawBody: "message_id=nobody&status=REJECTED").status == .ok)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM sms_delivery_reports WHERE outbox_id IS NULL AND status = 'REJECTED'") == 1)
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=cb-secret", rawBody: "message_id=eskiz-abc").status == .badRequest)
            #expect(try await gateway.request(.post, "/sms/reports/playmobile?key=cb-secret", headers: [.contentType: "application/json"], rawBody: "{not json").status == .badRequest)
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=cb-secret", rawBody: "message_id=x&status=" + String(repeating: "A", count: 41)).status == .badRequest)
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=cb-secret", rawBody: "message_id=x&status=D&pad=" + String(repeating: "A", count: 20_000)).status == .contentTooLarge)
            #expect(try await gateway.request(.post, "/sms/reports/eskiz?key=cb-secret", rawBody: "message_id=%27%3B+DROP+TABLE+outbox%3B--&status=DELIVERED").status == .ok)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox") == 2)
            let editor = Visitor(client)
            try await editor.signIn("editor")
            #expect(String(buffer: try await editor.request(.get, "/appeals/\(id)").body).contains("DELIVERED"))
        }
    }

    @Test func monthlyReportIsQueuedOnceAMonthWithItsFigures() async throws {
        let smtp = try SMTPTestServer.start()
        defer { smtp.stop() }
        try await BackOffice.run { world, _ in
            let zone = TimeZone(identifier: "Asia/Tashkent")!
            // 1 November 2026, 00:30 in Tashkent: the October report is due.
            let now = ISO8601DateFormatter().date(from: "2026-10-31T19:30:00Z")!
            let logger = Logger(label: "test.report")
            #expect(try await MonthlyReport.schedule(world.database, publicURL: "https://m", timeZone: zone, now: now, logger: logger) == false,
                    "no responsible employee set: nothing to send")
            try await world.database.query("""
                INSERT INTO calls (asterisk_node, channel_id, caller_number, started_at, queued_at, answered_at, ended_at, wait_seconds, talk_seconds, outcome, repeated) VALUES
                ('ast1', 'c1', '+998901111111', '2026-10-05 10:00+05', '2026-10-05 10:00:20+05', '2026-10-05 10:00:30+05', '2026-10-05 10:02:10+05', 10, 100, 'answered', false),
                ('ast1', 'c2', '+998901111111', '2026-10-05 11:00+05', '2026-10-05 11:00:20+05', NULL, '2026-10-05 11:00:50+05', 30, NULL, 'abandoned_queue', true),
                ('ast1', 'c3', '+998902222222', '2026-10-31 23:59+05', NULL, NULL, '2026-11-01 00:00:10+05', NULL, NULL, 'abandoned_ivr', false),
                ('ast1', 'c4', '+998903333333', '2026-11-01 00:01+05', NULL, NULL, '2026-11-01 00:02+05', NULL, NULL, 'abandoned_ivr', false),
                ('ast1', 'c5', '+998903333333', '2026-09-30 23:59+05', NULL, NULL, '2026-10-01 00:02+05', NULL, NULL, 'abandoned_ivr', false)
                """)
            for (key, value) in [("report.email", "masul@dtm.uz"), ("smtp.host", "127.0.0.1"), ("smtp.port", "\(smtp.port)"), ("smtp.security", "none"),
                                 ("smtp.from", "murojaat@dtm.uz")] {
                try await Self.setting(world.database, key, value)
            }
            #expect(try await MonthlyReport.schedule(world.database, publicURL: "https://m", timeZone: zone, now: now, logger: logger) == true)
            #expect(try await MonthlyReport.schedule(world.database, publicURL: "https://m", timeZone: zone, now: now.addingTimeInterval(3600), logger: logger) == false)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE dedupe_key = 'report:monthly:2026-10'") == 1)
            #expect(try await Self.worker(world).deliverBatch() == 1)
            let mail = try ParsedMail.parse(try #require(try await smtp.waitForMessages(1).first))
            #expect(mail.to.contains("masul@dtm.uz") && mail.subject.contains("2026-10"))
            // Every table of the statistics report comes as a CSV; the summary's figures are hand-computed.
            #expect(mail.attachments.count == 10)
            let summary = try #require(mail.attachments.first { $0.filename == "murojaat-2026-10-summary.csv" })
            let csv = String(decoding: Data(base64Encoded: summary.data) ?? Data(), as: UTF8.self)
            // As the page shows it in Uzbek: the period first, then the headers, `;`-separated, durations as h:mm:ss.
            let lines = csv.split(separator: "\r\n").map(String.init)
            #expect(lines.first == "\u{FEFF}Umumiy ko'rsatkichlar · Davr: 01.10.2026 — 31.10.2026")
            let byLabel = Dictionary(uniqueKeysWithValues: lines.dropFirst(2).map { line -> (String, String) in
                let parts = line.split(separator: ";", omittingEmptySubsequences: false)
                // A label with a comma in it comes quoted.
                return (parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "\"")), parts.count > 1 ? String(parts[1]) : "")
            })
            let figures = Dictionary(uniqueKeysWithValues: ["calls_received", "calls_answered", "abandoned_ivr", "abandoned_queue", "repeated_calls",
                                                            "talk_seconds_total", "talk_seconds_average", "wait_seconds_average", "wait_seconds_longest",
                                                            "service_level_percent", "abandonment_percent"].map { ($0, byLabel[Strings.text("m_\($0)", .uz)]) })
            // Three October calls in Tashkent time (c3 at 23:59 on the 31st counts, c4 and c5 do not).
            #expect(figures["calls_received"] == "3")
            #expect(figures["calls_answered"] == "1")
            #expect(figures["abandoned_ivr"] == "1")
            #expect(figures["abandoned_queue"] == "1")
            #expect(figures["repeated_calls"] == "1")
            #expect(figures["talk_seconds_total"] == "0:01:40")
            #expect(figures["talk_seconds_average"] == "0:01:40")
            #expect(figures["wait_seconds_average"] == "0:00:20")
            #expect(figures["wait_seconds_longest"] == "0:00:30")
            #expect(figures["service_level_percent"] == "50.0", "1 of the 2 calls that reached the queue answered within 20 s")
            #expect(figures["abandonment_percent"] == "50.0")
            #expect(mail.html?.contains("Xizmat darajasi") == true && mail.text?.contains("/stats?from=2026-10-01&to=2026-10-31") == true)
        }
    }
}
