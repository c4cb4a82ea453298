import Foundation

/// An e-mail address as the outbox accepts it: plain ASCII `local@domain`, nothing a header could be
/// injected through, no display name. Checked at input so that a bad address is refused where it is typed,
/// not discovered by the worker hours later.
public enum EmailAddress {
    public static func normalise(_ raw: String) -> String? {
        let address = raw.trimmingCharacters(in: .whitespaces)
        guard (3...254).contains(address.utf8.count), address.allSatisfy({ $0.isASCII }) else { return nil }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let local = parts[0], domain = parts[1]
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~")
        guard (1...64).contains(local.count), local.allSatisfy({ localAllowed.contains($0) }),
              !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else { return nil }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.count <= 253 else { return nil }
        for label in labels {
            guard (1...63).contains(label.count), label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }),
                  !label.hasPrefix("-"), !label.hasSuffix("-") else { return nil }
        }
        return String(local) + "@" + domain.lowercased()
    }
}

/// Uzbek phone numbers: `+998` and nine digits (`+998 90 123 45 67`), from what people type.
public enum PhoneNumber {
    /// Mobile operators' prefixes (Beeline, Ucell, Uzmobile, Mobiuz, Perfectum, Humans): SMS goes only to these.
    public static let mobilePrefixes: Set<String> = ["90", "91", "92", "20", "93", "94", "50", "95", "99", "77", "97", "88", "87",
                                                     "98", "80", "33"]

    /// `+998XXXXXXXXX`, or nil when the text is not an Uzbek number: spaces, dashes and brackets are allowed,
    /// with or without `+998`/`998`.
    public static func normalise(_ raw: String) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        guard trimmed.count <= 25, trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || " +-()".contains($0)) }) else { return nil }
        let digits = trimmed.filter(\.isNumber)
        let hasPlus = trimmed.hasPrefix("+")
        switch digits.count {
        case 12 where digits.hasPrefix("998"): return "+" + digits
        case 9 where !hasPlus: return "+998" + digits
        default: return nil
        }
    }

    /// A normalised number of a mobile operator, which can receive SMS.
    public static func mobile(_ raw: String) -> String? {
        guard let number = normalise(raw) else { return nil }
        let prefix = String(number.dropFirst(4).prefix(2))
        return mobilePrefixes.contains(prefix) ? number : nil
    }
}

/// How many SMS segments a text takes: GSM-7 (160, or 153 per part) when every character is in the GSM
/// 03.38 alphabet (extension characters count twice), otherwise UCS-2 (70, or 67 per part, counted in
/// UTF-16 units) — Cyrillic and Uzbek `oʻ`/`gʻ` with the modifier letter force UCS-2.
public struct SMSSegments: Sendable, Equatable {
    public enum Encoding: String, Sendable { case gsm7 = "GSM-7", ucs2 = "UCS-2" }
    public var encoding: Encoding
    public var units: Int
    public var segments: Int

    static let basic: Set<Character> = Set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
    static let extended: Set<Character> = Set("^{}\\[~]|€\u{0C}")

    public init(encoding: Encoding, units: Int, segments: Int) {
        self.encoding = encoding
        self.units = units
        self.segments = segments
    }

    public init(_ text: String) {
        var gsmUnits = 0
        var isGSM = true
        for character in text {
            if Self.basic.contains(character) { gsmUnits += 1 } else if Self.extended.contains(character) { gsmUnits += 2 } else { isGSM = false; break }
        }
        if isGSM {
            encoding = .gsm7
            units = gsmUnits
            segments = gsmUnits == 0 ? 1 : (gsmUnits <= 160 ? 1 : (gsmUnits + 152) / 153)
        } else {
            encoding = .ucs2
            units = text.utf16.count
            segments = units <= 70 ? 1 : (units + 66) / 67
        }
    }
}
