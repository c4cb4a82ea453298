import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Storage

extension MurojaatCommand {
    /// Generates volume for measuring pages and reports: a year of calls with the shape a hotline has (the hours
    /// of the day, weekdays, the exam periods' surges several times the normal volume, repeat callers, longer
    /// waits and more abandoned calls when the line is busy) and appeals for part of them, inside PostgreSQL.
    struct Seed: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a year of calls and appeals for measurements (not for production).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Calls to generate.") var calls = 1_800_000
        @Option(help: "Share of answered calls that leave an appeal.") var appealShare = 0.8
        @Option(help: "Days back the calls are spread over.") var days = 365
        @Option(help: "Operators the calls are answered by.") var operators = 60

        /// Calls by hour of the day in Tashkent (a day's share, before weekday and season): quiet at night, a
        /// morning peak from 10 to 12 and an afternoon one from 14 to 17.
        static let hourWeights: [Double] = [0.25, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.3, 3.0, 4.6, 5.6, 5.9, 5.0, 4.8, 5.6, 5.7, 5.3, 4.5,
                                            3.6, 2.9, 2.3, 1.7, 1.0, 0.5]
        /// Monday to Sunday.
        static let weekdayWeights: [Double] = [1.15, 1.1, 1.05, 1.0, 0.95, 0.7, 0.45]

        /// How many times the normal volume a day has: the admission campaign (documents in June, the entrance
        /// tests in July and early August, results in the second half of August) and the spring registration
        /// of school leavers; quiet at New Year.
        static func surge(month: Int, day: Int) -> Double {
            switch (month, day) {
            case (6, 1...14): return 2.0
            case (6, _): return 3.0
            case (7, _): return 4.5
            case (8, 1...10): return 4.0
            case (8, 11...25): return 6.0 // results
            case (8, _): return 2.5
            case (3, 1...20): return 2.0
            case (9, 1...10): return 1.5
            case (1, 1...7), (12, 30...31): return 0.5
            default: return 1.0
            }
        }

        func runAsync() async throws {
            let config = try options.load()
            let logger = Logger(label: "murojaat.seed")
            let client = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = config.timeZone
            // Every hour of the period with its weight and the day's surge.
            let today = calendar.startOfDay(for: Date())
            var slots: [(start: Date, weight: Double, surge: Double)] = []
            for back in stride(from: days, to: 0, by: -1) {
                let day = calendar.date(byAdding: .day, value: -back, to: today)!
                let parts = calendar.dateComponents([.month, .day, .weekday], from: day)
                let surge = Self.surge(month: parts.month!, day: parts.day!)
                let weekday = Self.weekdayWeights[(parts.weekday! + 5) % 7] // Calendar: 1 = Sunday
                for hour in 0..<24 {
                    slots.append((day.addingTimeInterval(Double(hour) * 3600), Self.hourWeights[hour] * weekday * surge, surge))
                }
            }
            let total = slots.reduce(0) { $0 + $1.weight }
            // Each hour's share of the calls, whole: the remainders go to the hours with the largest fractions, so the
            // total is exactly what was asked for.
            let shares = slots.map { Double(calls) * $0.weight / total }
            var counts = shares.map { Int($0) }
            let rest = calls - counts.reduce(0, +)
            for index in shares.indices.sorted(by: { shares[$0] - Double(counts[$0]) > shares[$1] - Double(counts[$1]) }).prefix(max(0, rest)) {
                counts[index] += 1
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await DemoData.prepareForMeasurement(client, operators: operators, logger: logger)
                let started = Date()
                var done = 0
                // A week at a time: at most a few hundred thousand rows per statement.
                for week in stride(from: 0, to: slots.count, by: 24 * 7) {
                    let part = slots[week..<min(slots.count, week + 24 * 7)]
                    let starts = part.map { $0.start }
                    let weekCounts = Array(counts[week..<min(slots.count, week + 24 * 7)])
                    let surges = part.map { $0.surge }
                    let share = appealShare, pool = max(20, calls / 45)
                    let rows = try await client.query("""
                        WITH ops AS (SELECT array_agg(id ORDER BY id) AS ids FROM operators),
                             tops AS (SELECT array_agg(code ORDER BY code) AS codes FROM topics WHERE parent_code IS NULL),
                             regs AS (SELECT array_agg(code ORDER BY sort, code) AS codes FROM regions),
                             base AS (SELECT coalesce(max(seq), 0) AS s FROM appeals),
                             slot AS (SELECT * FROM unnest(\(starts)::timestamptz[], \(weekCounts)::int[], \(surges)::float8[]) AS s(at, n, surge)),
                             generated AS (
                               SELECT gen_random_uuid() AS id, row_number() OVER () AS g, s.surge,
                                      s.at + random() * interval '1 hour' AS started, random() AS r, random() AS q,
                                      -- Waits grow with the surge; a busy line loses more callers in the queue.
                                      (random() * random() * 40 * s.surge)::int AS wait, (40 + random() * random() * 500)::int AS talk,
                                      -- Three callers in ten come back (a pool of one number per 45 calls, 40,000 for a year
                                      -- of 1.8 million, some far more often than others); the rest call once from anywhere.
                                      CASE WHEN random() < 0.3 THEN '+99890' || lpad((floor(random() * random() * \(pool)))::int::text, 7, '0')
                                           ELSE '+9989' || (1 + floor(random() * 9))::int::text || lpad((floor(random() * 9999999))::int::text, 7, '0') END AS number
                               FROM slot s, generate_series(1, s.n)),
                             shaped AS (
                               SELECT x.*, CASE WHEN x.r < 0.06 THEN 'abandoned_ivr'
                                                WHEN x.r < 0.06 + 0.015 * x.surge THEN 'abandoned_queue'
                                                WHEN x.r < 0.075 + 0.015 * x.surge THEN 'operator_no_answer'
                                                WHEN x.r < 0.08 + 0.015 * x.surge THEN 'callback_done'
                                                ELSE 'answered' END AS outcome
                               FROM generated x),
                             inserted AS (
                               INSERT INTO calls (id, asterisk_node, channel_id, caller_number, dialled_number, language, topic_code,
                                                  started_at, ivr_ended_at, queued_at, answered_at, ended_at, wait_seconds, talk_seconds,
                                                  operator_id, outcome, hangup_side, repeated)
                               SELECT x.id, 'seed', 'seed-' || x.id, x.number, '1000',
                                      CASE WHEN x.q < 0.35 THEN 'ru' ELSE 'uz' END, tops.codes[1 + floor(x.q * x.q * array_length(tops.codes, 1))::int],
                                      x.started, x.started + interval '25 seconds',
                                      CASE WHEN x.outcome <> 'abandoned_ivr' THEN x.started + interval '25 seconds' END,
                                      CASE WHEN x.outcome IN ('answered', 'callback_done') THEN x.started + interval '25 seconds' + make_interval(secs => x.wait) END,
                                      x.started + interval '25 seconds' + make_interval(secs => x.wait + CASE WHEN x.outcome IN ('answered', 'callback_done') THEN x.talk ELSE 0 END),
                                      CASE WHEN x.outcome <> 'abandoned_ivr' THEN x.wait END,
                                      CASE WHEN x.outcome IN ('answered', 'callback_done') THEN x.talk END,
                                      CASE WHEN x.outcome IN ('answered', 'callback_done', 'operator_no_answer')
                                           THEN ops.ids[1 + floor(random() * array_length(ops.ids, 1))::int] END,
                                      x.outcome, CASE WHEN x.q < 0.7 THEN 'caller' ELSE 'operator' END, false
                               FROM shaped x, ops, tops
                               RETURNING id, started_at, caller_number, language, topic_code, operator_id, outcome),
                             chosen AS (
                               SELECT i.*, row_number() OVER () AS n FROM inserted i
                               WHERE i.outcome IN ('answered', 'callback_done') AND random() < \(share))
                        INSERT INTO appeals (year, seq, source, citizen_name, phone, region_code, language, category_code, topic_code,
                                             text, answer, status, consent, call_id, operator_id, due_date, created_at, updated_at)
                        SELECT extract(year FROM c.started_at)::smallint, base.s + c.n, 'call', 'Fuqaro ' || c.n, c.caller_number,
                               regs.codes[1 + (c.n % 14)::int], c.language,
                               (array['question','question','question','question','complaint','application','suggestion','gratitude'])[1 + (c.n % 8)::int],
                               c.topic_code, 'Generated appeal text for measurements ' || c.n, 'Javob berildi',
                               (array['resolved','resolved','resolved','unresolved','disputed','forwarded','answered','closed'])[1 + (c.n % 8)::int],
                               true, c.id, c.operator_id, (c.started_at + interval '15 days')::date, c.started_at, c.started_at
                        FROM chosen c, base, regs
                        """, logger: logger)
                    for try await _ in rows {}
                    done += weekCounts.reduce(0, +)
                    print("calls: \(done) (\(Int(Date().timeIntervalSince(started))) s)")
                }
                // The operators' own time: a wrap-up of 10 to 60 s after every call they answered, and each day a
                // 15-minute break near 11:00, lunch near 13:00 and a 10-minute break near 16:00.
                try await client.query("""
                    INSERT INTO agent_state_log (operator_id, state, call_id, started_at, ended_at)
                    SELECT operator_id, 'wrap_up', id, ended_at, ended_at + make_interval(secs => 10 + random() * 50)
                    FROM calls c WHERE asterisk_node = 'seed' AND outcome IN ('answered', 'callback_done') AND operator_id IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM agent_state_log l WHERE l.call_id = c.id)
                    """, logger: logger)
                let zoneName = config.timeZone.identifier, span = days
                try await client.query("""
                    INSERT INTO agent_state_log (operator_id, state, reason, started_at, ended_at)
                    SELECT o.id, 'paused', p.reason, x.at, x.at + make_interval(mins => p.minutes)
                    FROM operators o
                    CROSS JOIN generate_series(current_date - \(span)::int, current_date - 1, interval '1 day') d
                    CROSS JOIN (VALUES ('break', 11, 15), ('lunch', 13, 45), ('break', 16, 10)) AS p(reason, hour, minutes)
                    CROSS JOIN LATERAL (SELECT (d::date + make_interval(hours => p.hour) + random() * interval '40 minutes')::timestamp
                                               AT TIME ZONE \(zoneName) AS at) x
                    WHERE NOT EXISTS (SELECT 1 FROM agent_state_log l WHERE l.operator_id = o.id AND l.state = 'paused'
                                        AND l.started_at >= x.at - interval '12 hours' AND l.started_at < x.at + interval '12 hours'
                                        AND l.reason = p.reason AND extract(hour FROM l.started_at AT TIME ZONE \(zoneName)) = p.hour)
                    """, logger: logger)
                // A call is repeated when its number called in the 24 hours before it (as the call flow marks it).
                try await client.query("""
                    UPDATE calls c SET repeated = true FROM (
                        SELECT id, started_at - lag(started_at) OVER (PARTITION BY caller_number ORDER BY started_at) AS gap
                        FROM calls WHERE asterisk_node = 'seed') p
                    WHERE c.id = p.id AND p.gap <= interval '24 hours' AND NOT c.repeated
                    """, logger: logger)
                try await client.query("""
                    INSERT INTO appeal_counters (year, last_seq) SELECT year, max(seq) FROM appeals GROUP BY year
                    ON CONFLICT (year) DO UPDATE SET last_seq = greatest(appeal_counters.last_seq, EXCLUDED.last_seq)
                    """, logger: logger)
                // As autovacuum would leave them: statistics, and the visibility map that lets index-only scans skip the table.
                for table in ["calls", "appeals", "agent_state_log"] { try await client.query(PostgresQuery(unsafeSQL: "VACUUM ANALYZE \(table)"), logger: logger) }
                // The statistics read the daily roll-up: build it for the whole seeded period.
                let zone = config.timeZone
                let from = StatsRollup.day(Date().addingTimeInterval(-Double(days + 2) * 86400), zone), to = StatsRollup.day(Date(), zone)
                let rows = try await StatsRollup.rebuild(client, from: from, to: to, timeZone: zone, thresholdSeconds: 20, logger: logger)
                for table in ["call_stats_daily", "call_stats_hourly", "agent_stats_daily"] {
                    try await client.query(PostgresQuery(unsafeSQL: "VACUUM ANALYZE \(table)"), logger: logger)
                }
                print("statistics roll-up: \(rows) rows for \(from) … \(to)")
                print("done in \(Int(Date().timeIntervalSince(started))) s")
            }
        }
    }
}
