import Foundation
import Hummingbird
import PostgresNIO

/// The month at a glance for the Center's responsible employee (the `dtm` role lands here): the figures an official
/// asks for first — calls received and answered, service level against its target, waits, appeals by kind and by
/// outcome, overdue complaints — in words, with the way to the full statistics, the print view and the files.
struct OverviewController: Sendable {
    let web: WebContext
    let pages: Pages

    func addRoutes(to router: Router<AppRequestContext>) {
        router.group("overview").add(middleware: RequireRole(StatsController.readers))
            .get { request, context in try await page(request, context) }
    }

    func page(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = Pages.language(request, context)
        let zone = web.configuration.timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        // `?month=2026-11`; the current month otherwise (a month in the future or before 2000 is refused).
        var anchor = Date()
        var status: HTTPResponse.Status = .ok
        var error = ""
        if let raw = request.uri.queryParameters["month"].map(String.init), !raw.isEmpty {
            let parts = raw.split(separator: "-").compactMap { Int($0) }
            let now = calendar.dateComponents([.year, .month], from: Date())
            if raw.range(of: #"^\d{4}-\d{2}$"#, options: .regularExpression) != nil, parts.count == 2, (2000...2099).contains(parts[0]), (1...12).contains(parts[1]),
               parts[0] * 12 + parts[1] <= now.year! * 12 + now.month!,
               let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 15, hour: 12)) {
                anchor = date
            } else {
                error = Strings.text("err_month", language)
                status = .unprocessableContent
            }
        }
        let filter = StatsFilter.month(of: anchor, timeZone: zone)
        let report = try await StatsReport.build(web.database, filter: filter, timeZone: zone, logger: web.logger)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        let target = settings["stats.service_level_target"].flatMap(Double.init) ?? 80
        let s = report.summary
        func number(_ key: String, decimals: Int = 0) -> String {
            guard let value = s[key], value.isFinite else { return "—" }
            return String(format: "%.\(decimals)f", value)
        }
        let level = s["service_level_percent"].flatMap { $0.isFinite ? $0 : nil }
        let tiles: [[String: Any]] = [
            ["title": Strings.text("m_calls_received", language), "value": number("calls_received")],
            ["title": Strings.text("m_calls_answered", language), "value": number("calls_answered")],
            ["title": Strings.text("m_service_level_percent", language), "value": number("service_level_percent", decimals: 1),
             "note": "\(Strings.text("target", language)): \(String(format: "%.0f", target)) %",
             "tone": level.map { $0 >= target ? "good" : "bad" } ?? ""],
            ["title": Strings.text("m_abandonment_percent", language), "value": number("abandonment_percent", decimals: 1)],
            ["title": Strings.text("m_wait_seconds_average", language), "value": StatsPresentation.duration(s["wait_seconds_average"] ?? .nan)],
            ["title": Strings.text("m_talk_seconds_average", language), "value": StatsPresentation.duration(s["talk_seconds_average"] ?? .nan)],
        ]
        func rows(_ id: String) -> [[String: String]] {
            guard let table = report.table(id) else { return [] }
            return StatsPresentation.localize(table, language: language, classifier: classifier).rows.map { ["name": $0[0].description, "count": $0[1].description] }
        }
        let overdue = report.table("complaints_applications")?.rows.filter { $0[4].description == "overdue" }.count ?? 0
        let appeals = (report.table("appeals_by_category")?.rows ?? []).reduce(0) { $0 + (Int($1[2].description) ?? 0) }
        let month = calendar.component(.month, from: anchor), year = calendar.component(.year, from: anchor)
        let previous = calendar.date(byAdding: .month, value: -1, to: anchor)!
        let next = calendar.date(byAdding: .month, value: 1, to: anchor)!
        func key(_ date: Date) -> String { String(format: "%04d-%02d", calendar.component(.year, from: date), calendar.component(.month, from: date)) }
        let query = "from=\(filter.from)&to=\(filter.to)"
        return pages.render("overview", request, context, title: "nav_overview", [
            "monthName": "\(Strings.text("month_\(month)", language)) \(year)",
            "period": "\(DisplayTime.showDay(filter.from)) — \(DisplayTime.showDay(filter.to))",
            "tiles": tiles, "byCategory": rows("appeals_by_category"), "byStatus": rows("appeals_by_status"),
            "appeals": appeals, "overdue": overdue, "hasOverdue": overdue > 0,
            "previous": key(previous), "next": next <= Date() ? key(next) : "",
            "statsLink": "/stats?\(query)", "printLink": "/stats/print?\(query)", "exportLink": "/stats/export/summary?\(query)&format=xlsx",
            "error": error,
        ], status: status)
    }
}
