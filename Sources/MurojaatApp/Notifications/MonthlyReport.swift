import Foundation
import Logging
import Notifications
import PostgresNIO

/// The monthly statistics e-mailed to the Center's responsible employee on the first day of each month:
/// calls by outcome with waiting and talk time, service level, repeated calls, appeals by category and
/// status. The body is HTML and text; the figures also come as a CSV attachment.
public struct MonthlyReport: Sendable {
    public var month: String                 // 2026-10
    public var rows: [(section: String, name: String, value: String)]

    /// First day of `month` and of the month after, as dates in the report's time zone.
    static func bounds(_ month: String) -> (String, String)? {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, (2000...2999).contains(parts[0]), (1...12).contains(parts[1]) else { return nil }
        let next = parts[1] == 12 ? (parts[0] + 1, 1) : (parts[0], parts[1] + 1)
        return (String(format: "%04d-%02d-01", parts[0], parts[1]), String(format: "%04d-%02d-01", next.0, next.1))
    }

    public static func build(_ database: PostgresClient, month: String, timeZone: TimeZone, logger: Logger) async throws -> MonthlyReport {
        guard let (from, to) = bounds(month) else { throw ValidationError.month }
        let zone = timeZone.identifier
        var rows: [(String, String, String)] = []
        for try await (total, answered, ivr, queue, noAnswer, callbacks, lost, repeated, talk, wait, longest, within20)
            in try await database.query("""
            SELECT count(*), count(*) FILTER (WHERE outcome IN ('answered', 'callback_done')), count(*) FILTER (WHERE outcome = 'abandoned_ivr'),
                   count(*) FILTER (WHERE outcome = 'abandoned_queue'), count(*) FILTER (WHERE outcome = 'operator_no_answer'),
                   count(*) FILTER (WHERE outcome IN ('callback_requested', 'callback_done')), count(*) FILTER (WHERE outcome = 'lost'),
                   count(*) FILTER (WHERE repeated), coalesce(sum(talk_seconds), 0)::bigint,
                   coalesce(round(avg(wait_seconds) FILTER (WHERE queued_at IS NOT NULL)), 0)::bigint, coalesce(max(wait_seconds), 0)::bigint,
                   count(*) FILTER (WHERE answered_at IS NOT NULL AND coalesce(wait_seconds, 0) <= 20)
            FROM calls WHERE direction = 'inbound'
              AND started_at >= (\(from)::date::timestamp AT TIME ZONE \(zone)) AND started_at < (\(to)::date::timestamp AT TIME ZONE \(zone))
            """, logger: logger).decode((Int, Int, Int, Int, Int, Int, Int, Int, Int64, Int64, Int64, Int).self) {
            let offered = total - ivr
            rows += [
                ("calls", "received", "\(total)"), ("calls", "answered", "\(answered)"), ("calls", "abandoned_ivr", "\(ivr)"),
                ("calls", "abandoned_queue", "\(queue)"), ("calls", "operator_no_answer", "\(noAnswer)"),
                ("calls", "callback", "\(callbacks)"), ("calls", "lost", "\(lost)"), ("calls", "repeated", "\(repeated)"),
                ("calls", "talk_seconds_total", "\(talk)"), ("calls", "talk_seconds_average", answered > 0 ? "\(Int64(talk) / Int64(answered))" : "0"),
                ("calls", "wait_seconds_average", "\(wait)"), ("calls", "wait_seconds_longest", "\(longest)"),
                ("calls", "service_level_20s_percent", offered > 0 ? String(format: "%.1f", Double(within20) * 100 / Double(offered)) : "—"),
                ("calls", "abandonment_percent", offered > 0 ? String(format: "%.1f", Double(queue) * 100 / Double(offered)) : "—"),
            ]
        }
        for try await (category, count) in try await database.query("""
            SELECT c.code, count(a.id) FROM categories c LEFT JOIN appeals a ON a.category_code = c.code
              AND a.created_at >= (\(from)::date::timestamp AT TIME ZONE \(zone)) AND a.created_at < (\(to)::date::timestamp AT TIME ZONE \(zone))
            GROUP BY c.code, c.sort ORDER BY c.sort, c.code
            """, logger: logger).decode((String, Int).self) {
            rows.append(("appeals_by_category", category, "\(count)"))
        }
        for try await (status, count) in try await database.query("""
            SELECT status, count(*) FROM appeals
            WHERE created_at >= (\(from)::date::timestamp AT TIME ZONE \(zone)) AND created_at < (\(to)::date::timestamp AT TIME ZONE \(zone))
            GROUP BY status ORDER BY status
            """, logger: logger).decode((String, Int).self) {
            rows.append(("appeals_by_status", status, "\(count)"))
        }
        return MonthlyReport(month: month, rows: rows)
    }

    enum ValidationError: Error { case month }

    public var csv: String {
        "section,measure,value\r\n" + rows.map { "\($0.section),\($0.name),\($0.value)" }.joined(separator: "\r\n") + "\r\n"
    }

    public var text: String {
        var out = "Murojaat — oylik hisobot / ежемесячный отчёт \(month)\n"
        var section = ""
        for row in rows {
            if row.section != section { section = row.section; out += "\n[\(section)]\n" }
            out += "\(row.name): \(row.value)\n"
        }
        return out
    }

    public var html: String {
        func e(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;") }
        var out = "<h1>Murojaat — \(e(month))</h1><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
        for row in rows { out += "<tr><td>\(e(row.section))</td><td>\(e(row.name))</td><td align=\"right\">\(e(row.value))</td></tr>" }
        return out + "</table>"
    }

    /// The month before `date` in the report's time zone, e.g. 2026-10 on any day of November 2026.
    static func previousMonth(of date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let previous = calendar.date(byAdding: .month, value: -1, to: date)!
        let parts = calendar.dateComponents([.year, .month], from: previous)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }

    /// Once a month (key `report:monthly:YYYY-MM`): the previous month's report as an outbox e-mail to the
    /// responsible employee. Runs every minute; the key makes all but the first call write nothing.
    @discardableResult
    public static func schedule(_ database: PostgresClient, publicURL: String, timeZone: TimeZone, now: Date = Date(), logger: Logger) async throws -> Bool {
        let settings = try await NotificationSettings.load(database, logger: logger)
        guard settings["report.email"] != nil else { return false }
        let month = previousMonth(of: now, timeZone: timeZone)
        let key = "report:monthly:\(month)"
        var exists = false
        for try await _ in try await database.query("SELECT 1 FROM outbox WHERE dedupe_key = \(key)", logger: logger).decode(Int.self) { exists = true }
        if exists { return false }
        let report = try await build(database, month: month, timeZone: timeZone, logger: logger)
        let payload = OutboxPayload(toSetting: "report.email", subject: "Murojaat: oylik hisobot / ежемесячный отчёт \(month)",
                                    text: report.text + "\n\(publicURL)/\n", html: report.html,
                                    attachments: [.init(filename: "murojaat-\(month).csv", contentType: "text/csv",
                                                        base64: Data(report.csv.utf8).base64EncodedString())])
        return try await Outbox.enqueue(.email, key: key, payload: payload, database: database, logger: logger)
    }
}
