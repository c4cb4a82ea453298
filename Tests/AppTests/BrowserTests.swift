import Foundation
import HummingbirdTesting
@testable import MurojaatApp
import PostgresNIO
import Testing

/// The pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
/// scripts/test.sh). Screenshots of the main pages go to `.build/test-artifacts/screenshots/`.
@Suite("In a real browser", .serialized)
struct BrowserTests {
    func withBrowser(_ body: (WebDriver) async throws -> Void) async throws {
        guard WebDriver.available else {
            Issue.record("chromium and chromium-driver are not installed: scripts/test.sh installs them")
            return
        }
        let browser = try await WebDriver.start()
        do {
            try await body(browser)
        } catch {
            try? await browser.screenshot("failure-\(Int(Date().timeIntervalSince1970))")
            await browser.quit()
            throw error
        }
        await browser.quit()
    }

    func signIn(_ browser: WebDriver, _ base: String, _ login: String) async throws {
        try await browser.send("DELETE", "/cookie")
        try await browser.open(base + "/login")
        try await browser.type("input[name=login]", login)
        try await browser.type("input[name=password]", BackOffice.password)
        try await browser.click("form.narrow button[type=submit]")
        try await browser.waitFor("#logout")
    }

    @Test func everyRoleSignsInAndTheLanguageSwitchSticks() async throws {
        try await BackOffice.run { _, client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                let landing: [Role: String] = [.operator: "/panel", .editor: "/appeals", .supervisor: "/appeals", .admin: "/admin/users", .dtm: "/overview"]
                for role in Role.allCases {
                    try await signIn(browser, base, role.rawValue)
                    #expect(try await browser.url().hasSuffix(landing[role]!), "\(role) lands on \(landing[role]!)")
                    try await browser.screenshot("landing-\(role.rawValue)")
                    try await browser.click("#logout")
                    try await browser.waitFor("input[name=login]")
                }
                try await browser.open(base + "/murojaat?lang=ru")
                try await browser.waitFor("h1", text: "Подать обращение")
                try await browser.open(base + "/murojaat")
                try await browser.waitFor("h1", text: "Подать обращение")
                try await browser.screenshot("public-form-ru")
                try await browser.open(base + "/murojaat?lang=uz")
                try await browser.waitFor("h1", text: "Murojaat yuborish")
            }
        }
    }

    @Test func operatorSeesTheCallerEditorForwardsCitizenChecksStatus() async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let sim = try #require(world.simulator)
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await BackOfficeTests.configureMail(world.database)
            try await withBrowser { browser in
                // The operator: ready, a call comes, the caller card appears without a reload.
                try await signIn(browser, base, "operator")
                try await browser.click("#set-ready")
                try await browser.waitFor("#agent-state", text: "Tayyor")
                try await browser.script("window.__marker = 'same page';")
                let channel = try await callAndChoose(sim, try #require(world.center), choice: "9")
                try await browser.waitFor("#caller-number", text: "+998901112233")
                try await browser.waitFor("#agent-state", text: "Suhbatda")
                #expect(try await browser.script("return window.__marker;") as? String == "same page", "no reload")
                #expect(try await browser.text("#caller-topic").contains("Natijalar"))
                try await browser.screenshot("operator-panel-call")
                try await browser.type("input[name=citizen_name]", "Karimova Dilnoza")
                try await browser.select("select[name=region]", value: "TK")
                try await browser.select("select[name=category]", value: "complaint")
                try await browser.select("#card-topic", value: "results")
                try await browser.select("#card-subtopic", value: "results.scoring")
                try await browser.type("textarea[name=text]", "Ball hisoblashda xatolik bor deb hisoblayman, qayta ko'rib chiqishni so'rayman.")
                try await browser.type("textarea[name=answer]", "Apellyatsiya tartibi tushuntirildi.")
                try await browser.select("select[name=outcome]", value: "disputed")
                try await browser.click("input[name=consent]")
                try await browser.click("#save-appeal")
                try await browser.waitFor("#card-message", text: "-0000")
                let message = try await browser.text("#card-message")
                let number = try #require(message.range(of: #"\d{4}-\d{6}"#, options: .regularExpression).map { String(message[$0]) })
                #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE number = \(number) AND call_id IS NOT NULL") == 1)
                try await sim.remoteHangup(channel)
                try await browser.waitFor("#agent-state", text: "Yakunlash")

                // The editor forwards it to the chancery.
                try await signIn(browser, base, "editor")
                try await browser.open(base + "/appeals?q=" + number)
                try await browser.screenshot("appeals-list")
                try await browser.click("#appeals a")
                try await browser.waitFor("h1", text: number)
                try await browser.type("textarea[name=official_text]", "Fuqaro ball hisoblash natijasidan norozi, qayta ko'rib chiqishni so'raydi.")
                try await browser.click("#save-official")
                try await browser.waitFor("#forward")
                try await browser.click("#forward")
                try await browser.waitFor("#appeal-status", text: "Devonxonaga yuborildi")
                try await browser.screenshot("appeal-forwarded")

                // A citizen writes through the public form and checks the status.
                try await browser.send("DELETE", "/cookie")
                try await browser.open(base + "/murojaat")
                try await browser.type("input[name=citizen_name]", "Aliyev Vali")
                try await browser.type("input[name=phone]", "+998 93 555 44 33")
                try await browser.select("select[name=region]", value: "SA")
                try await browser.select("select[name=category]", value: "question")
                try await browser.select("select[name=topic]", value: "registration")
                try await browser.type("textarea[name=text]", "Ro'yxatdan o'tish muddati qachon tugaydi?")
                try await browser.click("input[name=consent]")
                try await browser.click("#send")
                try await browser.waitFor("#appeal-number")
                let citizenNumber = try await browser.text("#appeal-number")
                try await browser.screenshot("public-done")
                try await browser.open(base + "/murojaat/holat")
                try await browser.type("input[name=number]", citizenNumber)
                try await browser.type("input[name=phone]", "935554433")
                try await browser.click("#check")
                try await browser.waitFor("#public-status", text: "Yangi")
                try await browser.screenshot("public-status")
            }
        }
    }

    @Test func adminSavesSettingsAndEditorSeesTheSMSSegmentCount() async throws {
        try await BackOffice.run { world, client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await signIn(browser, base, "admin")
                try await browser.open(base + "/admin/settings?lang=uz")
                try await browser.waitFor("h1", text: "Sozlamalar")
                try await browser.type("#f-alerts\\.email", "markaz@")
                try await browser.click("#save-settings")
                try await browser.waitFor(".field-error", text: "E-pochta manzili noto'g'ri")
                try await browser.script("document.getElementById('f-alerts.email').value = ''")
                try await browser.type("#f-alerts\\.email", "markaz@dtm.uz")
                try await browser.select("#f-sms\\.provider", value: "eskiz")
                try await browser.click("#save-settings")
                try await browser.waitFor("#saved")
                try await browser.screenshot("admin-settings")
                try await browser.open(base + "/admin/outbox")
                try await browser.waitFor("h1", text: "Xabarnomalar")

                // An appeal with a mobile number; the editor types an SMS and sees its segments live.
                try await world.database.query("""
                    INSERT INTO appeals (year, seq, source, phone, category_code, text, status) VALUES (2026, 1, 'written', '+998901234567', 'question', 'Savol matni uzunroq', 'new')
                    """)
                try await signIn(browser, base, "editor")
                try await browser.open(base + "/appeals/1")
                try await browser.waitFor("#sms-count")
                try await browser.type("#sms-text", String(repeating: "a", count: 161))
                try await browser.waitFor("#sms-count", text: "2 · GSM-7 · 161")
                try await browser.script("document.getElementById('sms-text').value = ''")
                try await browser.type("#sms-text", "Ваш ответ готов")
                try await browser.waitFor("#sms-count", text: "1 · UCS-2 · 15")
                try await browser.click("#send-sms")
                try await browser.waitFor("#notifications", text: "Muharrir xabari")
                try await browser.screenshot("appeal-sms")
            }
            #expect(try await rowCount(world.database, "SELECT count(*) FROM outbox WHERE channel = 'sms' AND payload->>'text' = 'Ваш ответ готов'") == 1)
        }
    }

    @Test func supervisorWatchesTheWallboardAndListensToACall() async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let sim = try #require(world.simulator)
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let op = Visitor(client)
            try await op.signIn("operator")
            try await op.request(.post, "/panel/state", form: ["_csrf": op.token, "state": "ready"])
            await sim.setPhone("201", .init(answerAfterMs: 100))
            try await withBrowser { browser in
                try await signIn(browser, base, "supervisor")
                try await browser.open(base + "/wallboard?lang=uz")
                try await browser.waitFor("#by-state", text: "Tayyor")
                let channel = try await callAndChoose(sim, try #require(world.center), choice: "3")
                try await browser.waitFor("#calls", text: "+998901112233")
                try await browser.waitFor("#calls", text: "Suhbatda")
                try await browser.waitFor("#agents", text: "101")
                try await browser.screenshot("wallboard")
                try await browser.type("#monitor-ext", "201")
                try await browser.click("#calls .monitor-listen")
                try await browser.waitFor("#monitor-ok")
                try await sim.remoteHangup(channel)
                try await browser.open(base + "/stats")
                try await browser.waitFor("#t-summary")
                try await browser.screenshot("stats")
                try await browser.open(base + "/calls")
                try await browser.waitFor("#calls-filter")
                try await browser.screenshot("calls")
            }
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'call.monitor'") == 1)
        }
    }
}
