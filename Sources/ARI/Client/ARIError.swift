/// What went wrong with an ARI request, by HTTP status, carrying ARI's own message.
public enum ARIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400: a parameter is missing or invalid.
    case badRequest(String)
    /// 401 or 403: the credentials were refused.
    case unauthorized(String)
    /// 404: the channel, bridge, playback or recording does not exist (or the URL is unknown).
    case notFound(String)
    /// 409: the resource is not in Stasis, or the id or name is already in use.
    case conflict(String)
    /// 412: the channel is in a state that does not allow the operation.
    case preconditionFailed(String)
    /// 422: the request is well-formed but refers to something unusable (an unknown format, say).
    case unprocessable(String)
    /// 5xx: Asterisk failed (500 "Allocation failed" for an unreachable endpoint, 503 not ready).
    case server(status: Int, message: String)
    /// Any other status.
    case unexpectedStatus(status: Int, message: String)
    /// The request never got an answer: connection refused, reset, DNS.
    case transport(String)
    /// No answer within the request's timeout.
    case timeout
    /// The answer's body was not what the ARI spec describes.
    case decoding(String)

    /// Maps a non-2xx answer to its error; `message` is ARI's `message` (or `error`) field.
    public init(status: Int, message: String) {
        switch status {
        case 400: self = .badRequest(message)
        case 401, 403: self = .unauthorized(message)
        case 404: self = .notFound(message)
        case 409: self = .conflict(message)
        case 412: self = .preconditionFailed(message)
        case 422: self = .unprocessable(message)
        case 500...599: self = .server(status: status, message: message)
        default: self = .unexpectedStatus(status: status, message: message)
        }
    }

    public var status: Int? {
        switch self {
        case .badRequest: 400
        case .unauthorized: 401
        case .notFound: 404
        case .conflict: 409
        case .preconditionFailed: 412
        case .unprocessable: 422
        case .server(let status, _), .unexpectedStatus(let status, _): status
        case .transport, .timeout, .decoding: nil
        }
    }

    public var description: String {
        switch self {
        case .badRequest(let m): "ARI 400 bad request: \(m)"
        case .unauthorized(let m): "ARI 401 unauthorized: \(m)"
        case .notFound(let m): "ARI 404 not found: \(m)"
        case .conflict(let m): "ARI 409 conflict: \(m)"
        case .preconditionFailed(let m): "ARI 412 precondition failed: \(m)"
        case .unprocessable(let m): "ARI 422 unprocessable: \(m)"
        case .server(let s, let m): "ARI \(s) server error: \(m)"
        case .unexpectedStatus(let s, let m): "ARI unexpected status \(s): \(m)"
        case .transport(let m): "ARI transport error: \(m)"
        case .timeout: "ARI request timed out"
        case .decoding(let m): "ARI answer could not be decoded: \(m)"
        }
    }
}
