import Foundation
import NIOCore
import Notifications
import TestSupport
import Testing

/// The SMTP client against a real SMTP server (aiosmtpd), each message read back by Python's MIME parser.
@Suite("SMTP client", .serialized)
struct SMTPClientTests {
    static func configuration(_ server: SMTPTestServer, _ security: SMTPConfiguration.Security, user: String? = nil, password: String? = nil,
                              trust: Bool = true) -> SMTPConfiguration {
        SMTPConfiguration(host: security == .none ? "127.0.0.1" : "localhost", port: server.port, security: security, username: user, password: password,
                          from: "murojaat@dtm.uz", fromName: "DTM Murojaat markazi", trustRootsFile: trust ? SMTPTestServer.certificate.0 : nil,
                          timeout: .seconds(5))
    }

    @Test func deliversUTF8SubjectBodyHTMLAndAttachments() async throws {
        let server = try SMTPTestServer.start()
        defer { server.stop() }
        let csv = Array("bo'lim,ko'rsatkich,qiymat\r\ncalls,received,42\r\n".utf8)
        let pdf = (0..<3000).map { UInt8($0 % 256) }
        let subject = "Shikoyat 2026-000123: Oʻzbekiston — жалоба на результаты теста, очень длинная тема письма для проверки переноса"
        let text = "Assalomu alaykum!\nМурожаат матни.\n.\nA line that starts with a dot above must survive."
        let message = EmailMessage(to: ["devon@dtm.uz", "mas-ul@dtm.uz"], subject: subject, text: text, html: "<p>Привет &amp; salom</p>",
                                   attachments: [.init(filename: "hisobot-oktabr.csv", contentType: "text/csv", data: csv),
                                                 .init(filename: "Отчёт октябрь.pdf", contentType: "application/pdf", data: pdf)])
        let id = try await SMTPClient(configuration: Self.configuration(server, .none)).send(message)
        let files = try await server.waitForMessages(1)
        let mail = try ParsedMail.parse(try #require(files.first))
        #expect(mail.defects.isEmpty)
        #expect(mail.subject == subject)
        #expect(mail.from.contains("DTM Murojaat markazi") && mail.from.contains("murojaat@dtm.uz"))
        #expect(mail.headers["Message-ID"] == id)
        #expect(mail.text?.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .newlines) == text)
        #expect(mail.html?.contains("Привет &amp; salom") == true)
        #expect(mail.attachments.count == 2)
        #expect(mail.attachments.first?.filename == "hisobot-oktabr.csv")
        #expect(mail.attachments.first.flatMap { Data(base64Encoded: $0.data) } == Data(csv))
        #expect(mail.attachments.last?.filename == "Отчёт октябрь.pdf")
        #expect(mail.attachments.last.flatMap { Data(base64Encoded: $0.data) } == Data(pdf))
        let envelope = try server.envelope(files[0])
        #expect(envelope["from"] as? String == "murojaat@dtm.uz")
        #expect(envelope["to"] as? [String] == ["devon@dtm.uz", "mas-ul@dtm.uz"])
    }

    @Test func startTLSWithAuthPlain() async throws {
        let server = try SMTPTestServer.start(tls: .starttls, auth: "murojaat:parol-1")
        defer { server.stop() }
        try await SMTPClient(configuration: Self.configuration(server, .starttls, user: "murojaat", password: "parol-1"))
            .send(EmailMessage(to: ["a@dtm.uz"], subject: "TLS", text: "x"))
        let files = try await server.waitForMessages(1)
        let envelope = try server.envelope(try #require(files.first))
        #expect(envelope["tls"] as? Bool == true)
        #expect(envelope["auth"] as? Bool == true)
    }

    @Test func implicitTLSWithAuthLogin() async throws {
        let server = try SMTPTestServer.start(tls: .implicit, auth: "murojaat:parol-2", mechanisms: "LOGIN")
        defer { server.stop() }
        try await SMTPClient(configuration: Self.configuration(server, .tls, user: "murojaat", password: "parol-2"))
            .send(EmailMessage(to: ["a@dtm.uz"], subject: "TLS", text: "x"))
        let files = try await server.waitForMessages(1)
        #expect(try server.envelope(try #require(files.first))["tls"] as? Bool == true)
    }

    @Test func wrongPasswordIsAPermanentRefusal() async throws {
        let server = try SMTPTestServer.start(tls: .starttls, auth: "murojaat:parol-1")
        defer { server.stop() }
        await #expect { try await SMTPClient(configuration: Self.configuration(server, .starttls, user: "murojaat", password: "wrong"))
            .send(EmailMessage(to: ["a@dtm.uz"], subject: "x", text: "x")) } throws: { error in
            (error as? SMTPError)?.code == 535 && (error as? SMTPError)?.permanent == true
        }
        #expect(server.messages.isEmpty)
    }

    @Test func anUntrustedCertificateIsRefused() async throws {
        let server = try SMTPTestServer.start(tls: .starttls)
        defer { server.stop() }
        await #expect(throws: (any Error).self) {
            try await SMTPClient(configuration: Self.configuration(server, .starttls, trust: false)).send(EmailMessage(to: ["a@dtm.uz"], subject: "x", text: "x"))
        }
        #expect(server.messages.isEmpty)
    }

    @Test func startTLSRequiredButNotOffered() async throws {
        let server = try SMTPTestServer.start()
        defer { server.stop() }
        await #expect { try await SMTPClient(configuration: Self.configuration(server, .starttls)).send(EmailMessage(to: ["a@dtm.uz"], subject: "x", text: "x")) }
            throws: { ($0 as? SMTPError)?.message.contains("STARTTLS") == true }
        #expect(server.messages.isEmpty)
    }

    @Test func serverErrorsAreReportedAsPermanentOrTemporary() async throws {
        let reject = try SMTPTestServer.start(mode: .reject)
        defer { reject.stop() }
        await #expect { try await SMTPClient(configuration: Self.configuration(reject, .none)).send(EmailMessage(to: ["nobody@dtm.uz"], subject: "x", text: "x")) }
            throws: { ($0 as? SMTPError)?.code == 550 && ($0 as? SMTPError)?.permanent == true }
        let tempfail = try SMTPTestServer.start(mode: .tempfail)
        defer { tempfail.stop() }
        await #expect { try await SMTPClient(configuration: Self.configuration(tempfail, .none)).send(EmailMessage(to: ["a@dtm.uz"], subject: "x", text: "x")) }
            throws: { ($0 as? SMTPError)?.code == 451 && ($0 as? SMTPError)?.permanent == false }
        let drop = try SMTPTestServer.start(mode: .drop)
        defer { drop.stop() }
        await #expect { try await SMTPClient(configuration: Self.configuration(drop, .none)).send(EmailMessage(to: ["a@dtm.uz"], subject: "x", text: "x")) }
            throws: { ($0 as? SMTPError)?.permanent == false }
        // Nobody listening.
        let closed = SMTPConfiguration(host: "127.0.0.1", port: try freePort(), security: .none, from: "murojaat@dtm.uz", timeout: .seconds(3))
        await #expect { try await SMTPClient(configuration: closed).send(EmailMessage(to: ["a@dtm.uz"], subject: "x", text: "x")) }
            throws: { ($0 as? SMTPError)?.permanent == false }
    }

    @Test func hostileInputCannotInjectHeadersOrRecipients() async throws {
        let server = try SMTPTestServer.start()
        defer { server.stop() }
        let client = SMTPClient(configuration: Self.configuration(server, .none))
        try await client.send(EmailMessage(to: ["a@dtm.uz"], subject: "Hello\r\nBcc: victim@example.com\r\n\r\nbody", text: "x",
                                           attachments: [.init(filename: "a\r\nX-Evil: 1.csv", contentType: "text/csv\r\nX-Evil: 2", data: [1])]))
        let mail = try ParsedMail.parse(try #require(try await server.waitForMessages(1).first))
        #expect(mail.headers["Bcc"] == nil && mail.headers["X-Evil"] == nil)
        #expect(try server.envelope(server.messages[0])["to"] as? [String] == ["a@dtm.uz"])
        await #expect { try await client.send(EmailMessage(to: ["a@dtm.uz>\r\nRCPT TO:<victim@example.com"], subject: "x", text: "x")) }
            throws: { ($0 as? SMTPError)?.permanent == true }
        await #expect { try await client.send(EmailMessage(to: [], subject: "x", text: "x")) } throws: { ($0 as? SMTPError)?.permanent == true }
        #expect(server.messages.count == 1)
    }
}

@Suite("Addresses, phone numbers and SMS segments")
struct AddressTests {
    @Test(arguments: [
        ("devon@dtm.uz", "devon@dtm.uz"), (" Devon@DTM.UZ ", "Devon@dtm.uz"), ("a.b+c@mail.dtm.uz", "a.b+c@mail.dtm.uz"),
        ("devon", nil), ("devon@dtm", nil), ("@dtm.uz", nil), ("a@@dtm.uz", nil), ("a b@dtm.uz", nil), ("a@dtm.uz\r\nBcc: x@y.uz", nil),
        ("ali@dtm.uz>", nil), ("алишер@dtm.uz", nil), (".a@dtm.uz", nil), ("a..b@dtm.uz", nil), ("a@-dtm.uz", nil),
        (String(repeating: "a", count: 65) + "@dtm.uz", nil),
    ] as [(String, String?)])
    func emailAddresses(_ input: String, _ expected: String?) {
        #expect(EmailAddress.normalise(input) == expected)
    }

    @Test(arguments: [
        ("+998 90 123 45 67", "+998901234567", true), ("998901234567", "+998901234567", true), ("90 123-45-67", "+998901234567", true),
        ("(33) 123 45 67", "+998331234567", true), ("+998 71 123 45 67", "+998711234567", false), ("+7 999 123 45 67", nil, false),
        ("+998 90 123 45 6", nil, false), ("+901234567", nil, false), ("90 123 45 67; DROP TABLE", nil, false), ("", nil, false),
        ("+998 90 123 45 678", nil, false), ("٩٠١٢٣٤٥٦٧", nil, false),
    ] as [(String, String?, Bool)])
    func phoneNumbers(_ input: String, _ normalised: String?, _ mobile: Bool) {
        #expect(PhoneNumber.normalise(input) == normalised)
        #expect((PhoneNumber.mobile(input) != nil) == mobile)
    }

    @Test func segments() {
        #expect(SMSSegments("") == SMSSegments(encoding: .gsm7, units: 0, segments: 1))
        #expect(SMSSegments(String(repeating: "a", count: 160)).segments == 1)
        #expect(SMSSegments(String(repeating: "a", count: 161)) == SMSSegments(encoding: .gsm7, units: 161, segments: 2))
        #expect(SMSSegments(String(repeating: "a", count: 306)).segments == 2)
        #expect(SMSSegments(String(repeating: "a", count: 307)).segments == 3)
        // The euro sign and brackets take two GSM-7 units.
        #expect(SMSSegments(String(repeating: "€", count: 80)) == SMSSegments(encoding: .gsm7, units: 160, segments: 1))
        #expect(SMSSegments(String(repeating: "[", count: 81)).segments == 2)
        // Cyrillic and the Uzbek modifier letter ʻ force UCS-2.
        #expect(SMSSegments(String(repeating: "ж", count: 70)) == SMSSegments(encoding: .ucs2, units: 70, segments: 1))
        #expect(SMSSegments(String(repeating: "ж", count: 71)).segments == 2)
        #expect(SMSSegments(String(repeating: "ж", count: 134)).segments == 2)
        #expect(SMSSegments(String(repeating: "ж", count: 135)).segments == 3)
        #expect(SMSSegments("Oʻzbekiston").encoding == .ucs2)
        #expect(SMSSegments("O'zbekiston").encoding == .gsm7)
        #expect(SMSSegments("😀").units == 2)
        let registered = "Murojaatingiz 2026-000123 raqami bilan ro'yxatga olindi. Holati: https://murojaat.dtm.uz/murojaat/holat?number=2026-000123"
        #expect(SMSSegments(registered) == SMSSegments(encoding: .gsm7, units: registered.count, segments: 1))
    }
}
