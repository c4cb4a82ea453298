import Foundation
import Logging
import PostgresNIO

/// What a report is about: a period (whole days in the report time zone) and optional filters.
public struct StatsFilter: Sendable, Equatable {
    public var from: String
    public var to: String
    public var language: String?
    public var topic: String?
    public var operatorID: Int64?
    public var teamID: Int64?
    public var region: String?

    public init(from: String, to: String, language: String? = nil, topic: String? = nil, operatorID: Int64? = nil, teamID: Int64? = nil,
                region: String? = nil) {
        self.from = from
        self.to = to
        self.language = language
        self.topic = topic
        self.operatorID = operatorID
        self.teamID = teamID
        self.region = region
    }

    /// The month containing `date`.
    public static func month(of date: Date, timeZone: TimeZone) -> StatsFilter {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
        let end = calendar.date(byAdding: DateComponents(month: 1, day: -1), to: start)!
        return StatsFilter(from: StatsRollup.day(start, timeZone), to: StatsRollup.day(end, timeZone))
    }

    /// A day as `yyyy-mm-dd` (and a real one).
    static func isDay(_ text: String) -> Bool { DisplayTime.isoDay(text) == text }

    /// The query string that reproduces this filter (for links and exports).
    public var query: String {
        var items = ["from=\(from)", "to=\(to)"]
        if let language { items.append("language=\(language)") }
        if let topic { items.append("topic=\(topic.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")") }
        if let operatorID { items.append("operator=\(operatorID)") }
        if let teamID { items.append("team=\(teamID)") }
        if let region { items.append("region=\(region)") }
        return items.joined(separator: "&")
    }
}

/// A SQL text with bound parameters, built piece by piece; values never enter the text.
struct SQLBuilder {
    var sql = ""
    var binds = PostgresBindings()
    var count = 0

    mutating func bind(_ value: some PostgresNonThrowingEncodable & Sendable) -> String {
        binds.append(value)
        count += 1
        return "$\(count)"
    }

    mutating func append(_ text: String) { sql += text }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
}

/// One table of the report: what it shows, exported as CSV and XLSX as it is.
public struct StatsTable: Sendable {
    public var id: String
    public var columns: [String]
    public var rows: [[StatsCell]]
    /// A link per row (to the calls or the appeal behind it), if any.
    public var links: [String?]
    /// Whether rows were left out (a list longer than the report's limit).
    public var more = false
}

public enum StatsCell: Sendable, Equatable, CustomStringConvertible {
    case text(String)
    case int(Int64)
    case number(Double, decimals: Int)

    public var description: String {
        switch self {
        case .text(let text): return text
        case .int(let value): return String(value)
        case .number(let value, let decimals): return value.isFinite ? String(format: "%.\(decimals)f", value) : "—"
        }
    }
}

/// The statistics of a period: calls, contact-centre measures, repeated callers, appeals, operators, billing.
public struct StatsReport: Sendable {
    public var filter: StatsFilter
    public var thresholdSeconds: Int
    public var pricePerCall: Double
    public var summary: [String: Double]
    public var tables: [StatsTable]

    public func table(_ id: String) -> StatsTable? { tables.first { $0.id == id } }

    struct Totals {
        var calls = 0, answered = 0, ivr = 0, queue = 0, noAnswer = 0, callbacks = 0, callbackDone = 0, lost = 0, repeated = 0
        var within = 0, queued = 0
        var talk: Int64 = 0, wait: Int64 = 0, waitMax = 0, answeredWait: Int64 = 0

        mutating func add(_ t: Totals) {
            calls += t.calls; answered += t.answered; ivr += t.ivr; queue += t.queue; noAnswer += t.noAnswer; callbacks += t.callbacks
            callbackDone += t.callbackDone; lost += t.lost; repeated += t.repeated; within += t.within; queued += t.queued
            talk += t.talk; wait += t.wait; waitMax = max(waitMax, t.waitMax); answeredWait += t.answeredWait
        }
    }

    static let totalsColumns = """
        coalesce(sum(calls), 0)::int, coalesce(sum(answered), 0)::int, coalesce(sum(abandoned_ivr), 0)::int, coalesce(sum(abandoned_queue), 0)::int,
        coalesce(sum(operator_no_answer), 0)::int, coalesce(sum(callback_requested), 0)::int, coalesce(sum(callback_done), 0)::int,
        coalesce(sum(lost), 0)::int, coalesce(sum(repeated), 0)::int, coalesce(sum(answered_within_threshold), 0)::int, coalesce(sum(queued), 0)::int,
        coalesce(sum(talk_seconds_sum), 0)::bigint, coalesce(sum(wait_seconds_sum), 0)::bigint, coalesce(max(wait_seconds_max), 0)::int,
        coalesce(sum(answered_wait_seconds_sum), 0)::bigint
        """
    typealias TotalsRow = (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int64, Int64, Int, Int64)

    static func totals(_ row: TotalsRow) -> Totals {
        Totals(calls: row.0, answered: row.1, ivr: row.2, queue: row.3, noAnswer: row.4, callbacks: row.5, callbackDone: row.6, lost: row.7,
               repeated: row.8, within: row.9, queued: row.10, talk: row.11, wait: row.12, waitMax: row.13, answeredWait: row.14)
    }

    /// What a query groups calls by: the roll-up that answers it is the coarsest one that has that column.
    enum Grain { case day, hour, byOperator }

    /// The calls of the filter in the roll-ups' shape (the measures, and the column of `grain`): whole months from the
    /// monthly roll-ups and other days from the daily ones; a region (which only appeals carry) from the region roll-up;
    /// hours of the day of an operator or team from the raw calls, row by row.
    static func source(_ filter: StatsFilter, _ b: inout SQLBuilder, zone: String, threshold: Int, grain: Grain) {
        let operators = filter.operatorID != nil || filter.teamID != nil
        if let region = filter.region {
            // The calls behind the region's appeals, by day, hour, language, topic and operator.
            b.append("(SELECT * FROM call_stats_region_daily s WHERE s.region_code = \(b.bind(region))")
            b.append(" AND s.day BETWEEN \(b.bind(filter.from))::date AND \(b.bind(filter.to))::date")
            dimensions(filter, &b, "s")
            b.append(") src")
            return
        }
        if let parts = PeriodParts(filter) {
            switch grain {
            case .hour where !operators:
                b.append("(")
                rollup(&b, parts, columns: "hour, \(measureNames)", monthly: "call_stats_hourly_monthly", daily: "call_stats_hourly") {
                    dimensions(filter, &$0, "s", operators: false)
                }
                b.append(") src")
                return
            case .day:
                // Without an operator or team, the days without operators (a twentieth of the rows).
                b.append("(SELECT day, \(measureNames) FROM \(operators ? "call_stats_daily" : "call_stats_days") s ")
                b.append("WHERE s.day BETWEEN \(b.bind(filter.from))::date AND \(b.bind(filter.to))::date")
                dimensions(filter, &b, "s", operators: operators)
                b.append(") src")
                return
            case .byOperator:
                b.append("(")
                rollup(&b, parts, columns: "operator_id, \(measureNames)", monthly: "call_stats_monthly", daily: "call_stats_daily") {
                    dimensions(filter, &$0, "s")
                }
                b.append(") src")
                return
            case .hour:
                break
            }
        }
        b.append("(")
        callRows(&b, from: filter.from, to: filter.to, zone: zone, threshold: threshold)
        dimensions(filter, &b, "c")
        b.append(") src")
    }

    /// A report's period as whole months (read from the monthly roll-ups) and the days of partial months (read from
    /// the daily ones), each as a first day and the day after the last.
    struct PeriodParts {
        var months: (first: String, end: String)?
        var days: [(from: String, until: String)] = []

        init?(_ filter: StatsFilter) {
            guard let end = StatsReport.nextDay(filter.to) else { return nil }
            guard let months = StatsReport.wholeMonths(from: filter.from, to: filter.to) else {
                days = [(filter.from, end)]
                return
            }
            self.months = months
            if filter.from < months.first { days.append((filter.from, months.first)) }
            if months.end < end { days.append((months.end, end)) }
        }
    }

    /// `columns` of a monthly roll-up (alias `s`) for the whole months and of its daily one for the other days, each
    /// part with the conditions `where` appends.
    static func rollup(_ b: inout SQLBuilder, _ parts: PeriodParts, columns: String, monthly: String, daily: String,
                       where conditions: (inout SQLBuilder) -> Void) {
        var first = true
        if let months = parts.months {
            b.append("SELECT \(columns) FROM \(monthly) s WHERE s.month >= \(b.bind(months.first))::date AND s.month < \(b.bind(months.end))::date")
            conditions(&b)
            first = false
        }
        for range in parts.days {
            if !first { b.append(" UNION ALL ") }
            b.append("SELECT \(columns) FROM \(daily) s WHERE s.day >= \(b.bind(range.from))::date AND s.day < \(b.bind(range.until))::date")
            conditions(&b)
            first = false
        }
    }

    /// One row per finished inbound call of the period (whole days in `zone`), in the roll-ups' shape: the
    /// single definition of every measure, used by the roll-ups and by the queries that read calls directly.
    /// Returns the bound zone parameter for further conditions.
    @discardableResult
    static func callRows(_ b: inout SQLBuilder, from: String, to: String, zone: String, threshold: Int) -> String {
        let z = b.bind(zone)
        let th = b.bind(threshold)
        b.append("""
            SELECT c.id AS call_id, (c.started_at AT TIME ZONE \(z))::date AS day, extract(hour FROM c.started_at AT TIME ZONE \(z))::int AS hour,
                   coalesce(c.language, '') AS language, coalesce(c.topic_code, '') AS topic_code, coalesce(c.operator_id, 0) AS operator_id,
                   1 AS calls, (c.outcome IN ('answered', 'callback_done'))::int AS answered, (c.outcome = 'abandoned_ivr')::int AS abandoned_ivr,
                   (c.outcome = 'abandoned_queue')::int AS abandoned_queue, (c.outcome = 'operator_no_answer')::int AS operator_no_answer,
                   (c.outcome IN ('callback_requested', 'callback_done'))::int AS callback_requested, (c.outcome = 'callback_done')::int AS callback_done,
                   (c.outcome = 'lost')::int AS lost, c.repeated::int AS repeated,
                   (c.answered_at IS NOT NULL AND coalesce(c.wait_seconds, 0) <= \(th))::int AS answered_within_threshold,
                   coalesce(c.talk_seconds, 0) AS talk_seconds_sum,
                   CASE WHEN c.queued_at IS NOT NULL THEN coalesce(c.wait_seconds, 0) ELSE 0 END AS wait_seconds_sum,
                   coalesce(c.wait_seconds, 0) AS wait_seconds_max, (c.queued_at IS NOT NULL)::int AS queued,
                   CASE WHEN c.answered_at IS NOT NULL THEN coalesce(c.wait_seconds, 0) ELSE 0 END AS answered_wait_seconds_sum
            FROM calls c
            WHERE c.direction = 'inbound' AND c.outcome <> 'in_progress'
              AND c.started_at >= (\(b.bind(from))::date::timestamp AT TIME ZONE \(z))
              AND c.started_at < ((\(b.bind(to))::date + 1)::timestamp AT TIME ZONE \(z))
            """)
        return z
    }

    /// The measure columns of the roll-ups and how a group of call rows fills them.
    static let measureNames = """
        calls, answered, abandoned_ivr, abandoned_queue, operator_no_answer, callback_requested, callback_done, lost, repeated,
        answered_within_threshold, talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued, answered_wait_seconds_sum
        """
    static let measureSums = """
        count(*), sum(answered), sum(abandoned_ivr), sum(abandoned_queue), sum(operator_no_answer), sum(callback_requested), sum(callback_done),
        sum(lost), sum(repeated), sum(answered_within_threshold), sum(talk_seconds_sum), sum(wait_seconds_sum), max(wait_seconds_max),
        sum(queued), sum(answered_wait_seconds_sum)
        """

    /// The language, topic (with its subtopics), operator and team conditions on table alias `t`
    /// (calls, roll-ups or appeals: they name these columns alike).
    static func dimensions(_ filter: StatsFilter, _ b: inout SQLBuilder, _ t: String, operators: Bool = true) {
        if let language = filter.language { b.append(" AND \(t).language = \(b.bind(language))") }
        if let topic = filter.topic {
            let code = b.bind(topic)
            b.append(" AND (\(t).topic_code = \(code) OR \(t).topic_code IN (SELECT code FROM topics WHERE parent_code = \(code)))")
        }
        guard operators else { return }
        if let id = filter.operatorID { b.append(" AND \(t).operator_id = \(b.bind(id))") }
        if let team = filter.teamID {
            b.append(" AND \(t).operator_id IN (SELECT o.id FROM operators o JOIN users u ON u.id = o.user_id WHERE u.team_id = \(b.bind(team)))")
        }
    }

    /// Appeals of the period and filters (a topic includes its subtopics; an operator or team is who registered it).
    static func appealsWhere(_ filter: StatsFilter, _ b: inout SQLBuilder, zone: String) {
        let z = b.bind(zone)
        b.append(" WHERE a.created_at >= (\(b.bind(filter.from))::date::timestamp AT TIME ZONE \(z)) AND a.created_at < ((\(b.bind(filter.to))::date + 1)::timestamp AT TIME ZONE \(z))")
        dimensions(filter, &b, "a")
        if let region = filter.region { b.append(" AND a.region_code = \(b.bind(region))") }
    }

    static func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) * 100 / Double(b) : .nan }
    static func average(_ a: Int64, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : .nan }

    /// With MUROJAAT_STATS_TIMING set, each query's time goes to standard error (for tuning).
    static let timing = ProcessInfo.processInfo.environment["MUROJAAT_STATS_TIMING"] != nil
    static func timed<T: Sendable>(_ name: String, _ body: @Sendable () async throws -> T) async rethrows -> T {
        guard timing else { return try await body() }
        let start = ContinuousClock.now
        let value = try await body()
        let elapsed = ContinuousClock.now - start
        FileHandle.standardError.write(Data("stats \(name): \(elapsed)\n".utf8))
        return value
    }

    /// `listLimit`: rows of the complaints and applications list (the page shows fewer than an export).
    public static func build(_ database: PostgresClient, filter: StatsFilter, timeZone: TimeZone, listLimit: Int = 500,
                             logger: Logger) async throws -> StatsReport {
        let zone = timeZone.identifier
        let settings = try await NotificationSettings.load(database, logger: logger)
        let threshold = settings.answerThresholdSeconds
        let price = settings["billing.price_per_call"].flatMap(Double.init) ?? 0
        let limit = threshold
        // The queries are independent: run them side by side on the pool.
        async let daysTask = timed("days") { try await queryDays(database, filter, zone: zone, threshold: limit, logger: logger) }
        async let hoursTask = timed("hours") { try await queryHours(database, filter, zone: zone, threshold: limit, logger: logger) }
        async let repeatedTask = timed("repeated") { try await queryRepeatedNumbers(database, filter, zone: zone, logger: logger) }
        async let operatorsTask = timed("operators") { try await queryOperators(database, filter, zone: zone, threshold: limit, logger: logger) }
        async let appealsTask = timed("appeals") { try await queryAppeals(database, filter, zone: zone, listLimit: listLimit, logger: logger) }
        // The period's totals are the sum of its days, its wrap-up time the sum of the operators'.
        let (days, totals) = try await daysTask
        let hours = try await hoursTask
        let repeated = try await repeatedTask
        let (operators, wrapUp) = try await operatorsTask
        let appeals = try await appealsTask

        let offered = totals.calls - totals.ivr
        let handled = totals.answered
        var summary: [String: Double] = [
            "calls_received": Double(totals.calls), "calls_answered": Double(totals.answered), "abandoned_ivr": Double(totals.ivr),
            "abandoned_queue": Double(totals.queue), "operator_no_answer": Double(totals.noAnswer), "callbacks_requested": Double(totals.callbacks),
            "callbacks_done": Double(totals.callbackDone), "lost": Double(totals.lost),
            "missed": Double(totals.ivr + totals.queue + totals.noAnswer),
            "talk_seconds_total": Double(totals.talk), "talk_seconds_average": average(totals.talk, totals.answered),
            "wait_seconds_average": average(totals.wait, totals.queued), "wait_seconds_longest": Double(totals.waitMax),
            "service_level_percent": ratio(totals.within, offered), "average_speed_of_answer": average(totals.answeredWait, totals.answered),
            "average_handling_seconds": average(totals.talk + wrapUp, totals.answered), "abandonment_percent": ratio(totals.queue, offered),
            "repeated_calls": Double(totals.repeated), "repeated_percent": ratio(totals.repeated, totals.calls),
            "wrap_up_seconds_total": Double(wrapUp), "handled_calls": Double(handled), "price_per_call": price,
            "billing_amount": Double(handled) * price,
        ]
        summary["threshold_seconds"] = Double(threshold)
        let order = ["calls_received", "calls_answered", "missed", "abandoned_ivr", "abandoned_queue", "operator_no_answer", "callbacks_requested",
                     "callbacks_done", "lost", "talk_seconds_total", "talk_seconds_average", "wait_seconds_average", "wait_seconds_longest",
                     "service_level_percent", "average_speed_of_answer", "average_handling_seconds", "abandonment_percent", "repeated_calls",
                     "repeated_percent", "wrap_up_seconds_total", "handled_calls", "price_per_call", "billing_amount"]
        let summaryTable = StatsTable(id: "summary", columns: ["measure", "value"],
                                      rows: order.map { key in
                                          let value = summary[key]!
                                          let integral = value.isFinite && value == value.rounded() && !key.hasSuffix("percent")
                                          return [.text(key), integral ? .int(Int64(value)) : .number(value, decimals: key.hasSuffix("percent") ? 1 : 1)]
                                      },
                                      links: order.map { _ in nil })
        let report = StatsReport(filter: filter, thresholdSeconds: threshold, pricePerCall: price, summary: summary,
                                 tables: [summaryTable, days, hours, repeated, operators] + appeals)
        return report
    }

    /// Wrap-up and pause time in the period as rows `(operator_id, state, reason, seconds)`, from the roll-ups (whole months
    /// from the monthly one). With a language, topic or region chosen, wrap-up counts only after the calls of that
    /// choice (each wrap-up row names its call), in the summary and the operators' table alike, so the two always
    /// agree; pauses count whatever the choice.
    static func agentTime(_ filter: StatsFilter, _ b: inout SQLBuilder, zone: String) {
        let operators = StatsFilter(from: filter.from, to: filter.to, operatorID: filter.operatorID, teamID: filter.teamID)
        let choice = StatsFilter(from: filter.from, to: filter.to, language: filter.language, topic: filter.topic)
        guard let parts = PeriodParts(filter) else {
            b.append("SELECT 0::bigint AS operator_id, ''::text AS state, ''::text AS reason, 0::bigint AS seconds WHERE false")
            return
        }
        b.append("SELECT s.operator_id, s.state, s.reason, sum(s.seconds)::bigint AS seconds FROM (")
        rollup(&b, parts, columns: "operator_id, state, reason, seconds", monthly: "agent_stats_monthly", daily: "agent_stats_daily") { b in
            dimensions(operators, &b, "s")
            if filter.region != nil {
                b.append(" AND s.state = 'paused'")
            } else if filter.language != nil || filter.topic != nil {
                b.append(" AND (s.state = 'paused' OR (true")
                dimensions(choice, &b, "s", operators: false)
                b.append("))")
            }
        }
        if let region = filter.region {
            b.append("""
                 UNION ALL SELECT s.operator_id, 'wrap_up', '', s.seconds FROM agent_stats_region_daily s
                WHERE s.region_code = \(b.bind(region)) AND s.day BETWEEN \(b.bind(filter.from))::date AND \(b.bind(filter.to))::date
                """)
            dimensions(operators, &b, "s")
            dimensions(choice, &b, "s", operators: false)
        }
        b.append(") s GROUP BY 1, 2, 3")
    }

    static func measures(_ t: Totals) -> [StatsCell] {
        let offered = t.calls - t.ivr
        return [.int(Int64(t.calls)), .int(Int64(t.answered)), .int(Int64(t.ivr + t.queue + t.noAnswer)), .number(ratio(t.within, offered), decimals: 1),
                .number(ratio(t.queue, offered), decimals: 1), .number(average(t.answeredWait, t.answered), decimals: 1),
                .number(average(t.talk, t.answered), decimals: 1)]
    }
    static let measureColumns = ["received", "answered", "missed", "service_level_percent", "abandonment_percent", "asa_seconds", "talk_average_seconds"]

    /// The days' table and the period's totals (the sum of its days).
    static func queryDays(_ database: PostgresClient, _ filter: StatsFilter, zone: String, threshold: Int, logger: Logger) async throws -> (StatsTable, Totals) {
        var b = SQLBuilder()
        b.append("SELECT day::text, \(totalsColumns) FROM ")
        source(filter, &b, zone: zone, threshold: threshold, grain: .day)
        b.append(" GROUP BY day ORDER BY day")
        var rows: [[StatsCell]] = [], links: [String?] = []
        var sum = Totals()
        for try await row in try await database.query(b.query, logger: logger).decode((String, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int64, Int64, Int, Int64).self) {
            let t = totals((row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11, row.12, row.13, row.14, row.15))
            sum.add(t)
            rows.append([.text(row.0)] + measures(t))
            links.append("/calls?from=\(row.0)&to=\(row.0)")
        }
        return (StatsTable(id: "by_day", columns: ["day"] + measureColumns, rows: rows, links: links), sum)
    }

    static func queryHours(_ database: PostgresClient, _ filter: StatsFilter, zone: String, threshold: Int, logger: Logger) async throws -> StatsTable {
        var b = SQLBuilder()
        b.append("SELECT hour, \(totalsColumns) FROM ")
        source(filter, &b, zone: zone, threshold: threshold, grain: .hour)
        b.append(" GROUP BY hour ORDER BY hour")
        var byHour: [Int: Totals] = [:]
        for try await row in try await database.query(b.query, logger: logger).decode((Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int64, Int64, Int, Int64).self) {
            byHour[row.0] = totals((row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10, row.11, row.12, row.13, row.14, row.15))
        }
        let rows = (0..<24).map { hour in [.text(String(format: "%02d:00", hour))] + measures(byHour[hour] ?? Totals()) }
        return StatsTable(id: "by_hour", columns: ["hour"] + measureColumns, rows: rows, links: rows.map { _ in "/calls?from=\(filter.from)&to=\(filter.to)" })
    }

    /// The numbers with the most repeated calls in the period (from the partial index of repeated calls),
    /// then their exact number of calls.
    static func queryRepeatedNumbers(_ database: PostgresClient, _ filter: StatsFilter, zone: String, logger: Logger) async throws -> StatsTable {
        func conditions(_ b: inout SQLBuilder, all: Bool = true) {
            let z = b.bind(zone)
            // Repeated calls are inbound calls with a number: the partial index answers without the table.
            b.append(all ? " c.direction = 'inbound' AND c.caller_number IS NOT NULL AND" : "")
            b.append(" c.started_at >= (\(b.bind(filter.from))::date::timestamp AT TIME ZONE \(z)) AND c.started_at < ((\(b.bind(filter.to))::date + 1)::timestamp AT TIME ZONE \(z))")
            if let language = filter.language { b.append(" AND c.language = \(b.bind(language))") }
            if let id = filter.operatorID { b.append(" AND c.operator_id = \(b.bind(id))") }
        }
        var b = SQLBuilder()
        b.append("WITH top AS (SELECT c.caller_number, count(*)::int AS repeated FROM calls c WHERE c.repeated AND")
        conditions(&b, all: false)
        b.append(" GROUP BY c.caller_number ORDER BY count(*) DESC, c.caller_number LIMIT 20) SELECT top.caller_number, (SELECT count(*)::int FROM calls c WHERE c.caller_number = top.caller_number AND")
        conditions(&b)
        b.append("), top.repeated FROM top ORDER BY 2 DESC, 3 DESC, 1")
        var rows: [[StatsCell]] = [], links: [String?] = []
        for try await (number, calls, repeated) in try await database.query(b.query, logger: logger).decode((String, Int, Int).self) {
            rows.append([.text(number), .int(Int64(calls)), .int(Int64(repeated))])
            links.append("/calls?number=\(number.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&from=\(filter.from)&to=\(filter.to)")
        }
        return StatsTable(id: "repeated_numbers", columns: ["number", "calls", "repeated"], rows: rows, links: links)
    }

    /// The operators' table and the period's wrap-up time (the sum of theirs: every operator with time is in the table).
    static func queryOperators(_ database: PostgresClient, _ filter: StatsFilter, zone: String, threshold: Int, logger: Logger) async throws -> (StatsTable, Int64) {
        var b = SQLBuilder()
        b.append("""
            WITH calls_by AS (SELECT operator_id, sum(answered)::int AS answered, sum(talk_seconds_sum)::bigint AS talk FROM
            """)
        source(filter, &b, zone: zone, threshold: threshold, grain: .byOperator)
        b.append(" GROUP BY operator_id), states AS (")
        agentTime(filter, &b, zone: zone)
        let z = b.bind(zone)
        let from = b.bind(filter.from), to = b.bind(filter.to)
        b.append("""
            ),
            quality AS (SELECT operator_id, avg(total_score)::float8 AS score FROM qa_evaluations
                        WHERE status = 'final' AND finalized_at >= (\(from)::date::timestamp AT TIME ZONE \(z))
                          AND finalized_at < ((\(to)::date + 1)::timestamp AT TIME ZONE \(z)) GROUP BY 1)
            SELECT o.id, u.full_name, o.extension, coalesce(cb.answered, 0), coalesce(cb.talk, 0)::bigint,
                   coalesce((SELECT sum(seconds) FROM states s WHERE s.operator_id = o.id AND s.state = 'wrap_up'), 0)::bigint,
                   coalesce((SELECT sum(seconds) FROM states s WHERE s.operator_id = o.id AND s.state = 'paused'), 0)::bigint,
                   coalesce((SELECT string_agg(s.reason || '=' || s.seconds, ';' ORDER BY s.reason)
                             FROM states s WHERE s.operator_id = o.id AND s.state = 'paused'), ''),
                   q.score
            FROM operators o JOIN users u ON u.id = o.user_id LEFT JOIN calls_by cb ON cb.operator_id = o.id LEFT JOIN quality q ON q.operator_id = o.id
            WHERE (cb.answered IS NOT NULL OR EXISTS (SELECT 1 FROM states s WHERE s.operator_id = o.id) OR q.score IS NOT NULL)
            """)
        if let id = filter.operatorID { b.append(" AND o.id = \(b.bind(id))") }
        if let team = filter.teamID { b.append(" AND u.team_id = \(b.bind(team))") }
        b.append(" ORDER BY coalesce(cb.answered, 0) DESC, o.extension")
        var rows: [[StatsCell]] = [], links: [String?] = []
        var wrapUp: Int64 = 0
        for try await (id, name, ext, answered, talk, wrap, pause, reasons, score) in try await database.query(b.query, logger: logger)
            .decode((Int64, String, String, Int, Int64, Int64, Int64, String, Double?).self) {
            wrapUp += wrap
            rows.append([.text("\(ext) \(name)"), .int(Int64(answered)), .int(talk), .number(average(talk, answered), decimals: 1), .int(wrap), .int(pause),
                         .text(reasons), score.map { .number($0, decimals: 1) } ?? .text("—")])
            links.append("/calls?operator=\(id)&from=\(filter.from)&to=\(filter.to)")
        }
        return (StatsTable(id: "operators", columns: ["operator", "answered", "talk_seconds", "talk_average_seconds", "wrap_up_seconds", "pause_seconds",
                                                      "pause_by_reason", "quality_score"], rows: rows, links: links), wrapUp)
    }

    /// The months wholly inside the period, as the first day of the first one and of the month after the last one.
    static func wholeMonths(from: String, to: String) -> (first: String, end: String)? {
        func parts(_ day: String) -> (Int, Int, Int)? {
            let p = day.split(separator: "-").compactMap { Int($0) }
            return p.count == 3 ? (p[0], p[1], p[2]) : nil
        }
        guard let (y1, m1, d1) = parts(from), let (y2, m2, d2) = parts(to) else { return nil }
        func next(_ y: Int, _ m: Int) -> (Int, Int) { m == 12 ? (y + 1, 1) : (y, m + 1) }
        let lastDay: Int = {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            return calendar.range(of: .day, in: .month, for: calendar.date(from: DateComponents(year: y2, month: m2, day: 1))!)?.count ?? 31
        }()
        let first = d1 == 1 ? (y1, m1) : next(y1, m1)
        let end = d2 == lastDay ? next(y2, m2) : (y2, m2)
        guard first.0 * 12 + first.1 < end.0 * 12 + end.1 else { return nil }
        return (String(format: "%04d-%02d-01", first.0, first.1), String(format: "%04d-%02d-01", end.0, end.1))
    }

    /// The period's appeals as (category_code, topic_code, region_code, status, n): whole months from the trigger-kept
    /// monthly counts (when they are kept in the report's time zone), the days of partial months and any operator or
    /// team filter from the appeals themselves.
    static func appealCounts(_ filter: StatsFilter, _ b: inout SQLBuilder, zone: String) {
        func raw(_ b: inout SQLBuilder, from: String, until: String, zone z: String, condition: String = "") {
            b.append("""
                SELECT a.category_code, a.topic_code, a.region_code, a.status, 1 AS n FROM appeals a
                WHERE a.created_at >= (\(b.bind(from))::date::timestamp AT TIME ZONE \(z)) AND a.created_at < (\(b.bind(until))::date::timestamp AT TIME ZONE \(z))\(condition)
                """)
            dimensions(filter, &b, "a")
            if let region = filter.region { b.append(" AND a.region_code = \(b.bind(region))") }
        }
        let z = b.bind(zone)
        guard let end = nextDay(filter.to) else {
            // Not a day (the web refuses such periods before): the appeals' own condition.
            b.append("SELECT a.category_code, a.topic_code, a.region_code, a.status, 1 AS n FROM appeals a")
            appealsWhere(filter, &b, zone: zone)
            return
        }
        guard filter.operatorID == nil, filter.teamID == nil, let months = wholeMonths(from: filter.from, to: filter.to) else {
            raw(&b, from: filter.from, until: end, zone: z)
            return
        }
        // (A missing settings row counts as another zone: the appeals are read, never nothing.)
        let counted = "(SELECT time_zone FROM stats_settings) IS NOT DISTINCT FROM \(z)"
        b.append("""
            SELECT s.category_code, nullif(s.topic_code, '') AS topic_code, nullif(s.region_code, '') AS region_code, s.status, s.appeals AS n FROM appeal_stats_monthly s
            WHERE \(counted) AND s.month >= \(b.bind(months.first))::date AND s.month < \(b.bind(months.end))::date
            """)
        dimensions(filter, &b, "s", operators: false)
        if let region = filter.region { b.append(" AND s.region_code = \(b.bind(region))") }
        b.append(" UNION ALL ")
        raw(&b, from: months.first, until: months.end, zone: z, condition: " AND NOT \(counted)")
        if filter.from < months.first {
            b.append(" UNION ALL ")
            raw(&b, from: filter.from, until: months.first, zone: z)
        }
        if months.end < end {
            b.append(" UNION ALL ")
            raw(&b, from: months.end, until: end, zone: z)
        }
    }

    /// The day after a `yyyy-mm-dd` day.
    static func nextDay(_ day: String) -> String? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let p = day.split(separator: "-").compactMap { Int($0) }
        guard p.count == 3, let date = calendar.date(from: DateComponents(year: p[0], month: p[1], day: p[2])),
              let next = calendar.date(byAdding: .day, value: 1, to: date) else { return nil }
        let n = calendar.dateComponents([.year, .month, .day], from: next)
        return String(format: "%04d-%02d-%02d", n.year!, n.month!, n.day!)
    }

    static func queryAppeals(_ database: PostgresClient, _ filter: StatsFilter, zone: String, listLimit: Int, logger: Logger) async throws -> [StatsTable] {
        // One pass over the covering index, four groupings.
        var b = SQLBuilder()
        b.append("WITH src AS (")
        appealCounts(filter, &b, zone: zone)
        b.append("""
            ), g AS (SELECT GROUPING(a.category_code, a.topic_code, a.region_code, a.status) AS gset,
                              a.category_code, a.topic_code, a.region_code, a.status, sum(a.n)::int AS n
                       FROM src a
                       GROUP BY GROUPING SETS ((a.category_code), (a.topic_code), (a.region_code), (a.status)) HAVING sum(a.n) > 0)
            SELECT g.gset, coalesce(CASE g.gset WHEN 7 THEN g.category_code WHEN 11 THEN g.topic_code WHEN 13 THEN g.region_code ELSE g.status END, '—'),
                   coalesce(CASE g.gset WHEN 7 THEN c.name_uz || ' / ' || c.name_ru
                                        WHEN 11 THEN coalesce(p.name_uz || ' / ', '') || t.name_uz
                                        WHEN 13 THEN r.name_uz ELSE g.status END, '—'), g.n
            FROM g LEFT JOIN categories c ON g.gset = 7 AND c.code = g.category_code
                   LEFT JOIN topics t ON g.gset = 11 AND t.code = g.topic_code LEFT JOIN topics p ON p.code = t.parent_code
                   LEFT JOIN regions r ON g.gset = 13 AND r.code = g.region_code
            ORDER BY g.gset, g.n DESC, 2
            """)
        var grouped: [Int: [[StatsCell]]] = [7: [], 11: [], 13: [], 14: []]
        for try await (set, key, name, count) in try await database.query(b.query, logger: logger).decode((Int, String, String, Int).self) {
            grouped[set, default: []].append([.text(key), .text(name), .int(Int64(count))])
        }
        // Each group leads to its appeals in the appeals list (same period).
        let period = "from=\(filter.from)&to=\(filter.to)"
        func table(_ id: String, _ set: Int, _ first: String, parameter: String) -> StatsTable {
            let rows = grouped[set] ?? []
            return StatsTable(id: id, columns: [first, "name", "appeals"], rows: rows, links: rows.map { row in
                let key = row[0].description
                return key == "—" ? nil : "/appeals?\(parameter)=\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&\(period)"
            })
        }
        // Complaints and applications in the order they were registered, each category read from its
        // (category, created_at) index, with their deadlines and whether they are overdue.
        var l = SQLBuilder()
        let z = l.bind(zone)
        l.append("SELECT x.id, x.number, x.category_code, x.status, coalesce(x.due_date::text, ''), coalesce(x.due_date < (now() AT TIME ZONE \(z))::date AND x.status NOT IN ('answered', 'closed', 'resolved'), false) FROM (")
        for (index, category) in ["complaint", "application"].enumerated() {
            if index > 0 { l.append(" UNION ALL ") }
            l.append("(SELECT a.id, a.number, a.category_code, a.status, a.due_date, a.created_at FROM appeals a")
            appealsWhere(filter, &l, zone: zone)
            l.append(" AND a.category_code = \(l.bind(category)) ORDER BY a.created_at, a.id LIMIT \(l.bind(listLimit + 1)))")
        }
        l.append(") x ORDER BY x.created_at, x.id LIMIT \(l.bind(listLimit + 1))")
        var rows: [[StatsCell]] = [], links: [String?] = []
        for try await (id, number, category, status, due, overdue) in try await database.query(l.query, logger: logger)
            .decode((Int64, String, String, String, String, Bool).self) {
            rows.append([.text(number), .text(category), .text(status), .text(due), .text(overdue ? "overdue" : "")])
            links.append("/appeals/\(id)")
        }
        var list = StatsTable(id: "complaints_applications", columns: ["number", "category", "status", "due_date", "overdue"], rows: rows, links: links)
        if rows.count > listLimit {
            list.rows.removeLast()
            list.links.removeLast()
            list.more = true
        }
        return [table("appeals_by_topic", 11, "topic", parameter: "topic"), table("appeals_by_category", 7, "category", parameter: "category"),
                table("appeals_by_region", 13, "region", parameter: "region"), table("appeals_by_status", 14, "status", parameter: "status"), list]
    }
}
