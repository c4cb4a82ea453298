import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Storage

extension MurojaatCommand {
    /// Generates volume for measuring pages and reports: calls spread over the past year (with their
    /// outcomes, wait and talk times) and appeals for part of them, in batches inside PostgreSQL.
    struct Seed: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a year of calls and appeals for measurements (not for production).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Calls to generate.") var calls = 1_800_000
        @Option(help: "Share of calls that leave an appeal.") var appealShare = 0.8
        @Option(help: "Days back the calls are spread over.") var days = 365
        @Option(help: "Rows per batch.") var batch = 100_000

        func runAsync() async throws {
            let config = try options.load()
            let logger = Logger(label: "murojaat.seed")
            let client = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await Migrator(client: client, migrations: try Migration.bundled(), logger: logger).migrate()
                try await ReferenceData.bundled().seed(client, logger: logger)
                try await DemoData.seed(client, operators: 10, logger: logger)
                let started = Date()
                var done = 0
                while done < calls {
                    let size = min(batch, calls - done)
                    let share = appealShare, span = days
                    try await client.query("""
                        WITH ops AS (SELECT array_agg(id) AS ids FROM operators),
                             tops AS (SELECT array_agg(code) AS codes FROM topics WHERE parent_code IS NULL),
                             regs AS (SELECT array_agg(code ORDER BY sort, code) AS codes FROM regions),
                             base AS (SELECT coalesce(max(seq), 0) AS s FROM appeals),
                             generated AS (
                               SELECT gen_random_uuid() AS id, g,
                                      now() - random() * make_interval(days => \(span)::int) AS started,
                                      (random() * 60)::int AS wait, (30 + random() * 400)::int AS talk, random() AS r
                               FROM generate_series(1, \(size)) g),
                             inserted AS (
                               INSERT INTO calls (id, asterisk_node, channel_id, caller_number, dialled_number, language, topic_code,
                                                  started_at, ivr_ended_at, queued_at, answered_at, ended_at, wait_seconds, talk_seconds,
                                                  operator_id, outcome, hangup_side, repeated)
                               SELECT x.id, 'seed', 'seed-' || x.id, '+99890' || lpad((random() * 9999999)::int::text, 7, '0'), '1000',
                                      CASE WHEN x.g % 3 = 0 THEN 'ru' ELSE 'uz' END, tops.codes[1 + (x.g % array_length(tops.codes, 1))],
                                      x.started, x.started + interval '20 seconds', x.started + interval '20 seconds',
                                      CASE WHEN x.r < 0.9 THEN x.started + interval '20 seconds' + make_interval(secs => x.wait::float8) END,
                                      x.started + interval '20 seconds' + make_interval(secs => (x.wait + CASE WHEN x.r < 0.9 THEN x.talk ELSE 0 END)::float8),
                                      x.wait, CASE WHEN x.r < 0.9 THEN x.talk END,
                                      CASE WHEN x.r < 0.9 THEN ops.ids[1 + (x.g % array_length(ops.ids, 1))] END,
                                      CASE WHEN x.r < 0.9 THEN 'answered' WHEN x.r < 0.95 THEN 'abandoned_queue' ELSE 'abandoned_ivr' END,
                                      'caller', x.g % 7 = 0
                               FROM generated x, ops, tops
                               RETURNING id, started_at, caller_number, language, topic_code, operator_id, outcome),
                             chosen AS (
                               SELECT i.*, row_number() OVER () AS n FROM inserted i
                               WHERE i.outcome = 'answered' AND random() < \(share) / 0.9)
                        INSERT INTO appeals (year, seq, source, citizen_name, phone, region_code, language, category_code, topic_code,
                                             text, answer, status, consent, call_id, operator_id, due_date, created_at, updated_at)
                        SELECT extract(year FROM c.started_at)::smallint, base.s + c.n, 'call', 'Fuqaro ' || c.n, c.caller_number,
                               regs.codes[1 + (c.n % 14)::int], c.language,
                               (array['question','question','question','complaint','application','suggestion','gratitude'])[1 + (c.n % 7)::int],
                               c.topic_code, 'Generated appeal text for measurements ' || c.n, 'Javob berildi',
                               (array['resolved','resolved','resolved','unresolved','disputed','forwarded','answered','closed'])[1 + (c.n % 8)::int],
                               true, c.id, c.operator_id, (c.started_at + interval '15 days')::date, c.started_at, c.started_at
                        FROM chosen c, base, regs
                        """, logger: logger)
                    done += size
                    print("calls: \(done) of \(calls) (\(Int(Date().timeIntervalSince(started))) s)")
                }
                try await client.query("""
                    INSERT INTO appeal_counters (year, last_seq) SELECT year, max(seq) FROM appeals GROUP BY year
                    ON CONFLICT (year) DO UPDATE SET last_seq = greatest(appeal_counters.last_seq, EXCLUDED.last_seq)
                    """, logger: logger)
                try await client.query("ANALYZE calls", logger: logger)
                try await client.query("ANALYZE appeals", logger: logger)
                // The statistics read the daily roll-up: build it for the whole seeded year.
                let zone = config.timeZone
                let from = StatsRollup.day(Date().addingTimeInterval(-367 * 86400), zone), to = StatsRollup.day(Date(), zone)
                let rows = try await StatsRollup.rebuild(client, from: from, to: to, timeZone: zone, thresholdSeconds: 20, logger: logger)
                try await client.query("ANALYZE call_stats_daily", logger: logger)
                print("statistics roll-up: \(rows) rows for \(from) … \(to)")
                print("done in \(Int(Date().timeIntervalSince(started))) s")
            }
        }
    }
}
