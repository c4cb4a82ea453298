import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO

/// Statistics for supervisors and the Center's responsible employee (`dtm`): the report of a period with
/// filters, charts, CSV/XLSX export of every table, a printable view, and the staffing forecast.
struct StatsController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    static let readers: Set<Role> = [.supervisor, .dtm, .admin]

    func addRoutes(to router: Router<AppRequestContext>) {
        let stats = router.group("stats").add(middleware: RequireRole(Self.readers))
        stats.get { request, context in try await page(request, context, print: false) }
        stats.get("print") { request, context in try await page(request, context, print: true) }
        stats.get("export/:table") { request, context in try await export(request, context) }
        stats.get("forecast") { request, context in try await forecast(request, context) }
    }

    /// The filter of the query string; a bad value is an error in the user's language, not an empty report.
    func filter(_ request: Request) throws -> (StatsFilter, FieldErrors) {
        let query = request.uri.queryParameters
        func text(_ key: String) -> String? {
            guard let value = query[Substring(key)].map(String.init), !value.isEmpty else { return nil }
            return value
        }
        var errors = FieldErrors()
        var filter = StatsFilter.month(of: Date(), timeZone: web.configuration.timeZone)
        if let from = text("from") { if let day = DisplayTime.isoDay(from) { filter.from = day } else { errors.add("from", "err_date") } }
        if let to = text("to") { if let day = DisplayTime.isoDay(to) { filter.to = day } else { errors.add("to", "err_date") } }
        if filter.from > filter.to { errors.add("to", "err_period") }
        if let from = Self.date(filter.from), let to = Self.date(filter.to), to.timeIntervalSince(from) > 400 * 86400 { errors.add("to", "err_period") }
        if let language = text("language") { if ["uz", "ru"].contains(language) { filter.language = language } else { errors.add("language", "err_choice") } }
        if let topic = text("topic") {
            if topic.count <= 64, topic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) { filter.topic = topic } else { errors.add("topic", "err_choice") }
        }
        if let op = text("operator") { if let id = Int64(op) { filter.operatorID = id } else { errors.add("operator", "err_choice") } }
        if let team = text("team") { if let id = Int64(team) { filter.teamID = id } else { errors.add("team", "err_choice") } }
        if let region = text("region") {
            if region.count <= 8, region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { filter.region = region } else { errors.add("region", "err_choice") }
        }
        return (filter, errors)
    }

    static func date(_ day: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: day)
    }

    func options(_ language: UILanguage, filter: StatsFilter) async throws -> [String: Any] {
        var topics: [[String: Any]] = [], operators: [[String: Any]] = [], teams: [[String: Any]] = [], regions: [[String: Any]] = []
        for try await (code, uz, ru, parent) in try await web.database.query("SELECT code, name_uz, name_ru, parent_code FROM topics WHERE active ORDER BY coalesce(parent_code, code), parent_code NULLS FIRST, sort, code",
                                                                       logger: web.logger).decode((String, String, String, String?).self) {
            topics.append(["code": code, "name": (parent == nil ? "" : "— ") + (language == .ru ? ru : uz), "selected": filter.topic == code])
        }
        for try await (id, name, ext) in try await web.database.query("SELECT o.id, u.full_name, o.extension FROM operators o JOIN users u ON u.id = o.user_id ORDER BY o.extension",
                                                                logger: web.logger).decode((Int64, String, String).self) {
            operators.append(["id": id, "name": "\(ext) \(name)", "selected": filter.operatorID == id])
        }
        for try await (id, name) in try await web.database.query("SELECT id, name FROM teams ORDER BY name", logger: web.logger).decode((Int64, String).self) {
            teams.append(["id": id, "name": name, "selected": filter.teamID == id])
        }
        for try await (code, uz, ru) in try await web.database.query("SELECT code, name_uz, name_ru FROM regions ORDER BY sort, code", logger: web.logger)
            .decode((String, String, String).self) {
            regions.append(["code": code, "name": language == .ru ? ru : uz, "selected": filter.region == code])
        }
        return ["topics": topics, "operators": operators, "teams": teams, "regions": regions,
                "langUz": filter.language == "uz", "langRu": filter.language == "ru"]
    }

    func page(_ request: Request, _ context: AppRequestContext, print: Bool) async throws -> Response {
        let language = Pages.language(request, context)
        let (filter, errors) = try filter(request)
        var values = try await options(language, filter: filter)
        values["from"] = DisplayTime.showDay(filter.from)
        values["to"] = DisplayTime.showDay(filter.to)
        values["query"] = filter.query
        guard errors.isEmpty else {
            values["errors"] = Pages.errors(errors, language)
            values["hasErrors"] = true
            return pages.render("stats", request, context, title: "nav_stats", values, status: .unprocessableContent)
        }
        let started = ContinuousClock.now
        // The page lists the first 100 complaints and applications (a page of 500 rows took longer to render than the
        // report to compute); the print view and the exports carry up to 500, the appeals list all of them.
        let report = try await StatsReport.build(web.database, filter: filter, timeZone: web.configuration.timeZone, listLimit: print ? 500 : 100,
                                                 logger: web.logger)
        let elapsed = ContinuousClock.now - started
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        values["tables"] = report.tables.map { raw in
            let table = StatsPresentation.localize(raw, language: language, classifier: classifier)
            return [
                "id": table.id, "title": Strings.text("stats_\(table.id)", language),
                "columns": table.columns,
                "rows": Self.rowsHTML(table, links: !print),
                "empty": table.rows.isEmpty,
                "more": raw.more ? Strings.text("stats_list_more", language).replacingOccurrences(of: "{count}", with: String(table.rows.count)) : "",
                "moreLink": Self.appealsLink(filter),
            ] as [String: Any]
        }
        if let days = report.table("by_day") {
            values["dayChart"] = SVGChart.bars(title: Strings.text("stats_by_day", language), labels: days.rows.map { String($0[0].description.suffix(2)) },
                                               series: [(Strings.text("col_received", language), days.rows.map { Double($0[1].description) ?? 0 }, "#5b8def"),
                                                        (Strings.text("col_answered", language), days.rows.map { Double($0[2].description) ?? 0 }, "#2e9e5b")])
        }
        if let hours = report.table("by_hour") {
            values["hourChart"] = SVGChart.bars(title: Strings.text("stats_by_hour", language), labels: hours.rows.map { String($0[0].description.prefix(2)) },
                                                series: [(Strings.text("col_received", language), hours.rows.map { Double($0[1].description) ?? 0 }, "#5b8def"),
                                                         (Strings.text("col_answered", language), hours.rows.map { Double($0[2].description) ?? 0 }, "#2e9e5b")])
        }
        values["print"] = print
        var response = pages.render(print ? "stats_print" : "stats", request, context, title: "nav_stats", values)
        // How long the report took, for the browser's developer tools and `bench pages`, not on the page.
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        response.headers[HTTPField.Name("Server-Timing")!] = String(format: "report;dur=%.1f", milliseconds)
        return response
    }

    /// The appeals list with the report's period and the filters the list knows (topic, region, language).
    static func appealsLink(_ filter: StatsFilter) -> String {
        var items = ["from=\(filter.from)", "to=\(filter.to)"]
        if let topic = filter.topic { items.append("topic=\(topic.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
        if let region = filter.region { items.append("region=\(region.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
        return "/appeals?" + items.joined(separator: "&")
    }

    /// A table's rows as HTML, escaped: figures right-aligned (numbers, and durations too), a link per row if any (not
    /// in the print view).
    /// Written here rather than cell by cell in the template: a page of 300 rows spent 20 ms in the template engine's
    /// lookups, twice the report's queries.
    static func rowsHTML(_ table: StatsTable, links: Bool = true) -> String {
        var html = ""
        html.reserveCapacity(table.rows.count * 160)
        for (index, row) in table.rows.enumerated() {
            html += "<tr>"
            for (column, cell) in row.enumerated() {
                let numeric: Bool = switch cell {
                case .text(let text): column > 0 && StatsPresentation.isDuration(text)
                default: true
                }
                html += numeric ? "<td class=\"num\">" : "<td>"
                html += HTMLText.escape(cell.description)
                html += "</td>"
            }
            if links, let link = table.links[index] { html += "<td><a href=\"\(HTMLText.escape(link))\">→</a></td>" }
            html += "</tr>\n"
        }
        return html
    }

    func export(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let (filter, errors) = try filter(request)
        guard errors.isEmpty else { throw HTTPError(.unprocessableContent, message: "filter") }
        guard let id = context.parameters.get("table") else { throw HTTPError(.notFound) }
        let format = request.uri.queryParameters["format"].map(String.init) ?? "csv"
        guard ["csv", "xlsx"].contains(format) else { throw HTTPError(.badRequest, message: "format") }
        let report = try await StatsReport.build(web.database, filter: filter, timeZone: web.configuration.timeZone, logger: web.logger)
        guard let table = report.table(id) else { throw HTTPError(.notFound) }
        try await audit.record(user, ip: context.remoteAddress, action: "stats.export", objectType: "stats", objectId: id,
                               details: ["format": format, "from": filter.from, "to": filter.to])
        // In the reader's language, as the page shows it, with the period and filters on the first line.
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        let localized = StatsPresentation.localize(table, language: language, classifier: classifier)
        let (operatorName, teamName) = try await names(filter)
        let heading = Strings.text("stats_\(id)", language) + " · " +
            StatsPresentation.filtersLine(filter, language: language, classifier: classifier, operatorName: operatorName, teamName: teamName)
        let name = StatsPresentation.fileName(id, filter, language: language, format: format)
        var headers: HTTPFields = [.contentDisposition: "attachment; filename=\"\(name)\"", .cacheControl: "no-store"]
        if format == "csv" {
            // `;` for Excel with Russian or Uzbek regional settings (the default); `?separator=comma` for others.
            let separator: Character = request.uri.queryParameters["separator"] == "comma" ? "," : ";"
            headers[.contentType] = "text/csv; charset=utf-8"
            return Response(status: .ok, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: TableExport.csv(localized, heading: heading, separator: separator))))
        }
        headers[.contentType] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try TableExport.xlsx(
            localized, heading: heading, sheetTitle: Strings.text("stats_\(id)", language)))))
    }

    /// The chosen operator's and team's names, for the files' first line.
    func names(_ filter: StatsFilter) async throws -> (String?, String?) {
        var operatorName: String?, teamName: String?
        if let id = filter.operatorID {
            for try await (ext, name) in try await web.database.query("""
                SELECT o.extension, u.full_name FROM operators o JOIN users u ON u.id = o.user_id WHERE o.id = \(id)
                """, logger: web.logger).decode((String, String).self) { operatorName = "\(ext) \(name)" }
        }
        if let id = filter.teamID {
            for try await name in try await web.database.query("SELECT name FROM teams WHERE id = \(id)", logger: web.logger).decode(String.self) {
                teamName = name
            }
        }
        return (operatorName, teamName)
    }

    /// Operators needed per hour of the week (Erlang C) from the calls of past weeks and the handling time.
    func forecast(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = Pages.language(request, context)
        let query = request.uri.queryParameters
        var errors = FieldErrors()
        func number(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) -> Double {
            guard let raw = query[Substring(key)].map(String.init), !raw.isEmpty else { return fallback }
            guard let value = Double(raw.replacingOccurrences(of: ",", with: ".")), range.contains(value) else { errors.add(key, "err_value"); return fallback }
            return value
        }
        let weeks = Int(number("weeks", 4, 1...52))
        let surge = number("surge", 1, 0.1...10)
        let target = number("target", 80, 1...99.9)
        let threshold = number("threshold", 20, 1...600)
        var values: [String: Any] = ["weeks": weeks, "surge": surge, "target": target, "threshold": Int(threshold)]
        guard errors.isEmpty else {
            values["errors"] = Pages.errors(errors, language)
            values["hasErrors"] = true
            return pages.render("forecast", request, context, title: "nav_forecast", values, status: .unprocessableContent)
        }
        // From the roll-ups: talk time per answered call, and calls that reached the queue per hour of the week.
        let today = StatsRollup.day(Date(), web.configuration.timeZone)
        let first = StatsRollup.day(Date().addingTimeInterval(-Double(weeks * 7) * 86400), web.configuration.timeZone)
        var aht = 0.0
        for try await value in try await web.database.query("""
            SELECT coalesce(sum(talk_seconds_sum)::float8 / nullif(sum(answered), 0), 0)::float8 FROM call_stats_daily
            WHERE day >= \(first)::date AND day < \(today)::date
            """, logger: web.logger).decode(Double.self) { aht = value }
        var wrap = 0.0
        for try await value in try await web.database.query("""
            SELECT coalesce(avg(extract(epoch FROM ended_at - started_at)), 0)::float8 FROM agent_state_log
            WHERE state = 'wrap_up' AND ended_at IS NOT NULL AND started_at >= now() - make_interval(weeks => \(weeks)::int)
            """, logger: web.logger).decode(Double.self) { wrap = value }
        let handling = max(1, aht + wrap)
        var perHour = [Double](repeating: 0, count: 24 * 7)
        for try await (dow, hour, calls) in try await web.database.query("""
            SELECT extract(isodow FROM day)::int, hour::int, sum(calls - abandoned_ivr)::int FROM call_stats_hourly
            WHERE day >= \(first)::date AND day < \(today)::date GROUP BY 1, 2
            """, logger: web.logger).decode((Int, Int, Int).self) {
            perHour[(dow - 1) * 24 + hour] = Double(calls) / Double(weeks)
        }
        let dayNames = (1...7).map { Strings.text("dow_\($0)", language) }
        var rows: [[String: Any]] = []
        for hour in 0..<24 {
            var cells: [[String: Any]] = []
            for day in 0..<7 {
                let calls = perHour[day * 24 + hour] * surge
                let staffing = ErlangC.agentsNeeded(callsPerHour: calls, handlingSeconds: handling, targetSeconds: threshold, serviceLevel: target / 100)
                cells.append(["agents": staffing.agents, "calls": String(format: "%.0f", calls)])
            }
            rows.append(["hour": String(format: "%02d:00", hour), "cells": cells])
        }
        values["rows"] = rows
        values["days"] = dayNames
        values["handling"] = String(format: "%.0f", handling)
        values["peak"] = (0..<(24 * 7)).map { ErlangC.agentsNeeded(callsPerHour: perHour[$0] * surge, handlingSeconds: handling, targetSeconds: threshold,
                                                                   serviceLevel: target / 100).agents }.max() ?? 0
        return pages.render("forecast", request, context, title: "nav_forecast", values)
    }
}
