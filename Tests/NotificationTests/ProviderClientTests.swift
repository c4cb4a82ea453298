import AsyncHTTPClient
import Foundation
import Notifications
import TestSupport
import Testing

@Suite("Telegram client")
struct TelegramClientTests {
    @Test func sendsEscapedHTMLAndReportsEveryKindOfAnswer() async throws {
        let fake = FakeTelegram(chats: ["-1001234567890"], migrations: ["-4000000001": "-1009999999999"], perSecond: 2, window: .seconds(60), retryAfter: 7)
        try await withHTTPServer(fake.router) { url in
            let client = TelegramClient(http: .shared, baseURL: url, token: fake.token)
            let hostile = "<script>alert(1)</script> & \"quotes\" <b>not bold</b>"
            let html = "<b>Shikoyat</b>\n" + TelegramClient.escape(hostile)
            #expect(try await client.sendMessage(chatID: "-1001234567890", html: html) == .sent(messageID: 2))
            #expect(fake.messages.first?.text == html)
            #expect(fake.messages.first?.parseMode == "HTML")
            // A second message in the same window is fine; the third gets 429 with retry_after.
            _ = try await client.sendMessage(chatID: "-1001234567890", html: "2")
            #expect(try await client.sendMessage(chatID: "-1001234567890", html: "3") == .retryAfter(seconds: 7))
            #expect(try await client.sendMessage(chatID: "-4000000001", html: "x") == .migrated(to: "-1009999999999"))
            guard case .refused(400, let description, true) = try await client.sendMessage(chatID: "-100777", html: "x") else {
                Issue.record("an unknown chat is a permanent 400")
                return
            }
            #expect(description.contains("chat not found"))
            let wrongToken = TelegramClient(http: .shared, baseURL: url, token: "999:" + String(repeating: "x", count: 30))
            guard case .refused(401, _, true) = try await wrongToken.sendMessage(chatID: "-1001234567890", html: "x") else {
                Issue.record("a wrong token is a permanent 401")
                return
            }
            // A token that is not one never reaches the URL.
            let injected = TelegramClient(http: .shared, baseURL: url, token: "1:../../etc/passwd")
            guard case .refused(0, _, true) = try await injected.sendMessage(chatID: "-1001234567890", html: "x") else {
                Issue.record("a malformed token is refused before sending")
                return
            }
        }
    }

    @Test func limitsAndEscaping() {
        #expect(TelegramClient.escape("a<b>&c\"") == "a&lt;b&gt;&amp;c&quot;")
        let long = String(repeating: "&amp;", count: 1000)
        let cut = TelegramClient.limit(long)
        #expect(cut.count <= 4001 && !cut.dropLast().hasSuffix("&am") && cut.hasSuffix("…"))
        #expect(TelegramClient.isValidChatID("-1001234567890") && TelegramClient.isValidChatID("@dtm_murojaat"))
        #expect(!TelegramClient.isValidChatID("-100 OR 1=1") && !TelegramClient.isValidChatID(""))
    }
}

@Suite("SMS providers")
struct SMSProviderTests {
    @Test func eskizLogsInSendsAndLogsInAgainWhenTheTokenExpires() async throws {
        let fake = FakeEskiz()
        try await withHTTPServer(fake.router) { url in
            let eskiz = EskizProvider(http: .shared, baseURL: url, email: fake.email, password: fake.password, sender: "4546",
                                      callbackURL: "https://murojaat.dtm.uz/sms/reports/eskiz?key=k")
            let id = try await eskiz.send(SMSMessage(phone: "+998901234567", text: "Murojaatingiz 2026-000001 ro'yxatga olindi", reference: "murojaat-1"))
            #expect(!id.isEmpty)
            #expect(fake.sent.first?.phone == "998901234567")
            #expect(fake.sent.first?.from == "4546")
            #expect(fake.sent.first?.callback == "https://murojaat.dtm.uz/sms/reports/eskiz?key=k")
            #expect(fake.logins == 1)
            _ = try await eskiz.send(SMSMessage(phone: "+998901234567", text: "Ваше обращение", reference: "murojaat-2"))
            #expect(fake.logins == 1, "the token is reused")
            fake.expireToken()
            _ = try await eskiz.send(SMSMessage(phone: "+998911234567", text: "3", reference: "murojaat-3"))
            #expect(fake.logins == 2, "a 401 leads to one new login")
            #expect(fake.sent.count == 3)
            #expect(fake.sent[1].message == "Ваше обращение")
            // A number the gateway refuses: a permanent 400 with its message.
            await #expect { try await eskiz.send(SMSMessage(phone: "+99890123", text: "x", reference: "r")) } throws: { error in
                guard let error = error as? SMSError else { return false }
                return error.status == 400 && error.permanent && error.message.contains("mobile_phone")
            }
            // Wrong credentials: the login's 401 is permanent.
            let wrong = EskizProvider(http: .shared, baseURL: url, email: fake.email, password: "nope", sender: "4546")
            await #expect { try await wrong.send(SMSMessage(phone: "+998901234567", text: "x", reference: "r")) } throws: {
                ($0 as? SMSError)?.status == 401 && ($0 as? SMSError)?.permanent == true
            }
        }
    }

    @Test func playMobileSendsWithOurMessageIDAndReportsItsErrors() async throws {
        let fake = FakePlayMobile()
        try await withHTTPServer(fake.router) { url in
            let provider = PlayMobileProvider(http: .shared, baseURL: url, login: fake.login, password: fake.password, originator: "3700")
            let id = try await provider.send(SMSMessage(phone: "+998931234567", text: "Обращение 2026-000002 получено", reference: "murojaat-42"))
            #expect(id == "murojaat-42")
            #expect(fake.sent.first?.recipient == "998931234567")
            #expect(fake.sent.first?.messageID == "murojaat-42")
            #expect(fake.sent.first?.text == "Обращение 2026-000002 получено")
            await #expect { try await provider.send(SMSMessage(phone: "+99893", text: "x", reference: "r")) } throws: { error in
                guard let error = error as? SMSError else { return false }
                return error.status == 400 && error.permanent && error.message.contains("error-code 102") && error.message.contains("Invalid recipient")
            }
            let wrong = PlayMobileProvider(http: .shared, baseURL: url, login: fake.login, password: "x", originator: "3700")
            await #expect { try await wrong.send(SMSMessage(phone: "+998931234567", text: "x", reference: "r")) } throws: {
                ($0 as? SMSError)?.status == 401 && ($0 as? SMSError)?.permanent == true
            }
        }
    }
}
