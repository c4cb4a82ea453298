import Foundation
import Logging
import PostgresNIO

/// The daily roll-ups of calls (`call_stats_daily`: one row per day in the report time zone, language, topic and
/// operator; `call_stats_hourly` by hour of the day) and of operators' wrap-up and pause time (`agent_stats_daily`).
/// Rebuilt idempotently for whole days: the rows of those days are replaced in one transaction, so a rebuild can
/// run any time, as often as wanted.
public enum StatsRollup {
    /// Rebuilds the days from `from` to `to` (inclusive, `yyyy-MM-dd`). Returns the number of rows written.
    @discardableResult
    public static func rebuild(_ database: PostgresClient, from: String, to: String, timeZone: TimeZone, thresholdSeconds: Int,
                               logger: Logger) async throws -> Int {
        let zone = timeZone.identifier
        var daily = SQLBuilder()
        daily.append("WITH inserted AS (INSERT INTO call_stats_daily (day, language, topic_code, operator_id, \(StatsReport.measureNames), updated_at) ")
        daily.append("SELECT day, language, topic_code, operator_id, \(StatsReport.measureSums), now() FROM (")
        StatsReport.callRows(&daily, from: from, to: to, zone: zone, threshold: thresholdSeconds)
        daily.append(") x GROUP BY 1, 2, 3, 4 RETURNING 1) SELECT count(*)::int FROM inserted")
        // The same by hour of day (without operators), for the hour-of-day table.
        var hourly = SQLBuilder()
        hourly.append("INSERT INTO call_stats_hourly (day, hour, language, topic_code, \(StatsReport.measureNames)) ")
        hourly.append("SELECT day, hour, language, topic_code, \(StatsReport.measureSums) FROM (")
        StatsReport.callRows(&hourly, from: from, to: to, zone: zone, threshold: thresholdSeconds)
        hourly.append(") x GROUP BY 1, 2, 3, 4")
        let agentsQuery = agentDays(into: "agent_stats_daily", columns: "day, operator_id, state, reason, language, topic_code",
                                    select: "g.day::date, l.operator_id, l.state, coalesce(l.reason, ''), coalesce(c.language, ''), coalesce(c.topic_code, '')",
                                    joins: "LEFT JOIN calls c ON c.id = l.call_id", states: "l.state IN ('wrap_up', 'paused')", groups: 6,
                                    from: from, to: to, zone: zone)
        let (dailyQuery, hourlyQuery) = (daily.query, hourly.query)
        let regionQueries = regionRollups(from: from, to: to, zone: zone, threshold: thresholdSeconds)
        return try await database.transaction(logger: logger) { connection -> Int in
            // One rebuild at a time: two rebuilds of days of one month (the minute's and `stats rebuild`) would both
            // replace that month's rows, and the second to commit would fail on the first's.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            for query in regionQueries { try await connection.query(query, logger: logger) }
            try await connection.query("DELETE FROM call_stats_daily WHERE day BETWEEN \(from)::date AND \(to)::date", logger: logger)
            var written = 0
            for try await count in try await connection.query(dailyQuery, logger: logger).decode(Int.self) { written = count }
            try await connection.query("DELETE FROM call_stats_hourly WHERE day BETWEEN \(from)::date AND \(to)::date", logger: logger)
            try await connection.query(hourlyQuery, logger: logger)
            try await connection.query("DELETE FROM agent_stats_daily WHERE day BETWEEN \(from)::date AND \(to)::date", logger: logger)
            try await connection.query(agentsQuery, logger: logger)
            // The coarser roll-ups, from the daily rows just written: the same days without operators, and the whole
            // months these days belong to.
            let names = StatsReport.measureNames, sums = Self.measureRollupSums
            try await connection.query("DELETE FROM call_stats_days WHERE day BETWEEN \(from)::date AND \(to)::date", logger: logger)
            try await connection.query("""
                INSERT INTO call_stats_days (day, language, topic_code, \(unescaped: names))
                SELECT day, language, topic_code, \(unescaped: sums) FROM call_stats_daily WHERE day BETWEEN \(from)::date AND \(to)::date GROUP BY 1, 2, 3
                """, logger: logger)
            for (table, source, keys, measures) in [
                ("call_stats_monthly", "call_stats_daily", "language, topic_code, operator_id", (names, sums)),
                ("call_stats_hourly_monthly", "call_stats_hourly", "hour, language, topic_code", (names, sums)),
                ("agent_stats_monthly", "agent_stats_daily", "operator_id, state, reason, language, topic_code", ("seconds", "sum(seconds)")),
            ] {
                let groups = (1...keys.split(separator: ",").count + 1).map(String.init).joined(separator: ", ")
                try await connection.query("""
                    DELETE FROM \(unescaped: table)
                    WHERE month >= date_trunc('month', \(from)::date)::date AND month < (date_trunc('month', \(to)::date) + interval '1 month')::date
                    """, logger: logger)
                try await connection.query("""
                    INSERT INTO \(unescaped: table) (month, \(unescaped: keys), \(unescaped: measures.0))
                    SELECT date_trunc('month', day)::date, \(unescaped: keys), \(unescaped: measures.1) FROM \(unescaped: source)
                    WHERE day >= date_trunc('month', \(from)::date)::date AND day < (date_trunc('month', \(to)::date) + interval '1 month')::date
                    GROUP BY \(unescaped: groups)
                    """, logger: logger)
            }
            return written
        }
    }

    /// The statements that rebuild the region roll-ups of the days from `from` to `to`: the calls behind each region's
    /// appeals (a call counts in every region its appeals name) and the wrap-ups after them, clipped to each day.
    static func regionRollups(from: String, to: String, zone: String, threshold: Int) -> [PostgresQuery] {
        var calls = SQLBuilder()
        calls.append("""
            INSERT INTO call_stats_region_daily (day, region_code, hour, language, topic_code, operator_id, \(StatsReport.measureNames))
            SELECT x.day, r.region_code, x.hour, x.language, x.topic_code, x.operator_id, \(StatsReport.measureSums) FROM (
            """)
        StatsReport.callRows(&calls, from: from, to: to, zone: zone, threshold: threshold)
        calls.append("""
            ) x JOIN LATERAL (SELECT DISTINCT a.region_code FROM appeals a WHERE a.call_id = x.call_id AND a.region_code IS NOT NULL) r ON true
            GROUP BY 1, 2, 3, 4, 5, 6
            """)
        let wraps = agentDays(into: "agent_stats_region_daily", columns: "day, region_code, operator_id, language, topic_code",
                              select: "g.day::date, r.region_code, l.operator_id, coalesce(c.language, ''), coalesce(c.topic_code, '')",
                              joins: """
                                  JOIN calls c ON c.id = l.call_id
                                  JOIN LATERAL (SELECT DISTINCT a.region_code FROM appeals a WHERE a.call_id = l.call_id AND a.region_code IS NOT NULL) r ON true
                                  """,
                              states: "l.state = 'wrap_up' AND l.call_id IS NOT NULL", groups: 5, from: from, to: to, zone: zone)
        return ["DELETE FROM call_stats_region_daily WHERE day BETWEEN \(from)::date AND \(to)::date", calls.query,
                "DELETE FROM agent_stats_region_daily WHERE day BETWEEN \(from)::date AND \(to)::date", wraps]
    }

    /// Wrap-up and pause time by day: each state row spread over the days from `from` to `to` it touches and clipped to
    /// each (an open row counts until now), summed into `table`'s `seconds` by the first `groups` columns of `select` (which fill `columns`).
    /// Rows are found by their end (or as still open), so today's rebuild reads today's rows only.
    static func agentDays(into table: String, columns: String, select: String, joins: String, states: String, groups: Int,
                          from: String, to: String, zone: String) -> PostgresQuery {
        var b = SQLBuilder()
        let z = b.bind(zone)
        let first = b.bind(from), last = b.bind(to)
        let seconds = """
            extract(epoch FROM least(coalesce(l.ended_at, now()), (g.day::date + 1)::timestamp AT TIME ZONE \(z))
                               - greatest(l.started_at, g.day::date::timestamp AT TIME ZONE \(z)))
            """
        b.append("""
            INSERT INTO \(table) (\(columns), seconds)
            SELECT \(select), sum(\(seconds))::bigint
            FROM agent_state_log l
            \(joins)
            CROSS JOIN LATERAL generate_series(greatest((l.started_at AT TIME ZONE \(z))::date, \(first)::date),
                                               least((coalesce(l.ended_at, now()) AT TIME ZONE \(z))::date, \(last)::date), interval '1 day') AS g(day)
            WHERE \(states)
              AND (l.ended_at > \(first)::date::timestamp AT TIME ZONE \(z) OR l.ended_at IS NULL)
              AND l.started_at < (\(last)::date + 1)::timestamp AT TIME ZONE \(z)
            GROUP BY \((1...groups).map(String.init).joined(separator: ", "))
            HAVING sum(\(seconds)) > 0
            """)
        return b.query
    }

    /// Once, after the upgrade that brought the region roll-ups: every day since the first call is rolled up by region.
    /// Returns whether it ran.
    @discardableResult
    public static func fillRegions(_ database: PostgresClient, timeZone: TimeZone, thresholdSeconds: Int, logger: Logger) async throws -> Bool {
        var first: Date?, filled = true
        for try await (done, earliest) in try await database.query("""
            SELECT regions_filled, (SELECT min(started_at) FROM calls) FROM stats_settings
            """, logger: logger).decode((Bool, Date?).self) { (filled, first) = (done, earliest) }
        guard !filled else { return false }
        let from = day(first ?? Date(), timeZone), to = day(Date(), timeZone)
        let queries = regionRollups(from: from, to: to, zone: timeZone.identifier, threshold: thresholdSeconds)
        try await database.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            for query in queries { try await connection.query(query, logger: logger) }
            try await connection.query("UPDATE stats_settings SET regions_filled = true", logger: logger)
        }
        logger.notice("calls and wrap-ups rolled up by region", metadata: ["from": "\(from)", "to": "\(to)"])
        return true
    }

    /// Keeps the appeals' monthly counts (`appeal_stats_monthly`, kept by triggers) in the report time zone: when they
    /// were counted in another zone, they are recounted in this one while writers of appeals wait. Returns whether
    /// they were recounted.
    @discardableResult
    public static func alignAppealCounts(_ database: PostgresClient, timeZone: TimeZone, logger: Logger) async throws -> Bool {
        let zone = timeZone.identifier
        return try await database.transaction(logger: logger) { connection -> Bool in
            var counted: String?
            for try await value in try await connection.query("SELECT time_zone FROM stats_settings", logger: logger).decode(String.self) {
                counted = value
            }
            guard counted != zone else { return false }
            try await connection.query("LOCK TABLE appeals IN SHARE MODE", logger: logger)
            try await connection.query("UPDATE stats_settings SET time_zone = \(zone)", logger: logger)
            try await connection.query("DELETE FROM appeal_stats_monthly", logger: logger)
            try await connection.query("""
                INSERT INTO appeal_stats_monthly (month, language, topic_code, category_code, region_code, status, appeals)
                SELECT appeal_stats_month(created_at), language, coalesce(topic_code, ''), category_code, coalesce(region_code, ''), status, count(*)
                FROM appeals GROUP BY 1, 2, 3, 4, 5, 6
                """, logger: logger)
            logger.notice("appeals recounted by month in the report time zone", metadata: ["from": "\(counted ?? "")", "to": "\(zone)"])
            return true
        }
    }

    /// The advisory lock that keeps rebuilds of the roll-ups one at a time ("murojaat roll-ups").
    static let lockKey: Int64 = 0x6D75_726F_726F_6C6C

    /// How rows of a roll-up add up to a coarser one: sums, and the longest wait.
    static let measureRollupSums = """
        sum(calls), sum(answered), sum(abandoned_ivr), sum(abandoned_queue), sum(operator_no_answer), sum(callback_requested),
        sum(callback_done), sum(lost), sum(repeated), sum(answered_within_threshold), sum(talk_seconds_sum), sum(wait_seconds_sum),
        max(wait_seconds_max), sum(queued), sum(answered_wait_seconds_sum)
        """


    static func day(_ date: Date, _ timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
