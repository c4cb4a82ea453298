import Mustache

/// Text made safe for HTML: `<`, `>`, `&`, `"` and `'` as entities, one Unicode scalar at a time.
///
/// Not one Character at a time, as the template engine's own HTML escaping does: Swift joins some scalars with the
/// next into one Character (a "prepend" mark such as U+0600 ARABIC NUMBER SIGN before `<` is one Character), which
/// then equals none of the five, so `؀<img onerror=…>` went out as markup. Every template selects this escaping
/// with `{{% CONTENT_TYPE: HTML_SCALARS}}` on its first line; the rows the statistics page writes itself use it too.
enum HTMLText {
    static func escape(_ text: String) -> String {
        let special: (UInt8) -> Bool = { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&")
            || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }
        guard text.utf8.contains(where: special) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The content type the templates name; registered before any template is read.
    struct ContentType: MustacheContentType {
        func escapeText(_ text: String) -> String { HTMLText.escape(text) }
    }

    static let name = "HTML_SCALARS"
    static let registered: Void = MustacheContentTypes.register(ContentType(), named: name)
}
