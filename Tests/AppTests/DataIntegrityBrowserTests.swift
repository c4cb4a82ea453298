import Foundation
import HummingbirdTesting
@testable import MurojaatApp
import PostgresNIO
import Testing

/// Issue 22's data-integrity points as a person meets them in Chromium: no double appeal from a refresh, a
/// resend or a double click; the panel's appeal card never saved against the wrong call; no "forwarded" while
/// the letter cannot leave. Each fails without its fix.
extension BrowserTests {
    enum Screen: String, CaseIterable, Sendable { case phone, office }

    @Test("Public form: refresh, back-and-send and a double submission make one appeal; the status page keeps the number",
          arguments: [UILanguage.uz, .ru], Screen.allCases)
    func publicFormSubmitsOnce(_ language: UILanguage, _ screen: Screen) async throws {
        try await BackOffice.run { world, client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                if screen == .phone { try await browser.resize(width: 390, height: 844) } else { try await browser.resize(width: 1366, height: 768) }
                func fill(_ name: String, _ text: String = "Ro'yxatdan o'tish muddati qachon tugaydi? Iltimos, javob bering.") async throws {
                    try await browser.type("input[name=citizen_name]", name)
                    try await browser.type("input[name=phone]", "+998 93 555 44 33")
                    try await browser.select("select[name=region]", value: "SA")
                    try await browser.select("select[name=category]", value: "complaint")
                    try await browser.select("select[name=topic]", value: "registration")
                    try await browser.type("textarea[name=text]", text)
                    try await browser.script("document.querySelector('input[name=consent]').checked = true;")
                }
                try await browser.open(base + "/murojaat?lang=\(language.rawValue)")
                try await fill("Aliyev Vali")
                try await browser.click("#send")
                try await browser.waitFor("#appeal-number")
                let number = try await browser.text("#appeal-number")
                #expect(try await browser.url().contains("/murojaat/qabul/"), "post/redirect/get")
                #expect(try await browser.text("#appeal-due").count == 10, "the due date, dd.mm.yyyy")
                // A refresh of the thank-you page shows it again and sends nothing.
                try await browser.refresh()
                try await browser.waitFor("#appeal-number", text: number)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE citizen_name = 'Aliyev Vali'") == 1)
                // Back to the form and send again: the form's one-time key leads to the same appeal.
                try await browser.back()
                try await browser.waitFor("#public-form")
                if (try await browser.script("return document.querySelector('input[name=citizen_name]').value;") as? String) == "Aliyev Vali" {
                    try await browser.click("#send")
                    try await browser.waitFor("#appeal-number", text: number)
                }
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE citizen_name = 'Aliyev Vali'") == 1)
                // A double submission (two requests with the same form, as a double click sends them): one appeal.
                try await browser.open(base + "/murojaat?lang=\(language.rawValue)")
                try await fill("Karimov Anvar", "Imtihon natijalarini qayerdan ko'rsam bo'ladi? Sahifa ochilmayapti.")
                let landed = try await browser.script("""
                    var body = new URLSearchParams(new FormData(document.getElementById('public-form')));
                    var send = function () { return fetch('/murojaat', { method: 'POST', body: body, credentials: 'same-origin' }).then(function (r) { return r.url; }); };
                    return Promise.all([send(), send()]);
                    """) as? [String]
                #expect(landed?.count == 2 && landed?[0] == landed?[1] && landed?[0].contains("/murojaat/qabul/") == true, "\(landed ?? [])")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE citizen_name = 'Karimov Anvar'") == 1)
                #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE channel = 'sms'") <= 2, "one SMS per appeal at most")
                // The thank-you page's link opens the status page with the number filled in.
                try await browser.open(base + "/murojaat/holat?number=\(number)")
                #expect(try await browser.script("return document.querySelector('input[name=number]').value;") as? String == number)
                let width = try await browser.script("return document.documentElement.scrollWidth <= window.innerWidth;") as? Bool
                #expect(width == true, "no horizontal scroll")
                try await browser.screenshot("public-status-\(language.rawValue)-\(screen.rawValue)")
            }
        }
    }

    @Test("Operator panel: the appeal card stays with the call it was opened for when the next call comes; state buttons answer in the panel; a double save makes one appeal")
    func panelCardStaysWithItsCall() async throws {
        try await BackOffice.run(telephony: true, wrapUpSeconds: 30) { world, client in
            let sim = try #require(world.simulator)
            let center = try #require(world.center)
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await browser.resize(width: 1366, height: 768)
                try await signIn(browser, base, "operator")
                try await browser.click("#set-ready")
                try await browser.waitFor("#agent-state", text: "Tayyor")
                try await browser.script("window.__marker = 'same page';")
                let first = try await callAndChoose(sim, center, from: "+998901112233", choice: "9")
                try await browser.waitFor("#caller-number", text: "+998901112233")
                try await browser.waitFor("#agent-state", text: "Suhbatda")
                // During the call, ready and pause are not offered; sent anyway, the answer stays in the panel.
                #expect(try await browser.script("return document.getElementById('set-ready').disabled && document.getElementById('set-pause').disabled;") as? Bool == true)
                try await browser.type("input[name=citizen_name]", "Karimova Dilnoza")
                try await browser.type("textarea[name=text]", "Ball hisoblashda xatolik bor deb hisoblayman, qayta ko'rib chiqishni so'rayman.")
                try await browser.script("document.getElementById('ready-form').requestSubmit();")
                try await browser.waitFor("#state-message", text: "holatni")
                #expect(try await browser.script("return window.__marker;") as? String == "same page", "no full-page error")
                #expect(try await browser.script("return document.querySelector('input[name=citizen_name]').value;") as? String == "Karimova Dilnoza")
                let firstCall = try #require(try await browser.script("return document.getElementById('card-call-id').value;") as? String)
                #expect(firstCall.count == 36)
                // Point 12: the card is pre-filled with what the caller chose in the IVR, and fits one 1366×768 screen.
                #expect(try await browser.script("return document.getElementById('card-topic').value;") as? String == "results")
                #expect(try await browser.script("return document.getElementById('card-language').value;") as? String == "uz")
                let cardHeight = try await browser.script("return document.getElementById('appeal-card').getBoundingClientRect().height;") as? Double
                #expect((cardHeight ?? 9999) <= 768, "the appeal card is \(cardHeight ?? 0) px high")
                // The caller hangs up: wrap-up counts down on screen; the operator ends it early, and the next call is
                // answered while the card is still being written.
                try await sim.remoteHangup(first)
                try await browser.waitFor("#wrap-countdown", text: "Yakunlashga qoldi: 0:")
                try await browser.click("#set-ready")
                try await browser.waitFor("#agent-state", text: "Tayyor")
                #expect(try await browser.script("return document.getElementById('wrap-countdown').hidden;") as? Bool == true)
                let second = try await callAndChoose(sim, center, from: "+998935556677", choice: "9")
                try await browser.waitFor("#caller-number", text: "+998935556677")
                try await browser.waitFor("#agent-state", text: "Suhbatda")
                try await browser.waitFor("#card-other", text: "+998935556677")
                #expect(try await browser.script("return document.getElementById('card-call-id').value;") as? String == firstCall,
                        "the card stays with the call it was opened for")
                #expect(try await browser.script("return document.querySelector('input[name=citizen_name]').value;") as? String == "Karimova Dilnoza")
                try await browser.screenshot("operator-panel-two-calls")
                try await browser.select("select[name=region]", value: "TK")
                try await browser.select("select[name=category]", value: "complaint")
                try await browser.select("#card-topic", value: "results")
                try await browser.type("textarea[name=answer]", "Apellyatsiya tartibi tushuntirildi.")
                try await browser.select("select[name=outcome]", value: "disputed")
                try await browser.script("document.querySelector('#appeal-card input[name=consent]').checked = true;")
                try await browser.click("#save-appeal")
                try await browser.waitFor("#card-message", text: "-0000")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE citizen_name = 'Karimova Dilnoza' AND call_id = \(UUID(uuidString: firstCall)!)") == 1)
                // Saved: the card goes to the call being talked to now, with the caller's number.
                let secondCall = try #require(await center.callSnapshot().first { $0.channelId == second }?.id.uuidString.lowercased())
                try await browser.waitFor("#card-bound", text: "+998935556677")
                #expect(try await browser.script("return document.getElementById('card-call-id').value;") as? String == secondCall)
                #expect(try await browser.script("return document.getElementById('card-phone').value;") as? String == "+998935556677")
                // A double save of the second caller's card (two requests with one form): one appeal.
                try await browser.type("input[name=citizen_name]", "Toshmatov Bobur")
                try await browser.select("select[name=region]", value: "TK")
                try await browser.select("select[name=category]", value: "question")
                try await browser.select("#card-topic", value: "results")
                try await browser.type("textarea[name=text]", "Natijalar qachon e'lon qilinadi, deb so'radi.")
                try await browser.select("select[name=outcome]", value: "resolved")
                try await browser.script("document.querySelector('#appeal-card input[name=consent]').checked = true;")
                let statuses = try await browser.script("""
                    var panel = document.querySelector('.panel');
                    var body = new URLSearchParams(new FormData(document.getElementById('appeal-card')));
                    var send = function () {
                      return fetch('/panel/appeal', { method: 'POST', body: body, credentials: 'same-origin',
                        headers: { 'X-CSRF-Token': panel.getAttribute('data-csrf'), 'Accept': 'application/json' } }).then(function (r) { return r.status; });
                    };
                    return Promise.all([send(), send()]);
                    """) as? [Any]
                #expect(statuses?.count == 2, "\(statuses ?? [])")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE citizen_name = 'Toshmatov Bobur'") == 1)
                try await sim.remoteHangup(second)
                // A pause says why.
                try await browser.waitFor("#wrap-countdown", text: "Yakunlashga qoldi")
                try await browser.select("#pause-form select[name=reason]", value: "lunch")
                try await browser.click("#set-pause")
                try await browser.waitFor("#agent-reason", text: "Tushlik")
            }
        }
    }

    @Test("Appeal page: with e-mail not configured the editor is not offered forwarding and is told why")
    func forwardingWithoutMailIsExplained() async throws {
        try await BackOffice.run { world, client in
            let id = try await BackOfficeTests.unresolvedCallAppeal(world, client)
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await signIn(browser, base, "editor")
                try await browser.open(base + "/appeals/\(id)?lang=ru")
                try await browser.type("textarea[name=official_text]", "Гражданин не согласен с результатом.")
                try await browser.click("#save-official")
                try await browser.waitFor("#forward-blocked", text: "SMTP")
                #expect(try await browser.script("return document.getElementById('forward') === null;") as? Bool == true)
                try await browser.screenshot("appeal-forward-blocked-ru")
            }
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE id = \(id) AND forwarded_at IS NULL") == 1)
        }
    }
}

/// Issue 22, point 1 for the back office's forms, and the small points of 14 a person meets in the browser.
extension BrowserTests {
    /// Sends the form `css` twice at once with the same contents (as a double click does) and returns both statuses.
    func submitTwice(_ browser: WebDriver, _ css: String) async throws -> [Any] {
        try await browser.script("""
            var form = document.querySelector(arguments[0]);
            var body = new URLSearchParams(new FormData(form));
            var send = function () { return fetch(form.action, { method: 'POST', body: body, credentials: 'same-origin', redirect: 'manual' })
                .then(function (r) { return r.type === 'opaqueredirect' ? 303 : r.status; }); };
            return Promise.all([send(), send()]);
            """, [css]) as? [Any] ?? []
    }

    @Test("Written appeal and user creation: a double submission creates one; deactivating asks first; the SMS editor offers plain quotes; settings tests sit with their channel; the outbox opens on what is queued")
    func backOfficeFormsSubmitOnceAndAskFirst() async throws {
        try await BackOffice.run { world, client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await browser.resize(width: 1366, height: 768)
                // The editor registers a letter; a double click makes one appeal.
                try await signIn(browser, base, "editor")
                try await browser.open(base + "/appeals/new")
                try await browser.type("input[name=received_on]", "01.12.2026")
                try await browser.select("select[name=received_via]", value: "post")
                try await browser.type("input[name=citizen_name]", "Rahimov Sardor")
                try await browser.select("select[name=region]", value: "TK")
                try await browser.select("select[name=category]", value: "application")
                try await browser.select("select[name=topic]", value: "results")
                try await browser.type("textarea[name=text]", "Xat orqali kelgan ariza: natijani qayta ko'rib chiqish so'raladi.")
                try await browser.script("document.querySelector('#written-form input[name=consent]').checked = true;")
                let written = try await submitTwice(browser, "#written-form")
                #expect(written.count == 2, "\(written)")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE citizen_name = 'Rahimov Sardor'") == 1)
                // The SMS editor: a curly quote makes the text UCS-2; the editor is told and offered plain quotes.
                let id = try #require(try await world.database.query("SELECT id FROM appeals WHERE citizen_name = 'Rahimov Sardor'").decode(Int64.self).first { _ in true })
                try await world.database.query("UPDATE appeals SET phone = '+998901234567' WHERE id = \(id)")
                try await browser.open(base + "/appeals/\(id)")
                try await browser.type("#sms-text", "Hurmatli fuqaro, murojaatingiz ko\u{2018}rib chiqildi.")
                try await browser.waitFor("#sms-count", text: "UCS-2")
                #expect(try await browser.script("return document.getElementById('sms-quote-warning').hidden;") as? Bool == false)
                try await browser.click("#sms-quote-fix")
                try await browser.waitFor("#sms-count", text: "GSM-7")
                #expect(try await browser.script("return document.getElementById('sms-text').value;") as? String == "Hurmatli fuqaro, murojaatingiz ko'rib chiqildi.")

                // The admin creates a user; a double click makes one, and the page says it was created.
                try await signIn(browser, base, "admin")
                try await browser.open(base + "/admin/users")
                try await browser.type("input[name=login]", "yangi.operator")
                try await browser.type("input[name=full_name]", "Yangi Operator")
                try await browser.select("select[name=role]", value: "editor")
                try await browser.type("input[name=password]", "Yangi-parol-2026")
                let created = try await submitTwice(browser, "form[action='/admin/users']")
                #expect(created.count == 2 && created.allSatisfy { ($0 as? Int) == 303 }, "\(created): both land on the created user, neither says the login is taken")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM users WHERE login = 'yangi.operator'") == 1)
                try await browser.open(base + "/admin/users")
                try await browser.type("input[name=login]", "ikkinchi")
                try await browser.type("input[name=full_name]", "Ikkinchi Foydalanuvchi")
                try await browser.select("select[name=role]", value: "dtm")
                try await browser.type("input[name=password]", "Ikkinchi-parol-2026")
                try await browser.click("form[action='/admin/users'] button[type=submit]")
                try await browser.waitFor("#user-created", text: "ikkinchi")
                // Deactivating asks first: dismissed, nothing changes; accepted, the user is off.
                let user = try #require(world.users["operator2"])
                let button = "form[action='/admin/users/\(user)/active'] button.deactivate"
                try await browser.click(button)
                #expect((try await browser.send("GET", "/alert/text") as? String)?.contains("kira olmaydi") == true)
                try await browser.send("POST", "/alert/dismiss", [:])
                #expect(try await rowCount(world.database, "SELECT count(*) FROM users WHERE id = \(user) AND active") == 1)
                try await browser.click(button)
                try await browser.send("POST", "/alert/accept", [:])
                try await browser.waitFor("form[action='/admin/users/\(user)/active'] button.activate")
                #expect(try await rowCount(world.database, "SELECT count(*) FROM users WHERE id = \(user) AND NOT active") == 1)
                // Settings: each channel's test button inside its own group; the outbox opens on the queued messages.
                try await browser.open(base + "/admin/settings")
                #expect(try await browser.script("return !!document.querySelector('#group-mail #test-button-chancery') && !!document.querySelector('#group-sms #test-button-sms') && !!document.querySelector('#group-telegram #test-button-telegram');") as? Bool == true)
                try await browser.open(base + "/admin/outbox")
                #expect(try await browser.text(".filters a.selected").contains("Navbatda"))
            }
        }
    }
}
