import ARI
import Foundation

/// An answer of the simulated ARI: status and JSON (or raw) body.
public struct SimulatorResponse: Sendable {
    public var status: Int
    public var body: Data?
    public var contentType: String

    public init(status: Int, body: Data? = nil, contentType: String = "application/json") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200) -> SimulatorResponse {
        SimulatorResponse(status: status, body: try? ARICoding.encoder().encode(value))
    }

    static let noContent = SimulatorResponse(status: 204)

    /// Asterisk's error shape, `{"message": "…"}`.
    static func error(_ status: Int, _ message: String) -> SimulatorResponse {
        SimulatorResponse(status: status, body: try? JSONEncoder().encode(["message": message]))
    }
}

/// Thrown inside handlers to answer with an ARI error.
struct SimulatorFailure: Error {
    var response: SimulatorResponse
    init(_ status: Int, _ message: String) { response = .error(status, message) }
    init(response: SimulatorResponse) { self.response = response }
}

/// The parameters of one request: path parameters, query (and JSON body fields), and `variables`.
struct SimulatorParameters: Sendable {
    var path: [String: String]
    var query: [String: String]
    var variables: [String: String]
    /// The request's JSON body as sent, for the operations whose body is one parameter (`eventFilter`).
    var body: Data? = nil

    func required(_ name: String, message: String? = nil, status: Int = 400) throws -> String {
        guard let value = query[name], !value.isEmpty else {
            throw SimulatorFailure(status, message ?? "Missing parameter \(name)")
        }
        return value
    }

    func int(_ name: String) throws -> Int? {
        guard let text = query[name] else { return nil }
        guard let value = Int(text) else { throw SimulatorFailure(400, "Invalid value for \(name)") }
        return value
    }

    func bool(_ name: String) -> Bool? {
        query[name].map { ["true", "yes", "1"].contains($0.lowercased()) }
    }
}

/// One REST request as the simulator received it, for tests to read back.
public struct RecordedRequest: Codable, Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var status: Int
    /// Sent as a `RESTRequest` frame on the events socket rather than over HTTP.
    public var overWebSocket: Bool = false
}
