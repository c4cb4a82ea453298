import Foundation

/// One way to show time on every page: the configured zone (Asia/Tashkent), dd.mm.yyyy and 24-hour time.
/// Dates typed into filters are read as dd.mm.yyyy (and, for links and bookmarks, yyyy-mm-dd).
enum DisplayTime {
    static func formatter(_ format: String, _ zone: TimeZone) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = format
        return formatter
    }

    static func minute(_ date: Date, _ zone: TimeZone) -> String { formatter("dd.MM.yyyy HH:mm", zone).string(from: date) }
    static func clock(_ date: Date, _ zone: TimeZone) -> String { formatter("HH:mm:ss", zone).string(from: date) }

    /// A typed day, `dd.mm.yyyy` (or `d.m.yyyy`) or `yyyy-mm-dd`, as `yyyy-mm-dd`; nil when it is not a real day.
    static func isoDay(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts: [Substring]
        let (d, m, y): (Int?, Int?, Int?)
        if trimmed.contains(".") {
            parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].count == 4, (1...2).contains(parts[0].count), (1...2).contains(parts[1].count) else { return nil }
            (d, m, y) = (Int(parts[0]), Int(parts[1]), Int(parts[2]))
        } else {
            parts = trimmed.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2 else { return nil }
            (d, m, y) = (Int(parts[2]), Int(parts[1]), Int(parts[0]))
        }
        guard let d, let m, let y, (2000...2099).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
              calendar.component(.day, from: date) == d else { return nil } // 31.02 is not a day
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    /// `yyyy-mm-dd` as shown: `dd.mm.yyyy` (anything else unchanged).
    static func showDay(_ iso: String) -> String {
        let parts = iso.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4 else { return iso }
        return "\(parts[2]).\(parts[1]).\(parts[0])"
    }
}
