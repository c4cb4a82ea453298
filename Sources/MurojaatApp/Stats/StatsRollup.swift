import Foundation
import Logging
import PostgresNIO

/// The daily roll-up of calls (`call_stats_daily`): one row per day (in the report time zone), language,
/// topic and operator. Rebuilt idempotently for whole days: the rows of those days are replaced in one
/// transaction, so a rebuild can run any time, as often as wanted.
public enum StatsRollup {
    /// Rebuilds the days from `from` to `to` (inclusive, `yyyy-MM-dd`). Returns the number of rows written.
    @discardableResult
    public static func rebuild(_ database: PostgresClient, from: String, to: String, timeZone: TimeZone, thresholdSeconds: Int,
                               logger: Logger) async throws -> Int {
        let zone = timeZone.identifier
        return try await database.transaction(logger: logger) { connection -> Int in
            try await connection.query("DELETE FROM call_stats_daily WHERE day BETWEEN \(from)::date AND \(to)::date", logger: logger)
            var written = 0
            for try await count in try await connection.query("""
                WITH inserted AS (
                INSERT INTO call_stats_daily (day, language, topic_code, operator_id, calls, answered, abandoned_ivr, abandoned_queue,
                       operator_no_answer, callback_requested, callback_done, lost, repeated, answered_within_threshold,
                       talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued, answered_wait_seconds_sum, updated_at)
                SELECT (c.started_at AT TIME ZONE \(zone))::date, coalesce(c.language, ''), coalesce(c.topic_code, ''), coalesce(c.operator_id, 0),
                       count(*),
                       count(*) FILTER (WHERE c.outcome IN ('answered', 'callback_done')),
                       count(*) FILTER (WHERE c.outcome = 'abandoned_ivr'),
                       count(*) FILTER (WHERE c.outcome = 'abandoned_queue'),
                       count(*) FILTER (WHERE c.outcome = 'operator_no_answer'),
                       count(*) FILTER (WHERE c.outcome IN ('callback_requested', 'callback_done')),
                       count(*) FILTER (WHERE c.outcome = 'callback_done'),
                       count(*) FILTER (WHERE c.outcome = 'lost'),
                       count(*) FILTER (WHERE c.repeated),
                       count(*) FILTER (WHERE c.answered_at IS NOT NULL AND coalesce(c.wait_seconds, 0) <= \(thresholdSeconds)),
                       coalesce(sum(c.talk_seconds), 0), coalesce(sum(c.wait_seconds) FILTER (WHERE c.queued_at IS NOT NULL), 0),
                       coalesce(max(c.wait_seconds), 0),
                       count(*) FILTER (WHERE c.queued_at IS NOT NULL),
                       coalesce(sum(c.wait_seconds) FILTER (WHERE c.answered_at IS NOT NULL), 0),
                       now()
                FROM calls c
                WHERE c.direction = 'inbound' AND c.outcome <> 'in_progress'
                  AND c.started_at >= (\(from)::date::timestamp AT TIME ZONE \(zone))
                  AND c.started_at < ((\(to)::date + 1)::timestamp AT TIME ZONE \(zone))
                GROUP BY 1, 2, 3, 4
                RETURNING 1)
                SELECT count(*) FROM inserted
                """, logger: logger).decode(Int.self) { written = count }
            // The same by hour of day (without operators), for the hour-of-day table.
            try await connection.query("DELETE FROM call_stats_hourly WHERE day BETWEEN \(from)::date AND \(to)::date", logger: logger)
            try await connection.query("""
                INSERT INTO call_stats_hourly (day, hour, language, topic_code, calls, answered, abandoned_ivr, abandoned_queue,
                       operator_no_answer, callback_requested, callback_done, lost, repeated, answered_within_threshold,
                       talk_seconds_sum, wait_seconds_sum, wait_seconds_max, queued, answered_wait_seconds_sum)
                SELECT day, hour, language, topic_code, count(*), sum(answered), sum(abandoned_ivr), sum(abandoned_queue), sum(operator_no_answer),
                       sum(callback_requested), sum(callback_done), sum(lost), sum(repeated), sum(answered_within_threshold),
                       sum(talk_seconds_sum), sum(wait_seconds_sum), max(wait_seconds_max), sum(queued), sum(answered_wait_seconds_sum)
                FROM (SELECT (c.started_at AT TIME ZONE \(zone))::date AS day, extract(hour FROM c.started_at AT TIME ZONE \(zone))::smallint AS hour,
                             coalesce(c.language, '') AS language, coalesce(c.topic_code, '') AS topic_code,
                             (c.outcome IN ('answered', 'callback_done'))::int AS answered, (c.outcome = 'abandoned_ivr')::int AS abandoned_ivr,
                             (c.outcome = 'abandoned_queue')::int AS abandoned_queue, (c.outcome = 'operator_no_answer')::int AS operator_no_answer,
                             (c.outcome IN ('callback_requested', 'callback_done'))::int AS callback_requested, (c.outcome = 'callback_done')::int AS callback_done,
                             (c.outcome = 'lost')::int AS lost, c.repeated::int AS repeated,
                             (c.answered_at IS NOT NULL AND coalesce(c.wait_seconds, 0) <= \(thresholdSeconds))::int AS answered_within_threshold,
                             coalesce(c.talk_seconds, 0)::bigint AS talk_seconds_sum,
                             CASE WHEN c.queued_at IS NOT NULL THEN coalesce(c.wait_seconds, 0) ELSE 0 END::bigint AS wait_seconds_sum,
                             coalesce(c.wait_seconds, 0) AS wait_seconds_max, (c.queued_at IS NOT NULL)::int AS queued,
                             CASE WHEN c.answered_at IS NOT NULL THEN coalesce(c.wait_seconds, 0) ELSE 0 END::bigint AS answered_wait_seconds_sum
                      FROM calls c
                      WHERE c.direction = 'inbound' AND c.outcome <> 'in_progress'
                        AND c.started_at >= (\(from)::date::timestamp AT TIME ZONE \(zone))
                        AND c.started_at < ((\(to)::date + 1)::timestamp AT TIME ZONE \(zone))) x
                GROUP BY 1, 2, 3, 4
                """, logger: logger)
            return written
        }
    }

    static func day(_ date: Date, _ timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
