import Foundation
import Logging
import Synchronization
import WSCore

/// ARI's REST over WebSocket (Asterisk 20.12, 21.7, 22.2 and later): a request is a `RESTRequest`
/// message on the events socket and its answer a `RESTResponse` on the same socket. Compared with
/// HTTP there is no request head to write and parse, no connection pool and no connection per
/// request in flight: one frame out, one frame in.
enum RESTFrame {
    /// The `RESTRequest` frame of a request: uri relative to `/ari/` without a leading slash, query
    /// parameters as `query_strings`, a JSON body as a string with its content type.
    static func request(id: String, _ request: ARIRequest) -> String {
        var bytes: [UInt8] = []
        write(id: id, request, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same frame as UTF-8, appended to `out`: straight into the socket's buffer, with no string per
    /// request, per path or per parameter (framing was about a twelfth of the call flow's thread).
    static func write(id: String, _ request: ARIRequest, into out: inout [UInt8]) {
        func literal(_ text: StaticString) { text.withUTF8Buffer { out.append(contentsOf: $0) } }
        literal("{\"type\":\"RESTRequest\",\"transaction_id\":")
        JSONText.appendQuoted(id, to: &out)
        literal(",\"request_id\":")
        JSONText.appendQuoted(id, to: &out)
        literal(",\"method\":\"")
        out.append(contentsOf: request.method.rawValue.utf8)
        literal("\",\"uri\":")
        // The path without its leading slashes, escaped as a JSON string. Filled-in values are percent-encoded
        // (nothing to escape); only an odd template could hold a quote, a backslash or a control character.
        let start = out.count
        request.appendFilledPath(to: &out)
        let slashes = out[start...].prefix { $0 == UInt8(ascii: "/") }.count
        if slashes > 0 { out.removeSubrange(start..<start + slashes) }
        if out[start...].contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) {
            let path = String(decoding: out[start...], as: UTF8.self)
            out.removeSubrange(start...)
            JSONText.appendQuoted(path, to: &out)
        } else {
            out.insert(UInt8(ascii: "\""), at: start)
            out.append(UInt8(ascii: "\""))
        }
        if !request.query.isEmpty {
            literal(",\"query_strings\":[")
            for (index, item) in request.query.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                literal("{\"name\":")
                JSONText.appendQuoted(item.name, to: &out)
                literal(",\"value\":")
                JSONText.appendQuoted(item.value, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        if let body = request.body {
            literal(",\"content_type\":\"application/json\",\"message_body\":")
            JSONText.appendQuoted(String(decoding: body, as: UTF8.self), to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A `RESTResponse` frame: its request id and the answer; nil when the frame is something else.
    static func response(_ text: String) -> (id: String, response: ARIResponse)? {
        response(text, withBody: { _, _ in true })
    }

    /// The same, reading the body only when `withBody(id, status)` asks for it: a pipelined request's
    /// sender looks at the status alone, and unescaping a body (a JSON text inside a JSON string) was most
    /// of the cost of reading an answer.
    ///
    /// Member names and the `type` and `content_type` values are compared in place, without a string each (an
    /// answer has about a dozen members, and one comes for every request of every call). A status that is not
    /// a number from 0 to 999 makes the frame malformed (as a number JSON allows but no HTTP status is, it
    /// once brought the process down converting it).
    static func response(_ text: String, withBody: (String, Int) -> Bool) -> (id: String, response: ARIResponse)? {
        var text = text
        return text.withUTF8 { bytes -> (id: String, response: ARIResponse)? in
            var reader = FlatJSON.Reader(bytes: bytes)
            var isResponse = false, status: Int?, requestId = "", transactionId = "", contentType: String?
            var body: Int?
            let valid = reader.members(inPlace: { key, reader in
                if key == "message_body", reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "\"") {
                    body = reader.index
                    return reader.skipString()
                }
                if key == "type" {
                    guard let type = reader.stringValue(equals: "RESTResponse") else { return false }
                    isResponse = type
                } else if key == "status_code" {
                    guard reader.statusCode(into: &status) else { return false }
                } else if key == "request_id" || key == "transaction_id" {
                    guard let value = reader.value(depth: 0) else { return false }
                    if case .string(let id) = value {
                        if key == "request_id" { requestId = id } else { transactionId = id }
                    }
                } else if key == "content_type" {
                    if reader.isString("application/json") {
                        contentType = Self.json // one string for every answer instead of a new one each
                        return reader.skipString()
                    } else {
                        guard let value = reader.value(depth: 0) else { return false }
                        if case .string(let type) = value { contentType = type }
                    }
                } else {
                    // The request's URI and the reason phrase are passed over, not built.
                    return reader.skipValue(depth: 0)
                }
                return true
            })
            guard valid, isResponse, let status else { return nil }
            let id = requestId.isEmpty ? transactionId : requestId
            var data = Data()
            if let body, withBody(id, status) {
                reader.index = body
                guard let text = reader.string() else { return nil }
                data = Data(text.utf8)
            }
            return (id, ARIResponse(status: status, contentType: contentType, body: data))
        }
    }

    static let json = "application/json"
}

/// Requests in flight on one socket, by request id. A slot is made before the frame is written, so an
/// answer that arrives before its sender waits for it is kept, not lost.
final class RESTRequestTable: Sendable {
    enum Slot {
        case expecting(deadline: ContinuousClock.Instant)
        case waiting(CheckedContinuation<ARIResponse, any Error>, deadline: ContinuousClock.Instant)
        case arrived(Result<ARIResponse, any Error>)
        /// A pipelined request: its sender does not wait; the answer is handed to this closure.
        case callback(@Sendable (Result<ARIResponse, any Error>) -> Void, deadline: ContinuousClock.Instant)
    }

    let slots = Mutex<[String: Slot]>([:])
    let counter = Atomic<UInt64>(0)

    func nextId() -> String {
        "r\(counter.add(1, ordering: .relaxed).newValue)"
    }

    func expect(_ id: String, deadline: ContinuousClock.Instant) {
        slots.withLock { $0[id] = .expecting(deadline: deadline) }
    }

    func expect(_ id: String, deadline: ContinuousClock.Instant, completion: @escaping @Sendable (Result<ARIResponse, any Error>) -> Void) {
        slots.withLock { $0[id] = .callback(completion, deadline: deadline) }
    }

    func cancel(_ id: String) {
        _ = slots.withLock { $0.removeValue(forKey: id) }
    }

    func wait(_ id: String) async throws -> ARIResponse {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<ARIResponse, any Error>? = slots.withLock { table in
                switch table[id] {
                case .expecting(let deadline):
                    table[id] = .waiting(continuation, deadline: deadline)
                    return nil
                case .arrived(let result):
                    table[id] = nil
                    return result
                case .waiting, .callback, nil:
                    return .failure(ARIError.transport("request \(id) is not in flight"))
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// True when the id was in flight (a late or unknown answer is dropped).
    @discardableResult
    func resolve(_ id: String, with result: Result<ARIResponse, any Error>) -> Bool {
        enum Waiter { case none, continuation(CheckedContinuation<ARIResponse, any Error>), callback(@Sendable (Result<ARIResponse, any Error>) -> Void) }
        let waiting: Waiter? = slots.withLock { table in
            switch table[id] {
            case .expecting:
                table[id] = .arrived(result)
                return Waiter.none
            case .waiting(let continuation, _):
                table[id] = nil
                return .continuation(continuation)
            case .callback(let completion, _):
                table[id] = nil
                return .callback(completion)
            case .arrived, nil:
                return nil
            }
        }
        switch waiting {
        case nil: return false
        case .none?: break
        case .continuation(let continuation)?: continuation.resume(with: result)
        case .callback(let completion)?: completion(result)
        }
        return true
    }

    func failAll(_ error: any Error) {
        let ids = slots.withLock { Array($0.keys) }
        for id in ids { resolve(id, with: .failure(error)) }
    }

    func expire(now: ContinuousClock.Instant) {
        let ids = slots.withLock { table in
            table.compactMap { id, slot -> String? in
                switch slot {
                case .expecting(let deadline), .waiting(_, let deadline), .callback(_, let deadline): deadline <= now ? id : nil
                case .arrived: nil
                }
            }
        }
        for id in ids { resolve(id, with: .failure(ARIError.timeout)) }
    }

    var count: Int { slots.withLock { $0.count } }

    /// Whether the sender of `id` reads the answer's body (a pipelined sender does not).
    func wantsBody(_ id: String) -> Bool {
        slots.withLock { table in
            if case .callback? = table[id] { return false }
            return true
        }
    }
}

/// Sends requests over the events socket when that Asterisk answers REST over WebSocket there, and over
/// HTTP otherwise (an older Asterisk, the socket down, or a streamed download such as a recording file).
public struct WebSocketARITransport: ARITransport {
    public let connection: ARIEventConnection
    public let http: HTTPARITransport

    public init(connection: ARIEventConnection, http: HTTPARITransport) {
        self.connection = connection
        self.http = http
    }

    public func send(_ request: ARIRequest) async throws -> ARIResponse {
        if connection.restOverWebSocket {
            return try await connection.sendOverSocket(request)
        }
        return try await http.send(request)
    }

    public func stream(_ request: ARIRequest) async throws -> ARIStreamedResponse {
        try await http.stream(request)
    }

    public func download(_ request: ARIRequest, toFile path: String) async throws -> Int {
        try await http.download(request, toFile: path)
    }

    public func download(_ request: ARIRequest, toFile path: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        http.download(request, toFile: path, completion: completion)
    }
}

extension ARIClient {
    /// A client whose requests travel over `connection`'s socket when Asterisk supports it, else over HTTP.
    public init(connection: ARIEventConnection) {
        self.init(transport: WebSocketARITransport(connection: connection, http: HTTPARITransport(configuration: connection.configuration)),
                  application: connection.configuration.application)
    }
}
