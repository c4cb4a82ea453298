import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One SMS to a citizen: a normalised mobile number, the text, our reference (the outbox row).
public struct SMSMessage: Sendable, Equatable {
    public var phone: String
    public var text: String
    public var reference: String
    public init(phone: String, text: String, reference: String) {
        self.phone = phone
        self.text = text
        self.reference = reference
    }
}

public struct SMSError: Error, CustomStringConvertible, Sendable {
    public var status: Int?
    public var message: String
    public var permanent: Bool
    public var description: String { status.map { "HTTP \($0): \(message)" } ?? message }
    public init(status: Int?, _ message: String, permanent: Bool) {
        self.status = status
        self.message = message
        self.permanent = permanent
    }
}

/// An SMS gateway: sends one message and returns the provider's message id (matched by delivery reports).
public protocol SMSProvider: Sendable {
    var name: String { get }
    func send(_ message: SMSMessage) async throws -> String
}

/// Eskiz (notify.eskiz.uz): login for a bearer token, refreshed on 401; multipart `message/sms/send`.
public actor EskizProvider: SMSProvider {
    public nonisolated let name = "eskiz"
    let http: HTTPClient
    let baseURL: String
    let email: String
    let password: String
    let sender: String
    let callbackURL: String?
    var token: String?
    public private(set) var logins = 0

    public init(http: HTTPClient, baseURL: String = "https://notify.eskiz.uz", email: String, password: String, sender: String,
                callbackURL: String? = nil, token: String? = nil) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.email = email
        self.password = password
        self.sender = sender
        self.callbackURL = callbackURL
        self.token = token
    }

    public func currentToken() -> String? { token }

    public func send(_ message: SMSMessage) async throws -> String {
        if token == nil { try await login() }
        var (status, body) = try await sendOnce(message)
        if status == 401 {
            // The token expired (they live about 30 days): log in again and send once more.
            try await login()
            (status, body) = try await sendOnce(message)
        }
        struct Sent: Decodable { var id: String?; var status: String?; var message: String? }
        struct SentNumeric: Decodable { var id: Int64 }
        if (200...299).contains(status) {
            if let sent = try? JSONDecoder().decode(Sent.self, from: body), let id = sent.id { return id }
            if let sent = try? JSONDecoder().decode(SentNumeric.self, from: body) { return String(sent.id) }
            throw SMSError(status: status, "Eskiz answered without a message id: \(Self.text(body))", permanent: false)
        }
        throw SMSError(status: status, "Eskiz: \(Self.text(body))", permanent: (400...499).contains(status) && status != 429)
    }

    func login() async throws {
        var request = HTTPClientRequest(url: "\(baseURL)/api/auth/login")
        request.method = .POST
        let form = Multipart(fields: [("email", email), ("password", password)])
        request.headers.add(name: "Content-Type", value: form.contentType)
        request.body = .bytes(ByteBuffer(bytes: form.body))
        let response = try await http.execute(request, timeout: .seconds(20))
        let body = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        logins += 1
        struct Login: Decodable { struct Token: Decodable { var token: String }; var data: Token }
        guard (200...299).contains(Int(response.status.code)), let login = try? JSONDecoder().decode(Login.self, from: body) else {
            let code = Int(response.status.code)
            throw SMSError(status: code, "Eskiz login failed: \(Self.text(body))", permanent: code == 401 || code == 400 || code == 403)
        }
        token = login.data.token
    }

    func sendOnce(_ message: SMSMessage) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: "\(baseURL)/api/message/sms/send")
        request.method = .POST
        var fields = [("mobile_phone", String(message.phone.drop(while: { $0 == "+" }))), ("message", message.text), ("from", sender)]
        if let callbackURL { fields.append(("callback_url", callbackURL)) }
        let form = Multipart(fields: fields)
        request.headers.add(name: "Content-Type", value: form.contentType)
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? "")")
        request.body = .bytes(ByteBuffer(bytes: form.body))
        let response = try await http.execute(request, timeout: .seconds(20))
        let body = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), body)
    }

    static func text(_ data: Data) -> String { String(decoding: data.prefix(300), as: UTF8.self) }
}

/// Play Mobile (broker-api): HTTP Basic, JSON body, our own message-id.
public struct PlayMobileProvider: SMSProvider {
    public let name = "playmobile"
    let http: HTTPClient
    let baseURL: String
    let login: String
    let password: String
    let originator: String

    public init(http: HTTPClient, baseURL: String = "https://send.smsxabar.uz", login: String, password: String, originator: String) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.login = login
        self.password = password
        self.originator = originator
    }

    struct Body: Encodable {
        struct Message: Encodable {
            struct SMS: Encodable { struct Content: Encodable { var text: String }; var originator: String; var content: Content }
            var recipient: String
            var messageID: String
            var sms: SMS
            enum CodingKeys: String, CodingKey { case recipient, messageID = "message-id", sms }
        }
        var messages: [Message]
    }

    public func send(_ message: SMSMessage) async throws -> String {
        var request = HTTPClientRequest(url: "\(baseURL)/broker-api/send")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(login):\(password)".utf8).base64EncodedString())
        let body = Body(messages: [.init(recipient: String(message.phone.drop(while: { $0 == "+" })), messageID: message.reference,
                                         sms: .init(originator: originator, content: .init(text: message.text)))])
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await http.execute(request, timeout: .seconds(20))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        let code = Int(response.status.code)
        if (200...299).contains(code) { return message.reference }
        struct Failure: Decodable {
            var code: Int?; var description: String?
            enum CodingKeys: String, CodingKey { case code = "error-code", description = "error-description" }
        }
        let failure = try? JSONDecoder().decode(Failure.self, from: data)
        let text = failure.map { "error-code \($0.code ?? 0): \($0.description ?? "")" } ?? String(decoding: data.prefix(300), as: UTF8.self)
        throw SMSError(status: code, "Play Mobile: \(text)", permanent: (400...499).contains(code) && code != 429)
    }
}

/// multipart/form-data with text fields.
struct Multipart {
    let boundary = "murojaat-" + UUID().uuidString
    var body: [UInt8] = []
    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    init(fields: [(String, String)]) {
        var text = ""
        for (name, value) in fields {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        text += "--\(boundary)--\r\n"
        body = Array(text.utf8)
    }
}
