import Foundation
import Logging
import Synchronization
import WSCore

/// ARI's REST over WebSocket (Asterisk 20.12, 21.7, 22.2 and later): a request is a `RESTRequest`
/// message on the events socket and its answer a `RESTResponse` on the same socket. Compared with
/// HTTP there is no request head to write and parse, no connection pool and no connection per
/// request in flight: one frame out, one frame in.
enum RESTFrame {
    struct Query: Codable { var name: String; var value: String }

    /// A `RESTRequest` frame as Asterisk reads it (res_ari `ari_websocket_process_request`).
    struct Request: Encodable {
        var type = "RESTRequest"
        var transaction_id: String
        var request_id: String
        var method: String
        var uri: String
        var query_strings: [Query]?
        var content_type: String?
        var message_body: String?
    }

    /// A `RESTResponse` frame as Asterisk writes it.
    struct Response: Decodable {
        var type: String
        var transaction_id: String?
        var request_id: String?
        var status_code: Int
        var content_type: String?
        var message_body: String?
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// The `RESTRequest` frame of a request: uri relative to `/ari/` without a leading slash, query
    /// parameters as `query_strings`, a JSON body as a string with its content type.
    static func request(id: String, _ request: ARIRequest) -> String {
        var path: [UInt8] = []
        request.appendFilledPath(to: &path)
        let uri = String(decoding: path.drop { $0 == UInt8(ascii: "/") }, as: UTF8.self)
        let frame = Request(transaction_id: id, request_id: id, method: request.method.rawValue, uri: uri,
                            query_strings: request.query.isEmpty ? nil : request.query.map { Query(name: $0.name, value: $0.value) },
                            content_type: request.body == nil ? nil : json,
                            message_body: request.body.map { String(decoding: $0, as: UTF8.self) })
        // Encoding strings, arrays of strings and optionals cannot fail.
        return (try? String(decoding: encoder.encode(frame), as: UTF8.self)) ?? "{}"
    }

    /// A `RESTResponse` frame: its request id and the answer; nil when the frame is something else or malformed (a
    /// status that is not a number from 0 to 999 included).
    static func response(_ text: String) -> (id: String, response: ARIResponse)? {
        response(text, withBody: { _, _ in true })
    }

    /// The same, keeping the body only when `withBody(id, status)` asks for it (a pipelined request's sender looks at
    /// the status alone).
    static func response(_ text: String, withBody: (String, Int) -> Bool) -> (id: String, response: ARIResponse)? {
        guard let frame = try? JSONDecoder().decode(Response.self, from: Data(text.utf8)), frame.type == "RESTResponse",
              (0...999).contains(frame.status_code) else { return nil }
        let id = frame.request_id.flatMap { $0.isEmpty ? nil : $0 } ?? frame.transaction_id ?? ""
        let body = withBody(id, frame.status_code) ? Data((frame.message_body ?? "").utf8) : Data()
        return (id, ARIResponse(status: frame.status_code, contentType: frame.content_type, body: body))
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
