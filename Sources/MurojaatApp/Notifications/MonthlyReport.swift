import Foundation
import Logging
import Notifications
import PostgresNIO

/// The monthly statistics e-mailed to the Center's responsible employee on the first day of each month:
/// the statistics report of the previous month (the same as `/stats` shows), its summary in the body and
/// every table as a CSV attachment.
public enum MonthlyReport {
    /// The month before `date` in the report's time zone, e.g. 2026-10 on any day of November 2026.
    static func previousMonth(of date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let previous = calendar.date(byAdding: .month, value: -1, to: date)!
        let parts = calendar.dateComponents([.year, .month], from: previous)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }

    static func filter(_ month: String, timeZone: TimeZone) -> StatsFilter {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1, hour: 12))!
        return StatsFilter.month(of: start, timeZone: timeZone)
    }

    /// The outbox e-mail of `month`'s report.
    public static func payload(_ database: PostgresClient, month: String, publicURL: String, timeZone: TimeZone, logger: Logger) async throws -> OutboxPayload {
        let filter = filter(month, timeZone: timeZone)
        let threshold = try await NotificationSettings.load(database, logger: logger).answerThresholdSeconds
        // The roll-up of the month's last day may be a minute behind: make it whole first.
        try await StatsRollup.rebuild(database, from: filter.from, to: filter.to, timeZone: timeZone, thresholdSeconds: threshold, logger: logger)
        let report = try await StatsReport.build(database, filter: filter, timeZone: timeZone, logger: logger)
        let link = "\(publicURL)/stats?from=\(filter.from)&to=\(filter.to)"
        var text = "Murojaat — oylik hisobot / ежемесячный отчёт \(month)\n\n"
        var html = "<h1>Murojaat — \(TableExport.xml(month))</h1><table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">"
        let classifier = try await Classifier.load(database, logger: logger)
        let summary = report.table("summary").map { StatsPresentation.localize($0, language: .uz, classifier: classifier) }
        for (index, row) in (summary?.rows ?? []).enumerated() {
            let key = report.table("summary")!.rows[index][0].description
            let name = Strings.text("m_\(key)", .uz) + " / " + Strings.text("m_\(key)", .ru)
            text += "\(name): \(row[1].description)\n"
            html += "<tr><td>\(TableExport.xml(name))</td><td align=\"right\">\(TableExport.xml(row[1].description))</td></tr>"
        }
        text += "\n\(link)\n"
        html += "</table><p><a href=\"\(TableExport.xml(link))\">\(TableExport.xml(link))</a></p>"
        // Each table as the page shows it in Uzbek, with the period on its first line, `;`-separated for Excel.
        let heading = StatsPresentation.filtersLine(filter, language: .uz, classifier: classifier, operatorName: nil, teamName: nil)
        let attachments = report.tables.map { table in
            OutboxPayload.Attachment(filename: "murojaat-\(month)-\(table.id).csv", contentType: "text/csv",
                                     base64: Data(TableExport.csv(StatsPresentation.localize(table, language: .uz, classifier: classifier),
                                                                  heading: Strings.text("stats_\(table.id)", .uz) + " · " + heading).utf8).base64EncodedString())
        }
        return OutboxPayload(toSetting: "report.email", subject: "Murojaat: oylik hisobot / ежемесячный отчёт \(month)", text: text, html: html,
                             attachments: attachments)
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
        let payload = try await payload(database, month: month, publicURL: publicURL, timeZone: timeZone, logger: logger)
        return try await Outbox.enqueue(.email, key: key, payload: payload, database: database, logger: logger)
    }
}
