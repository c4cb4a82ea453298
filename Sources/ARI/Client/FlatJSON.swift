import Foundation

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
            members(inPlace: { key, reader in visit(String(decoding: key.bytes, as: UTF8.self), &reader) })
        }

        /// A member's name as it is written, for comparing in place with `==`.
        struct Key {
            let bytes: UnsafeBufferPointer<UInt8>
            static func == (key: Key, name: StaticString) -> Bool {
                name.utf8CodeUnitCount == key.bytes.count
                    && (key.bytes.isEmpty || memcmp(key.bytes.baseAddress!, name.utf8Start, key.bytes.count) == 0)
            }
        }

        /// `members`, each name given as its bytes: in place when it has no escapes (every name ARI writes),
        /// else unescaped first.
        mutating func members(inPlace visit: (Key, inout Reader) -> Bool) -> Bool {
            skipSpace()
            guard consume(UInt8(ascii: "{")) else { return false }
            skipSpace()
            if consume(UInt8(ascii: "}")) { return finished() }
            while true {
                skipSpace()
                let accepted: Bool
                if let key = plainString() {
                    skipSpace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipSpace()
                    accepted = visit(Key(bytes: key), &self)
                } else {
                    guard var key = string() else { return false }
                    skipSpace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipSpace()
                    accepted = key.withUTF8 { visit(Key(bytes: $0), &self) }
                }
                guard accepted else { return false }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return false }
                return finished()
            }
        }

        /// Whether the value here is the string `expected` written without escapes; nothing is consumed.
        func isString(_ expected: StaticString) -> Bool {
            let count = expected.utf8CodeUnitCount
            guard index + count + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\""), bytes[index + count + 1] == UInt8(ascii: "\"") else {
                return false
            }
            return memcmp(bytes.baseAddress! + index + 1, expected.utf8Start, count) == 0
        }

        /// Whether the string value here is `expected` (read in place when it has no escapes); nil when the value
        /// is not well-formed. A value that is not a string is passed over and is not `expected`.
        mutating func stringValue(equals expected: StaticString) -> Bool? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return value(depth: 0).map { _ in false } }
            if let text = plainString() { return Key(bytes: text) == expected }
            guard let text = string() else { return nil }
            return expected.withUTF8Buffer { text.utf8.elementsEqual($0) }
        }

        /// The bytes of the string here, past its closing quote, when it has nothing to unescape (no backslash, no
        /// control character); nil, with nothing consumed, otherwise.
        mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
            index = end + 1
            return UnsafeBufferPointer(rebasing: bytes[start..<end])
        }

        /// A status code into `status`: a number from 0 to 999, or nil for a value that is not a number (as before).
        /// False when the value is not well-formed or is a number no status is.
        mutating func statusCode(into status: inout Int?) -> Bool {
            guard let value = value(depth: 0) else { return false }
            guard case .number(let number) = value else {
                status = nil
                return true
            }
            guard number >= 0, number < 1000 else { return false }
            status = Int(number)
            return true
        }

        /// Passes over a string, checking its escapes, without building it. Without `unicodeEscapes`, a `\u`
        /// escape is refused (as `string(unicodeEscapes:)` does).
        mutating func skipString(unicodeEscapes: Bool = true) -> Bool {
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
                    case UInt8(ascii: "u"): guard unicodeEscapes, hex4() != nil else { return false }
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
        let escaped: (UInt8) -> Bool = { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
        guard text.utf8.contains(where: escaped) else {
            out += "\""
            out += text
            out += "\""
            return
        }
        var bytes: [UInt8] = []
        JSONText.appendQuoted(text, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }
}

/// JSON text written by hand, for rows sent in bulk (the call journal's batches), as UTF-8 bytes: no string
/// is built per member, and ids, numbers and times are written digit by digit (the journal's JSON as a
/// `String` was about a third of the shared pool's time in the benchmark, `uuidString` alone a `sprintf` per id).
public enum JSONText {
    /// `"text"` with JSON escapes.
    public static func quoted(_ text: String) -> String { FlatJSON.quoted(text) }

    /// One object's members, written in order; nil values are left out (they read back as null). Member
    /// names are written as given: they must be plain names (column names), with nothing to escape.
    public struct Object {
        var bytes: [UInt8]
        var empty = true

        /// Continues `bytes` (an array being written), which it takes over until `finish(into:)`.
        init(continuing bytes: inout [UInt8]) {
            self.bytes = []
            swap(&self.bytes, &bytes)
            self.bytes.append(UInt8(ascii: "{"))
        }

        mutating func finish(into bytes: inout [UInt8]) {
            self.bytes.append(UInt8(ascii: "}"))
            swap(&self.bytes, &bytes)
        }

        mutating func key(_ name: StaticString) {
            if !empty { bytes.append(UInt8(ascii: ",")) }
            empty = false
            bytes.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { bytes.append(contentsOf: $0) }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(UInt8(ascii: ":"))
        }

        public mutating func add(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendQuoted(value, to: &bytes, forPostgreSQL: true)
        }

        /// An id in its canonical form, lower-case, as PostgreSQL's `uuid` reads it.
        public mutating func add(_ name: StaticString, _ value: UUID?) {
            guard let value else { return }
            key(name)
            bytes.append(UInt8(ascii: "\""))
            JSONText.appendUUID(value, to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }

        /// A number of seconds (times as seconds since 1970), to the microsecond: PostgreSQL's timestamps go no finer.
        public mutating func add(_ name: StaticString, _ value: Double?) {
            guard let value, value.isFinite else { return }
            key(name)
            JSONText.appendSeconds(value, to: &bytes)
        }

        public mutating func add(_ name: StaticString, _ value: Int64?) {
            guard let value else { return }
            key(name)
            JSONText.appendInteger(value, to: &bytes)
        }

        public mutating func add(_ name: StaticString, _ value: Int?) {
            add(name, value.map(Int64.init))
        }

        public mutating func add(_ name: StaticString, _ value: Bool) {
            key(name)
            let literal: StaticString = value ? "true" : "false"
            literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        public mutating func add(_ name: StaticString, _ value: [String]) {
            key(name)
            bytes.append(UInt8(ascii: "["))
            for (index, item) in value.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(item, to: &bytes, forPostgreSQL: true)
            }
            bytes.append(UInt8(ascii: "]"))
        }

        public mutating func add(_ name: StaticString, _ value: [String: String]) {
            key(name)
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (key, item) in value {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                JSONText.appendQuoted(key, to: &bytes, forPostgreSQL: true)
                bytes.append(UInt8(ascii: ":"))
                JSONText.appendQuoted(item, to: &bytes, forPostgreSQL: true)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// `[obj,obj,…]` as UTF-8, each object written by `write` straight into one buffer.
    public static func array<Row>(_ rows: [Row], capacity: Int = 256, _ write: (Row, inout Object) -> Void) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows.count * capacity + 2)
        bytes.append(UInt8(ascii: "["))
        for (index, row) in rows.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            var object = Object(continuing: &bytes)
            write(row, &object)
            object.finish(into: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
        return bytes
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// `"text"` with JSON escapes: quotes, backslashes and control characters (as `\u00XX` or their short forms).
    /// With `forPostgreSQL`, U+0000 becomes U+FFFD: PostgreSQL's `text` and `jsonb` cannot hold it, and one in a
    /// caller's number or name would otherwise have every row of its journal batch refused.
    static func appendQuoted(_ text: String, to out: inout [UInt8], forPostgreSQL: Bool = false) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var plainStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainStart..<index]))
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x00 where forPostgreSQL: out.append(contentsOf: "ufffd".utf8)
                default:
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
                }
                plainStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainStart..<utf8.count]))
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case.
    static func appendUUID(_ id: UUID, to out: inout [UInt8]) {
        withUnsafeBytes(of: id.uuid) { raw in
            for (index, byte) in raw.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, minimumCount: 1, to: &out)
    }

    /// The decimal digits of `value`, left-padded with zeros to `minimumCount`.
    static func appendDigits(_ value: UInt64, minimumCount: Int, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) // 32 bytes: room for the 20 digits of UInt64.max
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[31 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0 || count < minimumCount
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(32 - count)...]))
        }
    }

    /// Seconds with six decimals (rounded to the microsecond); beyond ±9·10⁹ seconds, Swift's shortest form.
    static func appendSeconds(_ value: Double, to out: inout [UInt8]) {
        guard value.magnitude < 9e9 else {
            out.append(contentsOf: value.description.utf8)
            return
        }
        let micros = Int64((value * 1_000_000).rounded())
        if micros < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(micros.magnitude / 1_000_000, minimumCount: 1, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(micros.magnitude % 1_000_000, minimumCount: 6, to: &out)
    }
}
