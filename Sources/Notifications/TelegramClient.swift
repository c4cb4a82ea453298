import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Telegram Bot API `sendMessage` in HTML mode.
public struct TelegramClient: Sendable {
    public enum Outcome: Sendable, Equatable {
        case sent(messageID: Int64)
        /// 429: wait this many seconds, then send the same message again.
        case retryAfter(seconds: Int)
        /// 400 with `migrate_to_chat_id`: the group became a supergroup with this id.
        case migrated(to: String)
        /// Any other refusal; `permanent` when sending again unchanged cannot succeed (4xx).
        case refused(code: Int, description: String, permanent: Bool)
    }

    public let http: HTTPClient
    public let baseURL: String
    public let token: String
    public var timeout: TimeAmount = .seconds(20)

    public init(http: HTTPClient, baseURL: String = "https://api.telegram.org", token: String) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
    }

    /// `123456:ABC-def_…`: anything else would end up in the URL path.
    public static func isValidToken(_ token: String) -> Bool {
        token.range(of: #"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$"#, options: .regularExpression) != nil
    }

    /// A group (`-123…`), a supergroup (`-100…`) or a public `@channel`.
    public static func isValidChatID(_ chat: String) -> Bool {
        chat.range(of: #"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$"#, options: .regularExpression) != nil
    }

    /// `<`, `>`, `&` and `"` as entities: text from citizens may not open tags in HTML mode.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Telegram's limit is 4096 characters after entity parsing; longer texts are cut (never mid-entity).
    public static func limit(_ html: String, to maximum: Int = 4000) -> String {
        guard html.count > maximum else { return html }
        var cut = String(html.prefix(maximum))
        if let amp = cut.lastIndex(of: "&"), !cut[amp...].contains(";") { cut = String(cut[..<amp]) }
        if let lt = cut.lastIndex(of: "<"), !cut[lt...].contains(">") { cut = String(cut[..<lt]) }
        return cut + "…"
    }

    struct Request: Encodable {
        var chat_id: String
        var text: String
        var parse_mode = "HTML"
        var disable_web_page_preview = true
    }

    struct Response: Decodable {
        struct Parameters: Decodable { var retry_after: Int?; var migrate_to_chat_id: Int64? }
        struct Message: Decodable { var message_id: Int64 }
        var ok: Bool
        var result: Message?
        var error_code: Int?
        var description: String?
        var parameters: Parameters?
    }

    public func sendMessage(chatID: String, html: String) async throws -> Outcome {
        guard Self.isValidToken(token) else { return .refused(code: 0, description: "the bot token is not in the form 123456:ABC…", permanent: true) }
        var request = HTTPClientRequest(url: "\(baseURL)/bot\(token)/sendMessage")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONEncoder().encode(Request(chat_id: chatID, text: Self.limit(html)))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let decoded = try? JSONDecoder().decode(Response.self, from: Data(buffer: bytes))
        let code = Int(response.status.code)
        if let decoded, decoded.ok, let message = decoded.result { return .sent(messageID: message.message_id) }
        if let retry = decoded?.parameters?.retry_after, code == 429 || decoded?.error_code == 429 { return .retryAfter(seconds: max(1, retry)) }
        if code == 429 { return .retryAfter(seconds: 5) }
        if let migrated = decoded?.parameters?.migrate_to_chat_id { return .migrated(to: String(migrated)) }
        let description = decoded?.description ?? String(buffer: bytes).prefix(300).description
        return .refused(code: code, description: description, permanent: (400...499).contains(code))
    }
}

extension Data {
    init(buffer: ByteBuffer) { self = Data(buffer.readableBytesView) }
}
