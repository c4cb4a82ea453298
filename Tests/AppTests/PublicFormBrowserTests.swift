import Foundation
import HummingbirdTesting
@testable import MurojaatApp
import PostgresNIO
import Testing

/// Issue 22, point 13: the public form on a 390 px phone, in both languages, as a citizen meets it in Chromium.
extension BrowserTests {
    @Test("Public form at 390 px: no horizontal scroll, touch-sized fields, required marked, subtopics of the topic, errors focused and described, the status page says what comes next",
          arguments: UILanguage.allCases)
    func publicFormOnAPhone(_ language: UILanguage) async throws {
        try await BackOffice.run { world, client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await browser.resize(width: 390, height: 844)
                try await browser.open(base + "/murojaat?lang=\(language.rawValue)")
                try await browser.waitFor("#public-form")
                func noSideScroll(_ what: String) async throws {
                    let fits = try await browser.script("return document.documentElement.scrollWidth <= window.innerWidth;") as? Bool
                    #expect(fits == true, "\(what): no horizontal scroll at 390 px")
                }
                try await noSideScroll("the form")
                // Every field a finger can hit: 44 px high at least.
                let small = try await browser.script("""
                    return Array.prototype.filter.call(document.querySelectorAll('#public-form input:not([type=hidden]):not([type=checkbox]):not([name=website]), #public-form select, #public-form textarea, #public-form button'),
                      function (e) { return e.getBoundingClientRect().height < 44; }).map(function (e) { return e.name || e.id; });
                    """) as? [Any]
                #expect(small?.isEmpty == true, "fields under 44 px: \(small ?? [])")
                #expect((try await browser.script("return document.querySelectorAll('#public-form .required').length;") as? Int ?? 0) >= 7)
                // The consent box sits beside its words, on the same line, before them.
                let beside = try await browser.script("""
                    var box = document.getElementById('f-consent').getBoundingClientRect();
                    var label = document.querySelector('label[for=f-consent]').getBoundingClientRect();
                    return box.right <= label.left + 1 && Math.abs(box.top - label.top) < 20;
                    """) as? Bool
                #expect(beside == true, "the consent checkbox beside its label")
                // Subtopics: only the chosen topic's.
                try await browser.select("#f-topic", value: "results")
                let foreign = try await browser.script("""
                    return Array.prototype.filter.call(document.getElementById('f-subtopic').options,
                      function (o) { return !o.hidden && o.getAttribute('data-parent') && o.getAttribute('data-parent') !== 'results'; }).length;
                    """) as? Int
                #expect(foreign == 0, "only the subtopics of the chosen topic")
                // A refused submission: the text stays, the first wrong field has the focus, is marked and names its message.
                try await browser.type("#f-citizen_name", "Aliyev Vali")
                try await browser.type("#f-phone", "12345")
                try await browser.select("#f-region", value: "TK")
                try await browser.select("#f-category", value: "complaint")
                try await browser.type("#f-text", "Natijalarim hali ham e'lon qilinmadi, yordam bering.")
                try await browser.script("document.getElementById('f-consent').checked = true;")
                try await browser.click("#send")
                try await browser.waitFor("#form-errors")
                #expect(try await browser.script("return document.activeElement.id;") as? String == "f-phone")
                #expect(try await browser.script("return document.getElementById('f-phone').getAttribute('aria-invalid');") as? String == "true")
                #expect(try await browser.script("return document.getElementById('f-phone').getAttribute('aria-describedby');") as? String == "err-phone")
                #expect(try await browser.text("#err-phone").isEmpty == false)
                #expect(try await browser.script("return document.getElementById('f-text').value;") as? String == "Natijalarim hali ham e'lon qilinmadi, yordam bering.")
                try await noSideScroll("the form with errors")
                try await browser.screenshot("public-form-errors-\(language.rawValue)-390")
                try await browser.type("#f-phone", "+998 93 555 44 33")
                try await browser.click("#send")
                try await browser.waitFor("#appeal-number")
                try await noSideScroll("the thank-you page")
                try await browser.click("#status-link")
                try await browser.waitFor("#status-form")
                try await browser.type("input[name=phone]", "935554433")
                try await browser.click("#check")
                try await browser.waitFor("#public-next")
                #expect(try await browser.text("#public-due").count == 10, "the due date, dd.mm.yyyy")
                try await noSideScroll("the status page")
                try await browser.screenshot("public-status-\(language.rawValue)-390")
            }
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals") == 1)
        }
    }
}

/// Issue 22, point 11: the wallboard read from across the room.
extension BrowserTests {
    @Test("Wallboard at 1920×1080: one big tile per figure, service level coloured against its target, 60 operators on screen without scrolling")
    func wallboardFromAcrossTheRoom() async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let db = world.database
            let center = try #require(world.center)
            let logger = Logger(label: "test")
            // A shift of 60 more operators, and one call today answered after a minute (service level 0 % of a target of 80 %).
            for n in 0..<60 {
                let user = try #require(try await db.query("""
                    INSERT INTO users (login, full_name, password_hash, role) VALUES (\("op\(300 + n)"), \("Operator Familiyasi \(n)"), 'x', 'operator')
                    RETURNING id
                    """, logger: logger).decode(Int64.self).first { _ in true })
                try await db.query("""
                    INSERT INTO operators (user_id, extension, endpoint, skill_uz, skill_ru) VALUES (\(user), \("\(300 + n)"), \("PJSIP/\(300 + n)"), true, true)
                    """, logger: logger)
            }
            await center.loadOperators(try await PostgresCallStore(client: db, logger: logger).loadOperators())
            try await db.query("""
                INSERT INTO calls (asterisk_node, channel_id, caller_number, dialled_number, language, started_at, answered_at, ended_at,
                                   wait_seconds, talk_seconds, outcome, hangup_side)
                VALUES ('test', 'wb-1', '+998901234567', '1000', 'uz', now() - interval '5 minutes', now() - interval '4 minutes',
                        now() - interval '2 minutes', 60, 120, 'answered', 'caller')
                """, logger: logger)
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await browser.resize(width: 1920, height: 1080)
                try await signIn(browser, base, "supervisor")
                try await browser.open(base + "/wallboard")
                try await browser.waitFor("#agents", text: "359")
                try await browser.waitFor("#sl", text: "0.0")
                let fontSize = try await browser.script("return parseFloat(getComputedStyle(document.querySelector('.tile .figure')).fontSize);") as? Double
                #expect((fontSize ?? 0) >= 40, "figures \(fontSize ?? 0) px high")
                #expect(try await browser.script("return document.querySelectorAll('.wallboard .tile').length;") as? Int ?? 0 >= 9)
                #expect(try await browser.script("return document.getElementById('sl-tile').classList.contains('bad');") as? Bool == true,
                        "a service level under its target is red")
                let lowest = try await browser.script("""
                    return Math.max.apply(null, Array.prototype.map.call(document.querySelectorAll('#agents .agent'),
                      function (e) { return e.getBoundingClientRect().bottom; })) <= window.innerHeight;
                    """) as? Bool
                #expect(lowest == true, "every operator on screen without scrolling")
                #expect(try await browser.script("return document.querySelectorAll('#agents .agent').length;") as? Int == 62)
                try await browser.screenshot("wallboard-1920")
            }
        }
    }
}

/// Issue 22, point 14: the menu fits one line on a 1366 px office screen for every role, in both languages.
extension BrowserTests {
    @Test("The menu fits one line at 1366 px for every role", arguments: UILanguage.allCases)
    func menuFitsOneLine(_ language: UILanguage) async throws {
        try await BackOffice.run { _, client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            try await withBrowser { browser in
                try await browser.resize(width: 1366, height: 768)
                var tall: [String] = []
                for role in Role.allCases {
                    try await signIn(browser, base, role.rawValue)
                    try await browser.open(base + "/appeals?lang=\(language.rawValue)")
                    // One line: every link, the language switch and the sign-out button share the first link's row.
                    let rows = try await browser.script("""
                        var tops = Array.prototype.map.call(document.querySelectorAll('header.top > *'), function (e) { return Math.round(e.getBoundingClientRect().top); });
                        return Math.max.apply(null, tops) - Math.min.apply(null, tops);
                        """) as? Int ?? 999
                    if rows > 12 { tall.append("\(role.rawValue): \(rows) px between the highest and lowest item") }
                }
                try await browser.screenshot("menu-supervisor-\(language.rawValue)-1366")
                #expect(tall.isEmpty, "\(tall)")
            }
        }
    }
}
