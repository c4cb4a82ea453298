import ARI
import Foundation

extension AsteriskSimulator {
    /// ARI's REST over WebSocket as Asterisk 22.4+ does it (res/ari/ari_websocket_requests.c): a
    /// `RESTRequest` text frame on the events socket is handled in order, on the socket's reading side,
    /// and answered with a `RESTResponse` on the same socket. Malformed requests are answered with a 400
    /// and the socket stays open.
    /// The answer goes through the application's event filter like any event (Asterisk 22.10's
    /// `ari_websocket_send_event` checks `stasis_app_event_allowed`): an app whose `allowed` list lacks
    /// `RESTResponse` has its requests carried out but never hears their answers.
    func restOverWebSocket(_ text: String, app: String) -> String? {
        guard let reply = restOverWebSocketAnswer(text, app: app) else { return nil }
        return applications[app]?.allows("RESTResponse") ?? true ? reply : nil
    }

    func restOverWebSocketAnswer(_ text: String, app: String) -> String? {
        guard configuration.restOverWebSocket else { return nil }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            return restResponse(app: app, status: 400, reason: "Failed to parse request message JSON", transaction: "", request: "", uri: "", body: nil)
        }
        let transaction = object["transaction_id"] as? String ?? ""
        let requestId = object["request_id"] as? String ?? ""
        func fail(_ status: Int, _ message: String, uri: String = "") -> String {
            restResponse(app: app, status: status, reason: Self.reasonPhrase(status), transaction: transaction, request: requestId, uri: uri,
                         body: SimulatorResponse.error(status, message).body)
        }
        guard let type = object["type"] as? String else { return fail(400, "No 'type' property.") }
        guard type == "RESTRequest" else { return fail(400, "Unknown request type.") }
        guard let target = object["uri"] as? String, !target.isEmpty else { return fail(400, "No 'uri' property.") }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let uri = parts[0]
        guard let method = object["method"] as? String, ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method) else {
            return fail(400, "Unknown or missing 'method' property.", uri: uri)
        }
        var query = parts.count > 1 ? SimulatorServer.splitTarget("/?" + parts[1]).1 : [:]
        if let list = object["query_strings"] {
            guard let items = list as? [[String: Any]] else { return fail(400, "Unable to parse 'query_strings' array.", uri: uri) }
            for item in items {
                guard let name = item["name"] as? String, let value = item["value"] as? String else {
                    return fail(400, "Unable to parse 'query_strings' array.", uri: uri)
                }
                query[name] = value
            }
        }
        var body: Data?
        if let messageBody = object["message_body"] as? String {
            switch object["content_type"] as? String {
            case "application/json":
                body = Data(messageBody.utf8)
            case "application/x-www-form-urlencoded":
                query.merge(SimulatorServer.splitTarget("/?" + messageBody).1) { $1 }
            default:
                return fail(400, "Unknown content type.", uri: uri)
            }
        }
        // The uri is relative to /ari/, without a leading slash; a leading slash reaches the root,
        // which has no methods.
        guard !uri.hasPrefix("/") else { return fail(405, "Invalid method", uri: uri) }
        if uri == "events" { return fail(400, "Can't upgrade to websocket from a websocket", uri: uri) }
        let response = handle(method: method, path: "/" + uri, query: query, body: body, overWebSocket: true)
        if (200..<300).contains(response.status), response.contentType != "application/json" {
            // Binary answers (a recording's file) are not sent over the socket.
            return restResponse(app: app, status: 406, reason: "Not Acceptable.  Use HTTP GET", transaction: transaction,
                                request: requestId, uri: uri, body: nil)
        }
        return restResponse(app: app, status: response.status, reason: Self.reasonPhrase(response.status), transaction: transaction,
                            request: requestId, uri: uri, body: response.body)
    }

    /// The answer frame with Asterisk 22's members (`send_rest_response` packs type, ids, status, reason, uri and, with a
    /// body, `content_type` and `message_body`, compact JSON as a string; `ari_websocket_send_event` then sets
    /// `application`, and `session_send_or_queue` adds the missing `timestamp` and `asterisk_id`).
    func restResponse(app: String, status: Int, reason: String, transaction: String, request: String, uri: String, body: Data?) -> String {
        let frame = RESTResponseFrame(transaction_id: transaction, request_id: request, status_code: status, reason_phrase: reason, uri: uri,
                                      content_type: body?.isEmpty == false ? "application/json" : nil,
                                      // The simulator's bodies are already compact JSON, as Asterisk's message_body is.
                                      message_body: body?.isEmpty == false ? String(decoding: body!, as: UTF8.self) : nil,
                                      application: app, timestamp: now(), asterisk_id: configuration.asteriskId)
        return (try? Self.frameEncoder.encode(frame)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Asterisk 22's answer frame (member order is not kept by JSONEncoder, and no JSON reader depends on it).
    struct RESTResponseFrame: Encodable {
        var type = "RESTResponse"
        let transaction_id: String
        let request_id: String
        let status_code: Int
        let reason_phrase: String
        let uri: String
        let content_type: String?
        let message_body: String?
        let application: String
        let timestamp: String
        let asterisk_id: String
    }

    static let frameEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }()

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 412: "Precondition Failed"
        case 422: "Unprocessable Entity"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        default: "Unknown"
        }
    }
}
