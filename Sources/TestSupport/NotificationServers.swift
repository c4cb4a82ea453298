import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import Synchronization
import Testing

// MARK: a real SMTP server (aiosmtpd) in a child process

/// aiosmtpd run by `smtp_server.py`: accepted messages land in `directory` as N.eml and N.json.
public final class SMTPTestServer: Sendable {
    public enum Mode: String, Sendable { case accept, reject, tempfail, drop }
    public enum TLS: String, Sendable { case none, starttls, implicit }

    public let port: Int
    public let directory: URL
    let process: Process
    let stdin: Pipe

    /// A self-signed certificate for `localhost` (made once per run with openssl): (certificate, key) paths.
    public static let certificate: (String, String) = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-cert-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem").path, key = dir.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
        return (cert, key)
    }()

    public static func start(mode: Mode = .accept, tls: TLS = .none, auth: String? = nil, mechanisms: String = "PLAIN,LOGIN") throws -> SMTPTestServer {
        guard let script = Bundle.module.url(forResource: "Resources/smtp_server", withExtension: "py") else {
            throw TestServerError("smtp_server.py is not in the test bundle")
        }
        for _ in 0..<5 {
            let port = try freePort()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            var arguments = ["python3", script.path, "--port", "\(port)", "--dir", directory.path, "--mode", mode.rawValue, "--tls", tls.rawValue,
                             "--mechanisms", mechanisms]
            if tls != .none { arguments += ["--cert", certificate.0, "--key", certificate.1] }
            if let auth { arguments += ["--auth", auth] }
            process.arguments = arguments
            let output = Pipe(), input = Pipe()
            process.standardOutput = output
            process.standardInput = input
            process.standardError = FileHandle.standardError
            try process.run()
            // The first line is "READY <port>", or nothing if it could not listen.
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
            if String(decoding: line, as: UTF8.self).hasPrefix("READY") {
                return SMTPTestServer(port: port, directory: directory, process: process, stdin: input)
            }
            process.terminate()
            process.waitUntilExit()
        }
        throw TestServerError("the SMTP test server did not start (is aiosmtpd installed? python3 -m pip install aiosmtpd)")
    }

    init(port: Int, directory: URL, process: Process, stdin: Pipe) {
        self.port = port
        self.directory = directory
        self.process = process
        self.stdin = stdin
    }

    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    /// The .eml files received so far, in order.
    public var messages: [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "eml" }.sorted { Int($0.deletingPathExtension().lastPathComponent)! < Int($1.deletingPathExtension().lastPathComponent)! }
    }

    /// The envelope of message `n`: from, to, tls, auth.
    public func envelope(_ message: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: message.deletingPathExtension().appendingPathExtension("json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [URL] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let found = messages
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("expected \(count) e-mail(s), the SMTP server has \(messages.count)")
        return messages
    }
}

/// What a mail client shows of an .eml, read by Python's own MIME parser.
public struct ParsedMail: Decodable, Sendable {
    public struct Attachment: Decodable, Sendable { public var filename: String?; public var type: String; public var data: String }
    public var headers: [String: String]
    public var subject: String
    public var from: String
    public var to: String
    public var text: String?
    public var html: String?
    public var attachments: [Attachment]
    public var defects: [String]

    public static func parse(_ file: URL) throws -> ParsedMail {
        guard let script = Bundle.module.url(forResource: "Resources/parse_eml", withExtension: "py") else { throw TestServerError("parse_eml.py missing") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode(ParsedMail.self, from: data)
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A loopback TCP port nobody listens on right now.
public func freePort() throws -> Int {
    let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
    let port = channel.localAddress?.port ?? 0
    try channel.close().wait()
    return port
}

/// Serves `router` on a free loopback port for the duration of `body`, which gets the base URL.
public func withHTTPServer(_ router: Router<BasicRequestContext>, _ body: @Sendable (String) async throws -> Void) async throws {
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await app.test(.live) { client in
        let port = try #require(client.port)
        try await body("http://127.0.0.1:\(port)")
    }
}

/// A multipart/form-data body's text fields.
public func multipartFields(_ body: String, contentType: String) -> [String: String] {
    guard let range = contentType.range(of: "boundary=") else { return [:] }
    let boundary = String(contentType[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
    var fields: [String: String] = [:]
    for part in body.components(separatedBy: "--" + boundary) {
        guard let split = part.range(of: "\r\n\r\n"), let name = part[..<split.lowerBound].range(of: #"name="([^"]+)""#, options: .regularExpression) else { continue }
        var value = String(part[split.upperBound...])
        if value.hasSuffix("\r\n") { value.removeLast() }  // "\r\n" is one Character
        fields[String(part[name].dropFirst(6).dropLast())] = value
    }
    return fields
}

// MARK: Telegram Bot API

/// The Bot API's `sendMessage` as Telegram answers it: 401 for a wrong token, 400 for an unknown chat or a
/// group that became a supergroup (`migrate_to_chat_id`), 429 with `retry_after` above `perSecond`.
public final class FakeTelegram: Sendable {
    public struct Message: Sendable {
        public var chat: String
        public var text: String
        public var parseMode: String?
        public var at = ContinuousClock.now
    }
    struct State {
        var messages: [Message] = []
        var window: (start: ContinuousClock.Instant, count: Int)?
        var tooMany = 0
        var nextID: Int64 = 1
        var requests = 0
    }
    public let token: String
    public let chats: Set<String>
    /// chat → supergroup it became.
    public let migrations: [String: String]
    /// At most this many messages per `window` (Telegram's limit is per second; a test on a loaded machine
    /// may widen the window so that its messages surely fall in one).
    public let perSecond: Int?
    public let window: Duration
    public let retryAfter: Int
    /// Every n-th accepted request is answered 429 first (a deterministic rate limit for tests).
    public let limitEvery: Int?
    let state = Mutex(State())
    let onMessage: (@Sendable (Message) -> Void)?

    public init(token: String = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz", chats: Set<String> = ["-1001234567890"],
                migrations: [String: String] = [:], perSecond: Int? = nil, window: Duration = .seconds(1), retryAfter: Int = 1,
                limitEvery: Int? = nil, onMessage: (@Sendable (Message) -> Void)? = nil) {
        self.window = window
        self.limitEvery = limitEvery
        self.token = token
        self.chats = chats
        self.migrations = migrations
        self.perSecond = perSecond
        self.retryAfter = retryAfter
        self.onMessage = onMessage
    }

    public var messages: [Message] { state.withLock { $0.messages } }
    public var tooManyRequests: Int { state.withLock { $0.tooMany } }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    public var router: Router<BasicRequestContext> {
        let router = Router()
        router.post(":bot/sendMessage") { request, context -> Response in
            guard context.parameters.get("bot") == "bot" + self.token else {
                return Self.json(.unauthorized, ["ok": false, "error_code": 401, "description": "Unauthorized"])
            }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let text = object["text"] as? String, let chat = (object["chat_id"] as? String) ?? (object["chat_id"] as? NSNumber)?.stringValue else {
                return Self.json(.badRequest, ["ok": false, "error_code": 400, "description": "Bad Request: message text is empty"])
            }
            if let target = self.migrations[chat] {
                return Self.json(.badRequest, ["ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
                                               "parameters": ["migrate_to_chat_id": Int64(target)!]])
            }
            guard self.chats.contains(chat) else {
                return Self.json(.badRequest, ["ok": false, "error_code": 400, "description": "Bad Request: chat not found"])
            }
            if text.count > 4096 {
                return Self.json(.badRequest, ["ok": false, "error_code": 400, "description": "Bad Request: message is too long"])
            }
            let mode = object["parse_mode"] as? String
            if mode == "HTML", let problem = Self.htmlProblem(text) {
                return Self.json(.badRequest, ["ok": false, "error_code": 400, "description": "Bad Request: can't parse entities: \(problem)"])
            }
            let message = Message(chat: chat, text: text, parseMode: mode)
            let id: Int64? = self.state.withLock { state in
                let now = ContinuousClock.now
                state.requests += 1
                if let every = self.limitEvery, state.requests % every == 0 { state.tooMany += 1; return nil }
                if let limit = self.perSecond {
                    if let window = state.window, now - window.start < self.window {
                        if window.count >= limit { state.tooMany += 1; return nil }
                        state.window = (window.start, window.count + 1)
                    } else {
                        state.window = (now, 1)
                    }
                }
                state.messages.append(message)
                state.nextID += 1
                return state.nextID
            }
            guard let id else {
                return Self.json(.tooManyRequests, ["ok": false, "error_code": 429, "description": "Too Many Requests: retry after \(self.retryAfter)",
                                                    "parameters": ["retry_after": self.retryAfter]])
            }
            self.onMessage?(message)
            return Self.json(.ok, ["ok": true, "result": ["message_id": id, "chat": ["id": Int64(chat) ?? 0], "text": text]])
        }
        return router
    }

    /// Telegram's HTML mode accepts only a few tags and entities; a bare `<` or `&` is an error.
    static func htmlProblem(_ text: String) -> String? {
        let allowed: Set<String> = ["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "blockquote"]
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "<" {
                guard let close = text[index...].firstIndex(of: ">") else { return "unclosed tag" }
                let tag = text[text.index(after: index)..<close].trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                let name = tag.split(separator: " ").first.map(String.init) ?? ""
                if !allowed.contains(name.lowercased()) { return "unsupported start tag \"\(name)\"" }
                index = text.index(after: close)
                continue
            }
            if character == "&" {
                let rest = text[index...].prefix(8)
                if !(rest.hasPrefix("&lt;") || rest.hasPrefix("&gt;") || rest.hasPrefix("&amp;") || rest.hasPrefix("&quot;")) { return "bare &" }
            }
            index = text.index(after: index)
        }
        return nil
    }
}

// MARK: SMS gateways

/// Eskiz as its client libraries describe it: login for a token, 401 with an expired token, 400 for a
/// bad number, an id per message.
public final class FakeEskiz: Sendable {
    public struct SMS: Sendable { public var phone: String; public var message: String; public var from: String; public var callback: String? }
    struct State { var token: String?; var tokens = 0; var sent: [SMS] = []; var logins = 0 }
    public let email: String
    public let password: String
    let state = Mutex(State())

    public init(email: String = "dtm@example.uz", password: String = "eskiz-secret") {
        self.email = email
        self.password = password
    }

    public var sent: [SMS] { state.withLock { $0.sent } }
    public var logins: Int { state.withLock { $0.logins } }
    /// The current token stops working, as after its 30 days.
    public func expireToken() { state.withLock { $0.token = nil } }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response { FakeTelegram.json(status, object) }

    public var router: Router<BasicRequestContext> {
        let router = Router()
        router.post("api/auth/login") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 16))
            let fields = multipartFields(body, contentType: request.headers[.contentType] ?? "")
            guard fields["email"] == self.email, fields["password"] == self.password else {
                return Self.json(.unauthorized, ["message": "Invalid credentials"])
            }
            let token = self.state.withLock { state -> String in
                state.tokens += 1
                state.logins += 1
                state.token = "token-\(state.tokens)"
                return state.token!
            }
            return Self.json(.ok, ["message": "token_generated", "data": ["token": token], "token_type": "bearer"])
        }
        router.post("api/message/sms/send") { request, _ -> Response in
            let token = self.state.withLock { $0.token }
            guard let token, request.headers[.authorization] == "Bearer \(token)" else {
                return Self.json(.unauthorized, ["status": "token-invalid", "message": "Expired"])
            }
            let body = String(buffer: try await request.body.collect(upTo: 1 << 16))
            let fields = multipartFields(body, contentType: request.headers[.contentType] ?? "")
            guard let phone = fields["mobile_phone"], phone.range(of: #"^998[0-9]{9}$"#, options: .regularExpression) != nil else {
                return Self.json(.badRequest, ["status": "error", "message": ["mobile_phone": ["Неверный формат номера"]]])
            }
            guard let message = fields["message"], !message.isEmpty, let from = fields["from"] else {
                return Self.json(.badRequest, ["status": "error", "message": "message and from are required"])
            }
            self.state.withLock { $0.sent.append(SMS(phone: phone, message: message, from: from, callback: fields["callback_url"])) }
            return Self.json(.ok, ["id": UUID().uuidString.lowercased(), "status": "waiting", "message": "Waiting for SMS provider"])
        }
        return router
    }
}

/// Play Mobile's broker API: HTTP Basic, JSON messages, 400 with error-code/error-description.
public final class FakePlayMobile: Sendable {
    public struct SMS: Sendable { public var recipient: String; public var messageID: String; public var originator: String; public var text: String }
    public let login: String
    public let password: String
    let state = Mutex<[SMS]>([])

    public init(login: String = "dtm", password: String = "pm-secret") {
        self.login = login
        self.password = password
    }

    public var sent: [SMS] { state.withLock { $0 } }

    public var router: Router<BasicRequestContext> {
        let router = Router()
        router.post("broker-api/send") { request, _ -> Response in
            let expected = "Basic " + Data("\(self.login):\(self.password)".utf8).base64EncodedString()
            guard request.headers[.authorization] == expected else { return Response(status: .unauthorized) }
            let body = try await request.body.collect(upTo: 1 << 16)
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let messages = object["messages"] as? [[String: Any]], !messages.isEmpty else {
                return FakeTelegram.json(.badRequest, ["error-code": 100, "error-description": "Invalid JSON"])
            }
            var accepted: [SMS] = []
            for message in messages {
                guard let recipient = message["recipient"] as? String, recipient.range(of: #"^998[0-9]{9}$"#, options: .regularExpression) != nil else {
                    return FakeTelegram.json(.badRequest, ["error-code": 102, "error-description": "Invalid recipient"])
                }
                guard let id = message["message-id"] as? String, let sms = message["sms"] as? [String: Any],
                      let originator = sms["originator"] as? String, let content = sms["content"] as? [String: Any],
                      let text = content["text"] as? String else {
                    return FakeTelegram.json(.badRequest, ["error-code": 101, "error-description": "Missing field"])
                }
                accepted.append(SMS(recipient: recipient, messageID: id, originator: originator, text: text))
            }
            self.state.withLock { $0 += accepted }
            return Response(status: .ok)
        }
        return router
    }
}
