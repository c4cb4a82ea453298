/// A small reader and writer for flat JSON objects — the frames of REST over WebSocket, read and written
/// for every ARI request. Foundation's coders spent more time in generic machinery than in the bytes.
/// Nested values are skipped (and validated) rather than decoded.
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case other
    }

    /// The top-level members of a JSON object; nil when the text is not one well-formed object.
    static func members(_ text: String) -> [String: Value]? {
        var text = text
        return text.withUTF8 { bytes -> [String: Value]? in
            var reader = Reader(bytes: bytes)
            return reader.object()
        }
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func object() -> [String: Value]? {
            var result: [String: Value] = [:]
            let valid = members { key, reader in
                guard let value = reader.value(depth: 0) else { return false }
                result[key] = value
                return true
            }
            return valid ? result : nil
        }

        /// Visits the members of one object (the whole text); `visit` must consume each value.
        mutating func members(_ visit: (String, inout Reader) -> Bool) -> Bool {
            skipSpace()
            guard consume(UInt8(ascii: "{")) else { return false }
            skipSpace()
            if consume(UInt8(ascii: "}")) { return finished() }
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard consume(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard visit(key, &self) else { return false }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return false }
                return finished()
            }
        }

        /// Passes over a string, checking its escapes, without building it.
        mutating func skipString() -> Bool {
            guard consume(UInt8(ascii: "\"")) else { return false }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return false }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): break
                    case UInt8(ascii: "u"): guard hex4() != nil else { return false }
                    default: return false
                    }
                case 0..<0x20: return false
                default: break
                }
            }
            return false
        }

        mutating func finished() -> Bool {
            skipSpace()
            return index == bytes.count
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func value(depth: Int) -> Value? {
            guard index < bytes.count, depth < 64 else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return string().map(Value.string)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                return skipContainer(depth: depth) ? .other : nil
            case UInt8(ascii: "t"):
                return literal("true") ? .other : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .other : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .other : nil
            default:
                return number().map(Value.number)
            }
        }

        /// Passes over one value, checking it, without building its strings.
        mutating func skipValue(depth: Int) -> Bool {
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "\"") { return skipString() }
            return value(depth: depth) != nil
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        mutating func number() -> Double? {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            guard index > start else { return nil }
            return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        mutating func skipContainer(depth: Int) -> Bool {
            let close: UInt8 = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            index += 1
            skipSpace()
            if consume(close) { return true }
            while true {
                skipSpace()
                if isObject {
                    guard string() != nil else { return false }
                    skipSpace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipSpace()
                }
                guard value(depth: depth + 1) != nil else { return false }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(close)
            }
        }

        /// A JSON string with its escapes resolved (surrogate pairs joined; a lone surrogate is refused).
        /// Without `unicodeEscapes`, a `\u` escape is refused too.
        mutating func string(unicodeEscapes: Bool = true) -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            // Fast path: no escapes.
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
                index += 1
            }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard unicodeEscapes, var scalar = hex4() else { return nil }
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            return nil
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        return nil
                    }
                default:
                    guard byte >= 0x20 else { return nil }
                    out.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value << 4 | digit
            }
            return value
        }
    }

    static let hexDigits = Array("0123456789abcdef")

    /// `"text"` with JSON escapes: quotes, backslashes and control characters.
    static func quoted(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `"text"` with JSON escapes. Text with nothing to escape (nearly all: ids, names, numbers as
    /// text) is appended in one piece, without building a new string first.
    static func appendQuoted(_ text: String, to out: inout String) {
        let utf8 = text.utf8
        let escaped: (UInt8) -> Bool = { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
        let needsEscape = utf8.withContiguousStorageIfAvailable { $0.contains(where: escaped) } ?? utf8.contains(where: escaped)
        out += "\""
        guard needsEscape else {
            out += text
            out += "\""
            return
        }
        var plainStart = utf8.startIndex
        var index = plainStart
        while index != utf8.endIndex {
            let byte = utf8[index]
            if escaped(byte) {
                out += String(utf8[plainStart..<index])!
                switch byte {
                case UInt8(ascii: "\""): out += "\\\""
                case UInt8(ascii: "\\"): out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                default:
                    out += "\\u00" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
                }
                plainStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        out += String(utf8[plainStart..<utf8.endIndex])!
        out += "\""
    }
}

/// JSON text written by hand, for rows sent in bulk (the call journal's batches).
public enum JSONText {
    /// `"text"` with JSON escapes.
    public static func quoted(_ text: String) -> String { FlatJSON.quoted(text) }

    /// One object's members, written in order; nil values are left out (they read back as null). Member
    /// names are written as given: they must be plain names (column names), with nothing to escape.
    public struct Object {
        var text: String
        var empty = true

        /// Continues `text` (an array being written), which it takes over until `finish(into:)`.
        init(continuing text: inout String) {
            self.text = ""
            swap(&self.text, &text)
            self.text += "{"
        }

        mutating func finish(into text: inout String) {
            self.text += "}"
            swap(&self.text, &text)
        }

        mutating func key(_ name: StaticString) {
            text += empty ? "\"" : ",\""
            empty = false
            name.withUTF8Buffer { text += String(decoding: $0, as: UTF8.self) }
            text += "\":"
        }

        public mutating func add(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            FlatJSON.appendQuoted(value, to: &text)
        }

        public mutating func add(_ name: StaticString, _ value: Double?) {
            guard let value, value.isFinite else { return }
            key(name)
            text += value.description
        }

        public mutating func add(_ name: StaticString, _ value: Int64?) {
            guard let value else { return }
            key(name)
            text += String(value)
        }

        public mutating func add(_ name: StaticString, _ value: Int?) {
            add(name, value.map(Int64.init))
        }

        public mutating func add(_ name: StaticString, _ value: Bool) {
            key(name)
            text += value ? "true" : "false"
        }

        public mutating func add(_ name: StaticString, _ value: [String]) {
            key(name)
            text += "["
            for (index, item) in value.enumerated() {
                if index > 0 { text += "," }
                FlatJSON.appendQuoted(item, to: &text)
            }
            text += "]"
        }

        public mutating func add(_ name: StaticString, _ value: [String: String]) {
            key(name)
            text += "{"
            var first = true
            for (key, item) in value {
                if !first { text += "," }
                first = false
                FlatJSON.appendQuoted(key, to: &text)
                text += ":"
                FlatJSON.appendQuoted(item, to: &text)
            }
            text += "}"
        }

    }

    /// `[obj,obj,…]`, each object written by `write` straight into one string.
    public static func array<Row>(_ rows: [Row], capacity: Int = 256, _ write: (Row, inout Object) -> Void) -> String {
        var text = "["
        text.reserveCapacity(rows.count * capacity + 2)
        for (index, row) in rows.enumerated() {
            if index > 0 { text += "," }
            var object = Object(continuing: &text)
            write(row, &object)
            object.finish(into: &text)
        }
        text += "]"
        return text
    }
}
