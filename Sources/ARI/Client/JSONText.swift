import Foundation

/// JSON text written by hand, for rows sent in bulk (the call journal's batches), as UTF-8 bytes: no string
/// is built per member, and ids, numbers and times are written digit by digit (the journal's JSON as a
/// `String` was about a third of the shared pool's time in the benchmark, `uuidString` alone a `sprintf` per id).
public enum JSONText {
    /// `"text"` with JSON escapes.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

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
