import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, read with a size limit. Every value is trimmed;
/// control characters other than newlines and tabs are dropped.
struct Form: Sendable {
    static let maxBytes = 64 * 1024
    var fields: [String: String]

    init(fields: [String: String]) { self.fields = fields }

    /// The form of the request: the one already read for the CSRF check, or the body read now.
    static func read(_ request: Request, _ context: AppRequestContext, limit: Int = Form.maxBytes) async throws -> Form {
        if let form = context.form { return form }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw HTTPError(.contentTooLarge)
        }
        let type = request.headers[.contentType] ?? ""
        guard type.isEmpty || type.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            throw HTTPError(.unsupportedMediaType)
        }
        return Form(fields: parse(String(buffer: buffer)))
    }

    static func parse(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let rawKey = parts.first else { continue }
            let key = decode(rawKey)
            let value = parts.count > 1 ? decode(parts[1]) : ""
            guard !key.isEmpty, key.count <= 64 else { continue }
            fields[key] = clean(value)
        }
        return fields
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    static func clean(_ value: String) -> String {
        let kept = value.unicodeScalars.filter { scalar in
            scalar == "\n" || scalar == "\t" || !CharacterSet.controlCharacters.contains(scalar)
        }
        return String(String.UnicodeScalarView(kept)).replacingOccurrences(of: "\r\n", with: "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The fields to show again in a form with errors: everything typed, without the CSRF tokens.
    var echo: [String: String] { fields.filter { $0.key != "_csrf" && $0.key != "_pcsrf" } }

    subscript(_ key: String) -> String? {
        guard let value = fields[key], !value.isEmpty else { return nil }
        return value
    }
}

/// Field errors of a form, by field name, already in the user's language.
struct FieldErrors: Sendable {
    var messages: [String: String] = [:]
    var isEmpty: Bool { messages.isEmpty }
    mutating func add(_ field: String, _ message: String) {
        if messages[field] == nil { messages[field] = message }
    }
}
