import AsyncHTTPClient
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Hummingbird
import HummingbirdTesting
import Logging
@testable import MurojaatApp
import PostgresNIO
import Storage
import Synchronization
import TestSupport
import Testing
import ZIPFoundation

/// Statistics, exports, the recordings library, the wallboard and quality evaluation, against a real
/// PostgreSQL and a small data set whose figures are computed by hand below.
@Suite("Statistics, recordings, wallboard and quality", .serialized)
struct StatisticsTests {
    static let zone = TimeZone(identifier: "Asia/Tashkent")!

    // MARK: Erlang C

    /// The worked example of callcentrehelper.com ("Erlang C formula – made simple"): 100 calls in 30 minutes,
    /// 180 s handling time (10 Erlangs), 80 % answered within 20 s → 14 agents, P(wait) 17.4 %, SL 88.8 %,
    /// ASA 7.8 s, occupancy 71.4 %; with 13 agents the service level is 79.6 %.
    @Test func erlangCAgainstThePublishedExample() {
        let pw = [11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741]
        for (agents, expected) in pw { #expect(abs(ErlangC.waitProbability(agents: agents, traffic: 10) - expected) < 0.0001, "\(agents) agents") }
        #expect(abs(ErlangC.serviceLevel(agents: 13, traffic: 10, targetSeconds: 20, handlingSeconds: 180) - 0.7956) < 0.0001)
        let staffing = ErlangC.agentsNeeded(callsPerHour: 200, handlingSeconds: 180, targetSeconds: 20, serviceLevel: 0.8)
        #expect(staffing.agents == 14)
        #expect(abs(staffing.traffic - 10) < 1e-9)
        #expect(abs(staffing.serviceLevel - 0.8884) < 0.0001)
        #expect(abs(staffing.averageSpeedOfAnswer - 7.8) < 0.05)
        #expect(abs(staffing.occupancy - 0.714) < 0.001)
        #expect(ErlangC.agentsNeeded(callsPerHour: 0, handlingSeconds: 180, targetSeconds: 20, serviceLevel: 0.8).agents == 0)
        #expect(ErlangC.waitProbability(agents: 5, traffic: 10) == 1, "fewer agents than Erlangs: everyone waits")
    }

    // MARK: the report on a known data set

    /// October 2026 in Tashkent. Operator A (ext 101, team Alfa) and B (102, no team).
    /// Day 1 (Oct 5): c1 A answered, wait 10, talk 100, uz, topic results.scoring
    ///                c2 A answered, wait 30, talk 200, ru, topic results
    ///                c3 abandoned in queue, wait 40, uz
    ///                c4 abandoned in IVR (no language)
    /// Day 2 (Oct 6): c5 B answered, wait 5, talk 60, ru, topic payment, repeated (same number as c2)
    ///                c6 operator_no_answer, wait 25, uz
    /// Outside: c7 on Sep 30 23:59 and c8 on Nov 1 00:00 Tashkent time.
    static func seedKnownMonth(_ db: PostgresClient, _ world: BackOffice.World) async throws {
        let a = world.operators["operator"]!, b = world.operators["operator2"]!
        try await db.query("INSERT INTO teams (name) VALUES ('Alfa')")
        try await db.query("UPDATE users SET team_id = (SELECT id FROM teams WHERE name = 'Alfa') WHERE login = 'operator'")
        try await db.query("""
            INSERT INTO calls (asterisk_node, channel_id, caller_number, language, topic_code, started_at, ivr_ended_at, queued_at, answered_at, ended_at,
                               wait_seconds, talk_seconds, operator_id, outcome, repeated) VALUES
            ('ast1', 'c1', '+998901111111', 'uz', 'results.scoring', '2026-10-05 10:00:00+05', '2026-10-05 10:00:20+05', '2026-10-05 10:00:20+05', '2026-10-05 10:00:30+05', '2026-10-05 10:02:10+05', 10, 100, \(a), 'answered', false),
            ('ast1', 'c2', '+998902222222', 'ru', 'results', '2026-10-05 10:30:00+05', '2026-10-05 10:30:20+05', '2026-10-05 10:30:20+05', '2026-10-05 10:30:50+05', '2026-10-05 10:34:10+05', 30, 200, \(a), 'answered', false),
            ('ast1', 'c3', '+998903333333', 'uz', 'results', '2026-10-05 14:00:00+05', '2026-10-05 14:00:20+05', '2026-10-05 14:00:20+05', NULL, '2026-10-05 14:01:00+05', 40, NULL, NULL, 'abandoned_queue', false),
            ('ast1', 'c4', '+998904444444', NULL, NULL, '2026-10-05 14:30:00+05', NULL, NULL, NULL, '2026-10-05 14:30:15+05', NULL, NULL, NULL, 'abandoned_ivr', false),
            ('ast1', 'c5', '+998902222222', 'ru', 'payment', '2026-10-06 09:00:00+05', '2026-10-06 09:00:20+05', '2026-10-06 09:00:20+05', '2026-10-06 09:00:25+05', '2026-10-06 09:01:25+05', 5, 60, \(b), 'answered', true),
            ('ast1', 'c6', '+998906666666', 'uz', 'results', '2026-10-06 09:30:00+05', '2026-10-06 09:30:20+05', '2026-10-06 09:30:20+05', NULL, '2026-10-06 09:31:00+05', 25, NULL, NULL, 'operator_no_answer', false),
            ('ast1', 'c7', '+998907777777', 'uz', 'results', '2026-09-30 23:59:00+05', NULL, NULL, NULL, '2026-10-01 00:00:30+05', NULL, NULL, NULL, 'abandoned_ivr', false),
            ('ast1', 'c8', '+998908888888', 'uz', 'results', '2026-11-01 00:00:00+05', NULL, NULL, NULL, '2026-11-01 00:00:30+05', NULL, NULL, NULL, 'abandoned_ivr', false)
            """)
        // Wrap-up: A 30 s + 20 s, B 10 s; pauses: A lunch 600 s, B break 120 s.
        try await db.query("""
            INSERT INTO agent_state_log (operator_id, state, reason, started_at, ended_at) VALUES
            (\(a), 'wrap_up', NULL, '2026-10-05 10:02:10+05', '2026-10-05 10:02:40+05'),
            (\(a), 'wrap_up', NULL, '2026-10-05 10:34:10+05', '2026-10-05 10:34:30+05'),
            (\(b), 'wrap_up', NULL, '2026-10-06 09:01:25+05', '2026-10-06 09:01:35+05'),
            (\(a), 'paused', 'lunch', '2026-10-05 12:00:00+05', '2026-10-05 12:10:00+05'),
            (\(b), 'paused', 'break', '2026-10-06 11:00:00+05', '2026-10-06 11:02:00+05')
            """)
        // Each wrap-up follows its call (c1, c2, c5), as the call flow records it.
        for (started, channel) in [("2026-10-05 10:02:10+05", "c1"), ("2026-10-05 10:34:10+05", "c2"), ("2026-10-06 09:01:25+05", "c5")] {
            try await db.query("""
                UPDATE agent_state_log SET call_id = (SELECT id FROM calls WHERE channel_id = \(channel))
                WHERE state = 'wrap_up' AND started_at = \(started)::timestamptz
                """)
        }
        try await db.query("""
            INSERT INTO appeals (year, seq, source, phone, region_code, language, category_code, topic_code, text, status, operator_id, due_date, created_at) VALUES
            (2026, 1, 'call', '+998901111111', 'TK', 'uz', 'complaint', 'results.scoring', 'shikoyat matni', 'unresolved', \(a), '2026-10-20', '2026-10-05 10:02:00+05'),
            (2026, 2, 'call', '+998902222222', 'SA', 'ru', 'question', 'results', 'savol matni', 'resolved', \(a), NULL, '2026-10-05 10:34:00+05'),
            (2026, 3, 'web', '+998905555555', 'TK', 'uz', 'application', 'payment', 'ariza matni', 'answered', NULL, '2026-10-21', '2026-10-06 12:00:00+05'),
            (2026, 4, 'call', '+998902222222', 'TK', 'ru', 'question', 'payment', 'savol', 'resolved', \(b), NULL, '2026-11-01 00:10:00+05')
            """)
        try await db.query("UPDATE appeals SET call_id = (SELECT id FROM calls WHERE channel_id = 'c1') WHERE seq = 1")
        try await db.query("UPDATE appeals SET call_id = (SELECT id FROM calls WHERE channel_id = 'c5') WHERE seq = 4")
        try await db.query("INSERT INTO settings (key, value) VALUES ('billing.price_per_call', '\"2500\"')")
        try await StatsRollup.rebuild(db, from: "2026-09-01", to: "2026-11-30", timeZone: zone, thresholdSeconds: 20, logger: Logger(label: "t"))
    }

    static func cell(_ report: StatsReport, _ table: String, row: Int, column: String) -> String? {
        guard let t = report.table(table), let c = t.columns.firstIndex(of: column), row < t.rows.count else { return nil }
        return t.rows[row][c].description
    }

    @Test func reportFiguresMatchHandComputedAnswers() async throws {
        try await BackOffice.run { world, client in
            try await Self.seedKnownMonth(world.database, world)
            let logger = Logger(label: "t")
            let month = StatsFilter(from: "2026-10-01", to: "2026-10-31")
            let report = try await StatsReport.build(world.database, filter: month, timeZone: Self.zone, logger: logger)
            let s = report.summary
            #expect(s["calls_received"] == 6)
            #expect(s["calls_answered"] == 3)
            #expect(s["abandoned_ivr"] == 1 && s["abandoned_queue"] == 1 && s["operator_no_answer"] == 1)
            #expect(s["missed"] == 3)
            #expect(s["talk_seconds_total"] == 360 && s["talk_seconds_average"] == 120)
            // Waits of the 5 queued calls: 10 + 30 + 40 + 5 + 25 = 110 → 22 s; the longest 40 s.
            #expect(s["wait_seconds_average"] == 22 && s["wait_seconds_longest"] == 40)
            // Offered to the queue: 6 − 1 (IVR) = 5; answered within 20 s: c1 and c5 → 40 %; abandoned in queue 1 of 5 → 20 %.
            #expect(s["service_level_percent"] == 40)
            #expect(s["abandonment_percent"] == 20)
            // ASA over answered calls: (10 + 30 + 5) / 3 = 15 s. AHT: (360 talk + 60 wrap-up) / 3 = 140 s.
            #expect(s["average_speed_of_answer"] == 15)
            #expect(s["wrap_up_seconds_total"] == 60)
            #expect(s["average_handling_seconds"] == 140)
            #expect(s["repeated_calls"] == 1)
            #expect(abs((s["repeated_percent"] ?? 0) - 100.0 / 6) < 1e-9)
            #expect(s["handled_calls"] == 3 && s["billing_amount"] == 7500)

            // Per day.
            #expect(Self.cell(report, "by_day", row: 0, column: "day") == "2026-10-05")
            #expect(Self.cell(report, "by_day", row: 0, column: "received") == "4")
            #expect(Self.cell(report, "by_day", row: 0, column: "service_level_percent") == "33.3")   // 1 of 3 offered
            #expect(Self.cell(report, "by_day", row: 1, column: "received") == "2")
            #expect(Self.cell(report, "by_day", row: 1, column: "service_level_percent") == "50.0")   // 1 of 2
            #expect(report.table("by_day")?.links.first == "/calls?from=2026-10-05&to=2026-10-05")
            // Per hour: 10:00 has c1 and c2, 14:00 c3 and c4, 09:00 c5 and c6.
            #expect(Self.cell(report, "by_hour", row: 10, column: "received") == "2")
            #expect(Self.cell(report, "by_hour", row: 10, column: "asa_seconds") == "20.0")
            #expect(Self.cell(report, "by_hour", row: 14, column: "answered") == "0")
            #expect(Self.cell(report, "by_hour", row: 9, column: "received") == "2")
            #expect(report.table("by_hour")?.rows.count == 24)
            // The number that called twice.
            #expect(report.table("repeated_numbers")?.rows.first?.map(\.description) == ["+998902222222", "2", "1"])
            // Operators: A answered 2, talk 300, wrap-up 50, lunch 10 min; B 1, 60, 10, break 2 min.
            let ops = try #require(report.table("operators"))
            #expect(ops.rows.count == 2)
            #expect(ops.rows[0].map(\.description) == ["101 Test operator", "2", "300", "150.0", "50", "600", "lunch=600", "—"])
            #expect(ops.rows[1].map(\.description) == ["102 Second operator", "1", "60", "60.0", "10", "120", "break=120", "—"])
            // Appeals of October: complaint, question, application (the November one is outside).
            let categories = Dictionary(uniqueKeysWithValues: (report.table("appeals_by_category")?.rows ?? []).map { ($0[0].description, $0[2].description) })
            #expect(categories == ["complaint": "1", "question": "1", "application": "1"])
            let regions = Dictionary(uniqueKeysWithValues: (report.table("appeals_by_region")?.rows ?? []).map { ($0[0].description, $0[2].description) })
            #expect(regions == ["TK": "2", "SA": "1"])
            let statuses = Dictionary(uniqueKeysWithValues: (report.table("appeals_by_status")?.rows ?? []).map { ($0[0].description, $0[2].description) })
            #expect(statuses == ["unresolved": "1", "resolved": "1", "answered": "1"])
            let topics = Dictionary(uniqueKeysWithValues: (report.table("appeals_by_topic")?.rows ?? []).map { ($0[0].description, $0[2].description) })
            #expect(topics == ["results.scoring": "1", "results": "1", "payment": "1"])
            let list = try #require(report.table("complaints_applications"))
            #expect(list.rows.map { $0[0].description } == ["2026-000001", "2026-000003"])
            #expect(list.rows[0][4].description == "overdue", "the unresolved complaint is past its due date")
            #expect(list.rows[1][4].description == "", "an answered application is not overdue")
            #expect(list.links.first??.hasPrefix("/appeals/") == true)

            // Filters: Russian calls only (c2, c5); a topic with its subtopics; an operator; a team; a region (raw path).
            let ru = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", language: "ru"), timeZone: Self.zone, logger: logger)
            #expect(ru.summary["calls_received"] == 2 && ru.summary["calls_answered"] == 2 && ru.summary["talk_seconds_total"] == 260)
            // Wrap-up after the Russian calls only (c2 20 s, c5 10 s), in the summary and per operator alike.
            #expect(ru.summary["wrap_up_seconds_total"] == 30)
            #expect(ru.table("operators")?.rows.map { $0[4].description } == ["20", "10"])
            let results = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", topic: "results"), timeZone: Self.zone, logger: logger)
            #expect(results.summary["calls_received"] == 4, "results and results.scoring: c1, c2, c3, c6")
            let opB = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", operatorID: world.operators["operator2"]), timeZone: Self.zone, logger: logger)
            #expect(opB.summary["calls_received"] == 1 && opB.summary["wrap_up_seconds_total"] == 10)
            let team = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", teamID: try await Self.rowCountID(world.database)), timeZone: Self.zone, logger: logger)
            #expect(team.summary["calls_answered"] == 2 && team.summary["wrap_up_seconds_total"] == 50)
            let tashkent = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", region: "TK"), timeZone: Self.zone, logger: logger)
            #expect(tashkent.summary["calls_received"] == 2, "October calls behind appeals from Tashkent: c1 and c5 (whose appeal was written on 1 November)")
            #expect(tashkent.summary["wrap_up_seconds_total"] == 40, "the wrap-ups after c1 (30 s) and c5 (10 s)")
            #expect(tashkent.table("operators")?.rows.map { $0[4].description } == ["30", "10"])
            // After the upgrade that brought the region roll-ups, the server fills them once for every day.
            try await world.database.query("DELETE FROM call_stats_region_daily")
            try await world.database.query("DELETE FROM agent_stats_region_daily")
            try await world.database.query("UPDATE stats_settings SET regions_filled = false")
            #expect(try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", region: "TK"), timeZone: Self.zone,
                                                logger: logger).summary["calls_received"] == 0, "not filled yet")
            #expect(try await StatsRollup.fillRegions(world.database, timeZone: Self.zone, thresholdSeconds: 20, logger: logger))
            #expect(try await StatsRollup.fillRegions(world.database, timeZone: Self.zone, thresholdSeconds: 20, logger: logger) == false, "once")
            let refilled = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", region: "TK"), timeZone: Self.zone, logger: logger)
            #expect(refilled.summary == tashkent.summary)
            #expect(refilled.table("by_hour")?.rows.map { $0.map(\.description) } == tashkent.table("by_hour")?.rows.map { $0.map(\.description) })
            #expect(Self.cell(refilled, "by_hour", row: 10, column: "received") == "1" && Self.cell(refilled, "by_hour", row: 9, column: "received") == "1")
            // A region and an operator: B's call c5 only.
            let tashkentB = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31", operatorID: world.operators["operator2"], region: "TK"),
                                                        timeZone: Self.zone, logger: logger)
            #expect(tashkentB.summary["calls_received"] == 1 && tashkentB.summary["wrap_up_seconds_total"] == 10 && tashkentB.summary["talk_seconds_total"] == 60)

            // Periods made of whole months (monthly roll-ups), of partial months (daily ones) and of both agree with the calls:
            // 15 September – 30 November adds c7 (30 Sep) and c8 (1 Nov), both abandoned in the IVR, to October.
            let wide = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-09-15", to: "2026-11-30"), timeZone: Self.zone, logger: logger)
            #expect(wide.summary["calls_received"] == 8 && wide.summary["abandoned_ivr"] == 3 && wide.summary["calls_answered"] == 3)
            #expect(wide.summary["wrap_up_seconds_total"] == 60 && wide.summary["wait_seconds_longest"] == 40)
            #expect(wide.table("operators")?.rows.map { $0.map(\.description) } == ops.rows.map { $0.map(\.description) })
            #expect(Self.cell(wide, "by_hour", row: 0, column: "received") == "1", "c8 at 00:00 on 1 November")
            #expect(wide.table("by_day")?.rows.map { $0[0].description } == ["2026-09-30", "2026-10-05", "2026-10-06", "2026-11-01"])
            let fifth = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-05", to: "2026-10-05"), timeZone: Self.zone, logger: logger)
            #expect(fifth.summary["calls_received"] == 4 && fifth.summary["wrap_up_seconds_total"] == 50)
            #expect(fifth.table("operators")?.rows.map { $0[1].description } == ["2"])
            let quarter = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-09-01", to: "2026-11-30", operatorID: world.operators["operator"]),
                                                      timeZone: Self.zone, logger: logger)
            #expect(quarter.summary["calls_answered"] == 2 && quarter.summary["wrap_up_seconds_total"] == 50 && quarter.summary["talk_seconds_total"] == 300)

            // Rebuilds of different days of one month at once (the minute's and `stats rebuild`) all succeed: they take turns.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for day in ["2026-10-05", "2026-10-06", "2026-10-07", "2026-10-20"] {
                    group.addTask { try await StatsRollup.rebuild(world.database, from: day, to: day, timeZone: Self.zone, thresholdSeconds: 20, logger: logger) }
                }
                for try await _ in group {}
            }
            #expect(try await StatsReport.build(world.database, filter: month, timeZone: Self.zone, logger: logger).summary == report.summary)

            // A day rebuilt rebuilds its month: a call added on 6 October shows in October's whole-month figures.
            try await world.database.query("""
                INSERT INTO calls (asterisk_node, channel_id, caller_number, language, started_at, ended_at, outcome, repeated)
                VALUES ('ast1', 'c9', '+998909999999', 'uz', '2026-10-06 18:00:00+05', '2026-10-06 18:00:10+05', 'abandoned_ivr', false)
                """)
            try await StatsRollup.rebuild(world.database, from: "2026-10-06", to: "2026-10-06", timeZone: Self.zone, thresholdSeconds: 20, logger: logger)
            let rebuilt = try await StatsReport.build(world.database, filter: month, timeZone: Self.zone, logger: logger)
            #expect(rebuilt.summary["calls_received"] == 7 && rebuilt.summary["abandoned_ivr"] == 2)
            #expect(Self.cell(rebuilt, "by_hour", row: 18, column: "received") == "1")
            #expect(rebuilt.table("operators")?.rows.map { $0[1].description } == ["2", "1"])
            try await world.database.query("DELETE FROM calls WHERE channel_id = 'c9'")

            // A pause across midnight counts on each day for its part of it, from the daily roll-up and from the state log
            // alike (a region reads the log).
            let second = try #require(world.operators["operator2"])
            try await world.database.query("""
                INSERT INTO agent_state_log (operator_id, state, reason, started_at, ended_at)
                VALUES (\(second), 'paused', 'break', '2026-10-06 23:50:00+05', '2026-10-07 00:20:00+05')
                """)
            try await StatsRollup.rebuild(world.database, from: "2026-10-01", to: "2026-10-31", timeZone: Self.zone, thresholdSeconds: 20, logger: logger)
            func pause(_ filter: StatsFilter) async throws -> String? {
                let report = try await StatsReport.build(world.database, filter: filter, timeZone: Self.zone, logger: logger)
                return report.table("operators")?.rows.first { $0[0].description.hasPrefix("102") }?[5].description
            }
            #expect(try await pause(StatsFilter(from: "2026-10-06", to: "2026-10-06")) == "720")
            #expect(try await pause(StatsFilter(from: "2026-10-07", to: "2026-10-07")) == "1200")
            #expect(try await pause(StatsFilter(from: "2026-10-06", to: "2026-10-07")) == "1920")
            #expect(try await pause(StatsFilter(from: "2026-10-06", to: "2026-10-07", region: "TK")) == "1920")

            // The page, the print view, the exports.
            let dtm = Visitor(client)
            try await dtm.signIn("dtm")
            let page = try await dtm.request(.get, "/stats?from=2026-10-01&to=2026-10-31")
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains("<svg") && html.contains("id=\"t-summary\"") && html.contains("/calls?from=2026-10-05&amp;to=2026-10-05"))
            #expect(String(buffer: try await dtm.request(.get, "/stats/print?from=2026-10-01&to=2026-10-31").body).contains("print.css"))
            let bad = try await dtm.request(.get, "/stats?from=2026-13-01&to=2026-10-31&language=de&operator=x")
            #expect(bad.status == .unprocessableContent)
            #expect(String(buffer: bad.body).contains("YYYY-MM-DD"))
            #expect(try await dtm.request(.get, "/stats?from=2026-10-31&to=2026-10-01").status == .unprocessableContent)
            #expect(try await dtm.request(.get, "/stats?from=2020-01-01&to=2026-10-01").status == .unprocessableContent, "at most 400 days")
            #expect(try await dtm.request(.get, "/stats?topic=%27%3B+DROP+TABLE+calls").status == .unprocessableContent)

            // Exports in the reader's language, as the page shows them: the period and filters first, `;` for Russian and
            // Uzbek Excel, durations as h:mm:ss, codes as words.
            let csv = try await dtm.request(.get, "/stats/export/operators?from=2026-10-01&to=2026-10-31&format=csv&lang=ru")
            #expect(csv.status == .ok && csv.headers[.contentDisposition]?.contains("murojaat-operators-2026-10-01-2026-10-31-ru.csv") == true)
            let lines = String(buffer: csv.body).split(separator: "\r\n").map(String.init)
            #expect(lines.first == "\u{FEFF}Операторы · Период: 01.10.2026 — 31.10.2026")
            #expect(lines.dropFirst().first?.hasPrefix("Оператор;Отвечено;Разговор;") == true, "\(lines.dropFirst().first ?? "")")
            #expect(lines.dropFirst(2).first == "101 Test operator;2;0:05:00;0:02:30;0:00:50;0:10:00;Обед 0:10:00;—")
            let comma = String(buffer: try await dtm.request(.get, "/stats/export/operators?from=2026-10-01&to=2026-10-31&format=csv&lang=uz&separator=comma").body)
            #expect(comma.contains("101 Test operator,2,0:05:00,0:02:30,0:00:50,0:10:00,Tushlik 0:10:00,—"))
            let filtered = try await dtm.request(.get, "/stats/export/summary?from=2026-10-01&to=2026-10-31&format=csv&lang=uz&language=ru&topic=results")
            #expect(filtered.headers[.contentDisposition]?.contains("murojaat-summary-2026-10-01-2026-10-31-til-ru-mavzu-results-uz.csv") == true)
            #expect(String(buffer: filtered.body).hasPrefix("\u{FEFF}\"Umumiy ko'rsatkichlar · Davr: 01.10.2026 — 31.10.2026; Til: Ruscha; Mavzu: Natijalar\""))
            let xlsx = try await dtm.request(.get, "/stats/export/summary?from=2026-10-01&to=2026-10-31&format=xlsx&lang=uz")
            #expect(xlsx.headers[.contentType] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            let cells = try Self.readXLSX(Data(buffer: xlsx.body))
            #expect(cells["A1"]?.contains("Davr: 01.10.2026 — 31.10.2026") == true)
            #expect(cells["A2"] == "Ko'rsatkich" && cells["B2"] == "Qiymat")
            #expect(cells["A3"] == "Qabul qilingan qo'ng'iroqlar" && cells["B3"] == "6")
            #expect(cells.first { $0.value == "Xizmat darajasi, %" }.map { cells["B" + $0.key.dropFirst()] } == "40.0")
            #expect(cells.first { $0.value == "Takroriy ulushi, %" }.map { cells["B" + $0.key.dropFirst()] } == "16.7", "rounded as shown")
            // An independent reader (openpyxl, as LibreOffice and Excel read OOXML) opens it too.
            let python = try Self.openpyxl(Data(buffer: xlsx.body))
            #expect(python.contains("Qabul qilingan qo'ng'iroqlar 6"), "openpyxl read: \(python.prefix(300))")
            #expect(try await dtm.request(.get, "/stats/export/nothing?format=csv").status == .notFound)
            // A long list of complaints: the page shows the first 100 and says where the rest are; the export carries them.
            try await world.database.query("""
                INSERT INTO appeals (year, seq, source, language, category_code, text, due_date, created_at)
                SELECT 2026, 100 + n, 'web', 'uz', 'complaint', 'shikoyat', '2026-10-30', '2026-10-10 09:00:00+05'::timestamptz + n * interval '1 minute'
                FROM generate_series(1, 130) n
                """)
            let long = String(buffer: try await dtm.request(.get, "/stats?from=2026-10-01&to=2026-10-31").body)
            let listSection = long.components(separatedBy: "id=\"t-complaints_applications\"").last?.components(separatedBy: "</section>").first ?? ""
            #expect(listSection.components(separatedBy: "<tr>").count - 2 == 100, "100 rows under the header")
            #expect(listSection.contains("Birinchi 100 tasi ko&#39;rsatilgan") && listSection.contains("/appeals?from=2026-10-01&amp;to=2026-10-31"))
            #expect(!long.components(separatedBy: "id=\"t-operators\"").last!.components(separatedBy: "</section>").first!.contains("Birinchi"))
            let fullList = String(buffer: try await dtm.request(.get, "/stats/export/complaints_applications?from=2026-10-01&to=2026-10-31&format=csv&lang=uz").body)
            #expect(fullList.split(separator: "\r\n").count == 2 + 132, "title, header, the two complaints and applications and 130 more")
            try await world.database.query("DELETE FROM appeals WHERE seq > 100")
            #expect(try await dtm.request(.get, "/stats/export/summary?format=pdf").status == .badRequest)
            // The same figure agrees across files: the summary's wrap-up total is the operators' wrap-up summed, with and
            // without a filter (read back by openpyxl).
            func seconds(_ text: String) -> Int {
                let parts = text.split(separator: ":").compactMap { Int($0) }
                return parts.count == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2] : -1
            }
            for (filter, expected) in [("", 60), ("&language=ru", 30)] {
                let period = "from=2026-10-01&to=2026-10-31&format=xlsx&lang=uz\(filter)"
                let summary = try Self.openpyxlRows(Data(buffer: try await dtm.request(.get, "/stats/export/summary?\(period)").body))
                let operators = try Self.openpyxlRows(Data(buffer: try await dtm.request(.get, "/stats/export/operators?\(period)").body))
                let total = summary.first { $0.first == "Yakunlash vaqti jami" }.map { seconds($0[1]) }
                let column = try #require(operators.dropFirst().first?.firstIndex(of: "Yakunlash"))
                let perOperator = operators.dropFirst(2).map { seconds($0[column]) }.reduce(0, +)
                #expect(total == expected && perOperator == expected, "\(filter): summary \(total ?? -1) s, operators \(perOperator) s")
            }
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'stats.export'") == 9, "eight above and the list")

            // The month at a glance for the official: October's figures in words, the service level red against 80 %.
            let overview = String(buffer: try await dtm.request(.get, "/overview?month=2026-10&lang=uz").body)
            #expect(overview.contains("Oktabr 2026") && overview.contains("01.10.2026 — 31.10.2026"))
            #expect(overview.contains("<p class=\"figure\">6</p>") && overview.contains("<p class=\"figure\">40.0</p>"))
            #expect(overview.contains("card bad"), "the service level under its target is marked")
            #expect(overview.contains("id=\"overview-appeals\">3<") && overview.contains("id=\"overview-overdue\">1<"))
            #expect(overview.contains("Shikoyat") && overview.contains("/stats?from=2026-10-01&amp;to=2026-10-31"))
            #expect(try await dtm.request(.get, "/overview?month=2099-01").status == .unprocessableContent)
            #expect(try await dtm.request(.get, "/overview?month=%27%3B").status == .unprocessableContent)

            // The forecast page; hostile numbers are refused.
            #expect(try await dtm.request(.get, "/stats/forecast?weeks=4&surge=1.5&target=80&threshold=20").status == .ok)
            #expect(try await dtm.request(.get, "/stats/forecast?weeks=0").status == .unprocessableContent)
            #expect(try await dtm.request(.get, "/stats/forecast?surge=1e9").status == .unprocessableContent)
        }
    }

    /// The report's rows are written as HTML by the page itself: every text escaped, links too, figures right-aligned.
    @Test func reportRowsAreEscapedHTML() {
        let table = StatsTable(id: "operators", columns: ["operator", "answered", "talk_seconds"],
                               rows: [[.text("<script>alert('x')</script> & \"Ko'p\""), .int(3), .text("0:05:00")], [.text("—"), .number(.nan, decimals: 1), .text("5:00")]],
                               links: ["/calls?operator=1&from=2026-10-01\"><script>", nil])
        let html = StatsController.rowsHTML(table)
        #expect(html == "<tr><td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Ko&#39;p&quot;</td><td class=\"num\">3</td><td class=\"num\">0:05:00</td>"
                + "<td><a href=\"/calls?operator=1&amp;from=2026-10-01&quot;&gt;&lt;script&gt;\">→</a></td></tr>\n"
                + "<tr><td>—</td><td class=\"num\">—</td><td>5:00</td></tr>\n")
        #expect(!StatsController.rowsHTML(table, links: false).contains("<a "), "no links in the print view")
        let joined = StatsTable(id: "repeated_numbers", columns: ["number"], rows: [[.text("\u{0600}<img src=x onerror=alert(1)>")]], links: [nil])
        #expect(StatsController.rowsHTML(joined) == "<tr><td>\u{0600}&lt;img src=x onerror=alert(1)&gt;</td></tr>\n")
    }

    /// The report's appeals tables (key → count) for a period, in a time zone.
    static func appealTables(_ db: PostgresClient, _ filter: StatsFilter, zone: TimeZone = zone) async throws -> [String: [String: String]] {
        let report = try await StatsReport.build(db, filter: filter, timeZone: zone, logger: Logger(label: "t"))
        var tables: [String: [String: String]] = [:]
        for id in ["appeals_by_category", "appeals_by_topic", "appeals_by_region", "appeals_by_status"] {
            tables[id] = Dictionary(uniqueKeysWithValues: (report.table(id)?.rows ?? []).map { ($0[0].description, $0[2].description) })
        }
        return tables
    }

    /// The same tables counted from the appeals themselves, one by one (the oracle for the monthly counts).
    static func appealTablesCounted(_ db: PostgresClient, _ filter: StatsFilter, zone: TimeZone = zone) async throws -> [String: [String: String]] {
        var tables: [String: [String: String]] = [:]
        for (id, column) in [("appeals_by_category", "category_code"), ("appeals_by_topic", "topic_code"), ("appeals_by_region", "region_code"),
                             ("appeals_by_status", "status")] {
            var rows: [String: String] = [:]
            var b = SQLBuilder()
            b.append("SELECT coalesce(a.\(column), '—'), count(*)::int FROM appeals a")
            StatsReport.appealsWhere(filter, &b, zone: zone.identifier)
            b.append(" GROUP BY 1")
            for try await (key, count) in try await db.query(b.query, logger: Logger(label: "t")).decode((String, Int).self) { rows[key] = String(count) }
            tables[id] = rows
        }
        return tables
    }

    /// Appeals are counted by month by triggers: every insert, status change, change of topic or region (also by a code's
    /// renaming) and deletion moves the counts at once, whole months read the counts and partial ones the appeals, and a
    /// report in another time zone does not read counts kept in this one until they are recounted in it.
    @Test func appealCountsFollowEveryChangeAndTheTimeZone() async throws {
        try await BackOffice.run { world, _ in
            let db = world.database
            try await Self.seedKnownMonth(db, world)
            let logger = Logger(label: "t")
            let periods = [StatsFilter(from: "2026-10-01", to: "2026-10-31"), StatsFilter(from: "2026-09-01", to: "2026-11-30"),
                           StatsFilter(from: "2026-10-05", to: "2026-11-01"), StatsFilter(from: "2026-10-06", to: "2026-10-06"),
                           StatsFilter(from: "2026-09-15", to: "2026-11-30", language: "ru"), StatsFilter(from: "2026-10-01", to: "2026-11-30", topic: "results"),
                           StatsFilter(from: "2026-10-01", to: "2026-11-30", region: "TK"), StatsFilter(from: "2026-10-01", to: "2026-11-30", operatorID: world.operators["operator"])]
            func check(_ step: String, zone: TimeZone = Self.zone) async throws {
                for filter in periods {
                    let read = try await Self.appealTables(db, filter, zone: zone), counted = try await Self.appealTablesCounted(db, filter, zone: zone)
                    #expect(read == counted, "\(step): \(filter.query) in \(zone.identifier)")
                }
                // The counts themselves equal the appeals grouped by month in the zone they are kept in.
                let rows = try await db.query("""
                    SELECT count(*)::int FROM (SELECT month, language, topic_code, category_code, region_code, status, appeals FROM appeal_stats_monthly WHERE appeals <> 0
                      EXCEPT SELECT date_trunc('month', created_at AT TIME ZONE (SELECT time_zone FROM stats_settings))::date, language, coalesce(topic_code, ''),
                                    category_code, coalesce(region_code, ''), status, count(*)::int FROM appeals GROUP BY 1, 2, 3, 4, 5, 6) x
                    """).decode(Int.self)
                for try await differing in rows { #expect(differing == 0, "\(step): counts that differ from the appeals") }
            }
            try await check("as written")
            #expect(try await Self.appealTables(db, StatsFilter(from: "2026-10-01", to: "2026-10-31"))["appeals_by_status"]
                    == ["unresolved": "1", "resolved": "1", "answered": "1"])

            // A status change months later moves the appeal in its month's counts at once.
            try await db.query("UPDATE appeals SET status = 'closed', updated_at = now() WHERE seq = 2")
            #expect(try await Self.appealTables(db, StatsFilter(from: "2026-10-01", to: "2026-10-31"))["appeals_by_status"]
                    == ["unresolved": "1", "closed": "1", "answered": "1"])
            try await check("after a status change")
            try await db.query("UPDATE appeals SET region_code = 'SA', topic_code = NULL WHERE seq = 1")
            try await db.query("UPDATE topics SET code = 'pay' WHERE code = 'payment'")
            #expect(try await Self.appealTables(db, StatsFilter(from: "2026-10-01", to: "2026-10-31"))["appeals_by_topic"]
                    == ["—": "1", "results": "1", "pay": "1"])
            try await check("after a region, a topic and a topic code changed")
            try await db.query("DELETE FROM appeals WHERE seq = 3")
            #expect(try await Self.appealTables(db, StatsFilter(from: "2026-10-01", to: "2026-10-31"))["appeals_by_category"]
                    == ["complaint": "1", "question": "1"])
            try await check("after a deletion")

            // UTC: the appeal written at 00:10 on 1 November in Tashkent is October's. Read from the appeals until recounted.
            let utc = TimeZone(identifier: "UTC")!
            #expect(try await Self.appealTables(db, StatsFilter(from: "2026-10-01", to: "2026-10-31"), zone: utc)["appeals_by_category"]
                    == ["complaint": "1", "question": "2"])
            try await check("in another zone", zone: utc)
            #expect(try await StatsRollup.alignAppealCounts(db, timeZone: utc, logger: logger))
            #expect(try await StatsRollup.alignAppealCounts(db, timeZone: utc, logger: logger) == false, "already counted in UTC")
            try await check("recounted in UTC", zone: utc)
            try await check("in Tashkent, counted in UTC")
            try await db.query("INSERT INTO appeals (year, seq, source, language, category_code, text, created_at) VALUES (2026, 9, 'web', 'uz', 'question', 't', '2026-10-31 20:00:00+00')")
            try await check("a new appeal counted in UTC", zone: utc)
            #expect(try await StatsRollup.alignAppealCounts(db, timeZone: Self.zone, logger: logger))
            try await check("back in Tashkent")
            #expect(try await Self.appealTables(db, StatsFilter(from: "2026-11-01", to: "2026-11-30"))["appeals_by_category"] == ["question": "2"])
        }
    }

    static func rowCountID(_ db: PostgresClient) async throws -> Int64 {
        for try await id in try await db.query("SELECT id FROM teams WHERE name = 'Alfa'").decode(Int64.self) { return id }
        return 0
    }

    /// The cells of the first sheet, by reference (A1…), read from the package's XML.
    static func readXLSX(_ data: Data) throws -> [String: String] {
        let archive = try Archive(data: data, accessMode: .read)
        for required in ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"] {
            #expect(archive[required] != nil, "\(required) is in the package")
        }
        guard let entry = archive["xl/worksheets/sheet1.xml"] else { throw TestServerError("no sheet") }
        var xml = Data()
        _ = try archive.extract(entry) { xml.append($0) }
        final class Reader: NSObject, XMLParserDelegate {
            var cells: [String: String] = [:]
            var ref: String?
            var text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
                if name == "c" { ref = attributes["r"]; text = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if ref != nil { text += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "c", let ref { cells[ref] = text; self.ref = nil }
            }
        }
        let reader = Reader()
        let parser = XMLParser(data: xml)
        parser.delegate = reader
        #expect(parser.parse(), "the sheet is well-formed XML")
        return reader.cells
    }

    /// The first sheet's rows as openpyxl reads them, each cell as text.
    static func openpyxlRows(_ data: Data) throws -> [[String]] {
        let text = try runOpenpyxl(data, "print('\\t'.join('' if v is None else str(v) for v in r))")
        return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    static func openpyxl(_ data: Data) throws -> String { try runOpenpyxl(data, "print(*r)") }

    /// Opens `data` with openpyxl (an independent reader, as LibreOffice and Excel read OOXML) and runs `perRow` (Python,
    /// with the row in `r`) for each row of the first sheet; returns what it printed.
    static func runOpenpyxl(_ data: Data, _ perRow: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("t-\(UUID()).xlsx")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import openpyxl,sys\nws=openpyxl.load_workbook(sys.argv[1]).active\nfor r in ws.iter_rows(values_only=True): \(perRow)", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "openpyxl opened the file")
        return text
    }

    // MARK: recordings library

    static func wav(seconds: Int) -> Data {
        var data = Data("RIFF".utf8)
        let samples = seconds * 8000
        func le32(_ v: Int) -> Data { withUnsafeBytes(of: UInt32(v).littleEndian) { Data($0) } }
        func le16(_ v: Int) -> Data { withUnsafeBytes(of: UInt16(v).littleEndian) { Data($0) } }
        data += le32(36 + samples * 2) + Data("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(8000) + le32(16000) + le16(2) + le16(16)
        data += Data("data".utf8) + le32(samples * 2)
        data += Data((0..<(samples * 2)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        return data
    }

    /// After the upgrade that brought the operators' daily time, the maintenance service rolls up every day since the
    /// first wrap-up or pause once, so that older months keep their wrap-up and pause time; then it leaves it be.
    @Test func operatorsTimeOfEarlierMonthsIsRolledUpOnceAfterTheUpgrade() async throws {
        try await BackOffice.run { world, _ in
            try await Self.seedKnownMonth(world.database, world)
            try await world.database.query("DELETE FROM agent_stats_daily")
            let logger = Logger(label: "t")
            let service = MaintenanceService(database: world.database, timeZone: Self.zone, logger: logger)
            try await service.backfillAgentTime()
            let october = try await StatsReport.build(world.database, filter: StatsFilter(from: "2026-10-01", to: "2026-10-31"), timeZone: Self.zone, logger: logger)
            #expect(october.summary["wrap_up_seconds_total"] == 60)
            #expect(october.table("operators")?.rows.map { $0[5].description } == ["600", "120"])
            // Rolled up already: a second start does nothing (a row removed by hand stays removed).
            try await world.database.query("DELETE FROM agent_stats_daily WHERE state = 'paused'")
            try await service.backfillAgentTime()
            var paused = -1
            for try await count in try await world.database.query("SELECT count(*)::int FROM agent_stats_daily WHERE state = 'paused'").decode(Int.self) {
                paused = count
            }
            #expect(paused == 0)
        }
    }

    @Test func recordingsPlayWithRangesDownloadAsZipAreAuditedAndExpire() async throws {
        try await BackOffice.run { world, client in
            let db = world.database
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let audio = Self.wav(seconds: 2)
            var ids: [Int64] = []
            for (n, age) in [(1, 1), (2, 40), (3, 40)] {
                let path = directory.appendingPathComponent("call-\(n).wav").path
                FileManager.default.createFile(atPath: path, contents: audio)
                for try await id in try await db.query("""
                    WITH c AS (INSERT INTO calls (asterisk_node, channel_id, caller_number, started_at, answered_at, ended_at, talk_seconds, operator_id, outcome)
                               VALUES ('ast1', \("r\(n)"), '+998901234567', now() - make_interval(days => \(age)::int), now() - make_interval(days => \(age)::int),
                                       now() - make_interval(days => \(age)::int), 2, \(world.operators["operator"]!), 'answered') RETURNING id)
                    INSERT INTO recordings (call_id, name, asterisk_node, state, duration_seconds, size_bytes, storage_path, started_at, finished_at)
                    SELECT id, \("call-\(n)"), 'ast1', 'done', 2, \(audio.count), \(path), now() - make_interval(days => \(age)::int), now() FROM c RETURNING id
                    """).decode(Int64.self) { ids.append(id) }
            }
            let supervisor = Visitor(client)
            try await supervisor.signIn("supervisor")
            let list = try await supervisor.request(.get, "/calls?from=2020-01-01&to=2030-12-31&number=901234567")
            #expect(list.status == .ok)
            #expect(String(buffer: list.body).contains("/recordings/\(ids[0])/audio"))
            // Whole numbers in any form a person types, a fragment, and a number that differs in its last digit.
            for (query, found) in [("998901234567", true), ("%2B998%2090%20123-45-67", true), ("1234567", true), ("0123", true),
                                   ("901234568", false), ("998901234568", false)] {
                let page = try await supervisor.request(.get, "/calls?from=2020-01-01&to=2030-12-31&number=\(query)")
                #expect(page.status == .ok)
                #expect(String(buffer: page.body).contains("/recordings/\(ids[0])/audio") == found, "\(query)")
            }
            #expect(try await supervisor.request(.get, "/calls?number=12").status == .unprocessableContent)
            #expect(try await supervisor.request(.get, "/calls?outcome=%3Cscript%3E").status == .unprocessableContent)

            let size = audio.count
            let full = try await supervisor.request(.get, "/recordings/\(ids[0])/audio")
            #expect(full.status == .ok && full.headers[.acceptRanges] == "bytes" && full.headers[.contentLength] == "\(size)")
            #expect(Data(buffer: full.body) == audio)
            let first = try await supervisor.request(.get, "/recordings/\(ids[0])/audio", headers: [.range: "bytes=0-99"])
            #expect(first.status == .partialContent && first.headers[.contentRange] == "bytes 0-99/\(size)")
            #expect(Data(buffer: first.body) == audio.prefix(100))
            let middle = try await supervisor.request(.get, "/recordings/\(ids[0])/audio", headers: [.range: "bytes=1000-1999"])
            #expect(middle.status == .partialContent && Data(buffer: middle.body) == audio.subdata(in: 1000..<2000))
            let open = try await supervisor.request(.get, "/recordings/\(ids[0])/audio", headers: [.range: "bytes=30000-"])
            #expect(open.headers[.contentRange] == "bytes 30000-\(size - 1)/\(size)" && Data(buffer: open.body) == audio.suffix(from: 30000))
            let suffix = try await supervisor.request(.get, "/recordings/\(ids[0])/audio", headers: [.range: "bytes=-100"])
            #expect(suffix.status == .partialContent && Data(buffer: suffix.body) == audio.suffix(100))
            let beyond = try await supervisor.request(.get, "/recordings/\(ids[0])/audio", headers: [.range: "bytes=0-999999"])
            #expect(beyond.headers[.contentRange] == "bytes 0-\(size - 1)/\(size)")
            for invalid in ["bytes=abc", "bytes=\(size)-", "bytes=500-100", "items=0-1", "bytes=-0", "bytes=--1"] {
                let response = try await supervisor.request(.get, "/recordings/\(ids[0])/audio", headers: [.range: invalid])
                #expect(response.status == .rangeNotSatisfiable && response.headers[.contentRange] == "bytes */\(size)", "\(invalid)")
            }
            let download = try await supervisor.request(.get, "/recordings/\(ids[0])/audio?download=1")
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"call-1.wav\"")
            // Plays are logged when they start (no range, or from byte 0), not on every seek; downloads always.
            #expect(try await rowCount(db, "SELECT count(*) FROM audit_log WHERE action = 'recording.play' AND object_id = \("\(ids[0])")") == 3)
            #expect(try await rowCount(db, "SELECT count(*) FROM audit_log WHERE action = 'recording.download'") == 1)
            #expect(try await supervisor.request(.get, "/recordings/999999/audio").status == .notFound)

            // Several as one ZIP with an index.
            let zip = try await supervisor.request(.post, "/recordings/zip", form: ["_csrf": supervisor.token, "id_\(ids[0])": "1", "id_\(ids[1])": "1", "id_x": "1"])
            #expect(zip.status == .ok && zip.headers[.contentType] == "application/zip")
            let archive = try Archive(data: Data(buffer: zip.body), accessMode: .read)
            let names = archive.map(\.path).sorted()
            #expect(names.count == 3 && names.contains("index.csv"))
            var index = Data()
            _ = try archive.extract(try #require(archive["index.csv"])) { index.append($0) }
            #expect(String(decoding: index, as: UTF8.self).split(separator: "\r\n").count == 3)
            if let wav = names.first(where: { $0.hasSuffix("call-1.wav") }), let entry = archive[wav] {
                var extracted = Data()
                _ = try archive.extract(entry) { extracted.append($0) }
                #expect(extracted == audio)
            } else {
                Issue.record("call-1.wav is in the ZIP: \(names)")
            }
            #expect(try await rowCount(db, "SELECT count(*) FROM audit_log WHERE action = 'recording.download' AND details->>'zip' = 'yes'") == 2)
            #expect(try await supervisor.request(.post, "/recordings/zip", form: ["_csrf": supervisor.token]).status == .badRequest)
            #expect(try await supervisor.request(.post, "/recordings/zip", form: ["id_\(ids[0])": "1"]).status == .forbidden, "CSRF")
            var many = ["_csrf": supervisor.token]
            for n in 1...201 { many["id_\(n)"] = "1" }
            #expect(try await supervisor.request(.post, "/recordings/zip", form: many).status == .contentTooLarge)

            // Retention of 30 days: the 40-day-old recording of an open complaint stays, the other goes.
            try await db.query("INSERT INTO settings (key, value) VALUES ('recordings.retention_days', '\"30\"')")
            try await db.query("""
                INSERT INTO appeals (year, seq, source, phone, category_code, text, status, call_id)
                SELECT 2026, 50, 'call', '+998901234567', 'complaint', 'shikoyat', 'in_progress', call_id FROM recordings WHERE id = \(ids[2])
                """)
            #expect(try await RecordingRetention.purge(db, logger: Logger(label: "t")) == 1)
            #expect(try await rowCount(db, "SELECT count(*) FROM recordings WHERE purged_at IS NOT NULL AND storage_path IS NULL AND id = \(ids[1])") == 1)
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("call-2.wav").path))
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("call-3.wav").path))
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("call-1.wav").path))
            #expect(try await supervisor.request(.get, "/recordings/\(ids[1])/audio").status == .gone)
            #expect(try await RecordingRetention.purge(db, logger: Logger(label: "t")) == 0, "nothing twice")
        }
    }

    // MARK: quality evaluation

    @Test func qualitySampleScoreAndOperatorsOwnView() async throws {
        try await BackOffice.run { world, client in
            let db = world.database
            try await QualityForms.seed(db, logger: Logger(label: "t"))
            try await QualityForms.seed(db, logger: Logger(label: "t"))
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_criteria") == 5)
            for (n, op) in [(1, "operator"), (2, "operator"), (3, "operator2")] {
                try await db.query("""
                    WITH c AS (INSERT INTO calls (asterisk_node, channel_id, caller_number, started_at, answered_at, ended_at, talk_seconds, operator_id, outcome)
                               VALUES ('ast1', \("q\(n)"), '+998901234567', now() - interval '1 day', now() - interval '1 day', now(), 60, \(world.operators[op]!), 'answered') RETURNING id)
                    INSERT INTO recordings (call_id, name, asterisk_node, state, storage_path) SELECT id, \("q-\(n)"), 'ast1', 'done', '/nonexistent' FROM c
                    """)
            }
            let supervisor = Visitor(client)
            try await supervisor.signIn("supervisor")
            #expect(try await supervisor.request(.post, "/qa/sample", form: ["_csrf": supervisor.token, "per_operator": "1"]).headers[.location] == "/qa?sampled=2")
            #expect(try await supervisor.request(.post, "/qa/sample", form: ["_csrf": supervisor.token, "per_operator": "5"]).headers[.location] == "/qa?sampled=1",
                    "the one call not yet sampled; none twice")
            #expect(try await supervisor.request(.post, "/qa/sample", form: ["_csrf": supervisor.token, "per_operator": "500"]).headers[.location] == "/qa?sampled=0")
            let evaluation = try #require(try await db.query("""
                SELECT e.id FROM qa_evaluations e JOIN operators o ON o.id = e.operator_id WHERE o.id = \(world.operators["operator"]!) ORDER BY e.id LIMIT 1
                """).decode(Int64.self).first { _ in true })
            let criteria = try await db.query("SELECT id FROM qa_criteria ORDER BY sort").decode(Int64.self).reduce(into: [Int64]()) { $0.append($1) }
            // Weights 1, 2, 3, 2, 1; points 5, 4, 3, 5, 2 of 5 → (1 + 1.6 + 1.8 + 2 + 0.4) / 9 = 75.56 %.
            var form = ["_csrf": supervisor.token]
            for (id, points) in zip(criteria, [5, 4, 3, 5, 2]) { form["points_\(id)"] = "\(points)" }
            form["comment_\(criteria[1])"] = "<b>Juda xushmuomala</b>"
            let page = try await supervisor.request(.get, "/qa/evaluations/\(evaluation)")
            #expect(page.status == .ok && String(buffer: page.body).contains("Inson qadri"))
            var bad = form
            bad["points_\(criteria[0])"] = "9"
            #expect(try await supervisor.request(.post, "/qa/evaluations/\(evaluation)", form: bad).status == .unprocessableContent)
            var missingCritical = form
            missingCritical["points_\(criteria[2])"] = "na"
            missingCritical["finalize"] = "1"
            #expect(try await supervisor.request(.post, "/qa/evaluations/\(evaluation)", form: missingCritical).status == .unprocessableContent)
            // A draft saved while listening comes back where the player was (a hostile position is ignored).
            var draft = form
            draft["position"] = "42.4"
            let saved = try await supervisor.request(.post, "/qa/evaluations/\(evaluation)", form: draft)
            #expect(saved.status == .seeOther && saved.headers[.location] == "/qa/evaluations/\(evaluation)?t=42.4")
            let resumed = String(buffer: try await supervisor.request(.get, "/qa/evaluations/\(evaluation)?t=42.4").body)
            #expect(resumed.contains("/audio#t=42.4") && resumed.contains("value=\"42.4\""))
            draft["position"] = "javascript:alert(1)"
            #expect(try await supervisor.request(.post, "/qa/evaluations/\(evaluation)", form: draft).headers[.location] == "/qa/evaluations/\(evaluation)")
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_evaluations WHERE id = \(evaluation) AND status = 'draft' AND total_score = 75.56") == 1)
            #expect(String(buffer: try await supervisor.request(.get, "/qa/evaluations/\(evaluation)").body).contains("data-confirm="), "finishing asks first")
            form["finalize"] = "1"
            #expect(try await supervisor.request(.post, "/qa/evaluations/\(evaluation)", form: form).status == .seeOther)
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_evaluations WHERE id = \(evaluation) AND status = 'final' AND total_score = 75.56 AND NOT critical_failed") == 1)
            // Final is final.
            form["points_\(criteria[0])"] = "0"
            try await supervisor.request(.post, "/qa/evaluations/\(evaluation)", form: form)
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_evaluations WHERE id = \(evaluation) AND total_score = 75.56") == 1)
            // A failed critical criterion (legal explanation 2 of 5) fails the evaluation.
            #expect(QualityForms.score([(5, 5, 1, false), (5, 5, 2, true), (2, 5, 3, true), (5, 5, 2, false), (5, 5, 1, false)]) == (0, true))
            #expect(QualityForms.score([(nil, 5, 1, false), (5, 5, 2, true), (5, 5, 3, true), (nil, 5, 2, false), (nil, 5, 1, false)]) == (100, false),
                    "not applicable criteria do not count")

            // The operator sees their own evaluation, not another's; acknowledges it.
            let op = Visitor(client)
            try await op.signIn("operator")
            let mine = String(buffer: try await op.request(.get, "/qa/mine").body)
            #expect(mine.contains("75.6"))
            #expect(try await op.request(.get, "/qa/evaluations/\(evaluation)").status == .ok)
            let other = try #require(try await db.query("SELECT id FROM qa_evaluations WHERE operator_id = \(world.operators["operator2"]!)").decode(Int64.self).first { _ in true })
            #expect(try await op.request(.get, "/qa/evaluations/\(other)").status == .notFound)
            #expect(String(buffer: try await op.request(.get, "/qa/evaluations/\(evaluation)").body).contains("&lt;b&gt;Juda xushmuomala"))
            try await op.request(.post, "/qa/evaluations/\(evaluation)/acknowledge", form: ["_csrf": op.token])
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_evaluations WHERE id = \(evaluation) AND acknowledged_at IS NOT NULL") == 1)
            // Supervisors' overview: per operator and team, and the trend.
            let overview = String(buffer: try await supervisor.request(.get, "/qa").body)
            #expect(overview.contains("101 Test operator") && overview.contains("75.6"))
            // The dtm role reviews answers and evaluations but does not score.
            let dtm = Visitor(client)
            try await dtm.signIn("dtm")
            #expect(try await dtm.request(.get, "/qa/answers").status == .ok)
            #expect(try await dtm.request(.post, "/qa/evaluations/\(other)", form: ["_csrf": dtm.token]).status == .forbidden)
            #expect(try await rowCount(db, "SELECT count(*) FROM audit_log WHERE action = 'qa.finalize'") == 1)

            // A new version of the form: validated, becomes the active one; earlier evaluations keep theirs.
            #expect(String(buffer: try await supervisor.request(.get, "/qa/forms").body).contains("Inson qadri"))
            var version = ["_csrf": supervisor.token, "name": "Imtihon davri 2027", "uz_0": "Salomlashish", "ru_0": "Приветствие", "max_0": "5", "weight_0": "1",
                           "uz_1": "Inson qadri", "ru_1": "Уважение", "max_1": "5", "weight_1": "3", "critical_1": "1"]
            for n in 2..<10 { version["uz_\(n)"] = ""; version["ru_\(n)"] = "" }
            var broken = version
            broken["max_1"] = "50"
            let refused = try await supervisor.request(.post, "/qa/forms?lang=ru", form: broken)
            #expect(refused.status == .unprocessableContent && String(buffer: refused.body).contains("балл 1–10"))
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_forms") == 1)
            #expect(try await supervisor.request(.post, "/qa/forms", form: version).headers[.location] == "/qa/forms?saved=1")
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_forms WHERE active AND name = 'Imtihon davri 2027'") == 1)
            #expect(try await rowCount(db, "SELECT count(*) FROM qa_forms WHERE active") == 1)
            #expect(try await supervisor.request(.post, "/qa/forms", form: version).status == .unprocessableContent, "a name is used once")
            #expect(try await op.request(.get, "/qa/forms").status == .forbidden)
            #expect(String(buffer: try await supervisor.request(.get, "/qa/evaluations/\(evaluation)?lang=uz").body).contains("Huquqiy tushuntirish"),
                    "the finished evaluation still shows the criteria it was scored on")
        }
    }

    // MARK: wallboard and supervision

    @Test func wallboardShowsLiveCallsAndASupervisorListens() async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let sim = try #require(world.simulator), center = try #require(world.center)
            let op = Visitor(client)
            try await op.signIn("operator")
            try await op.request(.post, "/panel/state", form: ["_csrf": op.token, "state": "ready"])
            let supervisor = Visitor(client)
            try await supervisor.signIn("supervisor")
            let channel = try await callAndChoose(sim, center, choice: "3")
            let clock = ContinuousClock(), deadline = clock.now.advanced(by: .seconds(10))
            var snapshot: WallboardSnapshot?
            while clock.now < deadline {
                let response = try await supervisor.request(.get, "/wallboard/state")
                snapshot = try JSONDecoder().decode(WallboardSnapshot.self, from: Data(buffer: response.body))
                if snapshot?.calls.contains(where: { $0.phase == "talking" }) == true { break }
                try await Task.sleep(for: .milliseconds(300))
            }
            let live = try #require(snapshot)
            let call = try #require(live.calls.first { $0.phase == "talking" })
            #expect(call.number == "+998901112233" && call.language == "uz" && call.operatorName == "Test operator")
            #expect(live.agentsByState["on_call"] == 1)
            #expect(live.agents.contains { $0.ext == "101" && $0.state == "on_call" })

            // The page and its event stream.
            let page = String(buffer: try await supervisor.request(.get, "/wallboard").body)
            #expect(page.contains("wallboard.js") && page.contains("monitor-form"))
            let port = try #require(client.port)
            let cookie = supervisor.cookies.withLock { $0.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/wallboard/events")
            request.headers.add(name: "Cookie", value: cookie)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
            var text = ""
            for try await chunk in response.body {
                text += String(buffer: chunk)
                if text.contains("event: state\ndata: ") && text.hasSuffix("\n\n") && text.contains("\"phase\":\"talking\"") { break }
            }
            #expect(text.contains("\"number\":\"+998901112233\""))

            // Listening: the supervisor's phone (201) is called and a snoop is made on the operator's leg.
            await sim.setPhone("201", .init(answerAfterMs: 100))
            let dtm = Visitor(client)
            try await dtm.signIn("dtm")
            #expect(try await dtm.request(.post, "/wallboard/monitor", form: ["_csrf": dtm.token, "call": call.id, "mode": "listen", "extension": "201"]).status == .forbidden)
            #expect(try await supervisor.request(.post, "/wallboard/monitor", form: ["_csrf": supervisor.token, "call": call.id, "mode": "listen", "extension": "20;1"])
                .headers[.location] == "/wallboard?error=extension")
            #expect(try await supervisor.request(.post, "/wallboard/monitor", form: ["_csrf": supervisor.token, "call": UUID().uuidString, "mode": "listen", "extension": "201"])
                .headers[.location] == "/wallboard?error=call")
            #expect(try await supervisor.request(.post, "/wallboard/monitor", form: ["_csrf": supervisor.token, "call": call.id, "mode": "shout", "extension": "201"])
                .headers[.location] == "/wallboard?error=mode")
            let started = try await supervisor.request(.post, "/wallboard/monitor", form: ["_csrf": supervisor.token, "call": call.id, "mode": "listen", "extension": "201"])
            #expect(started.headers[.location] == "/wallboard?monitor=listen")
            let until = clock.now.advanced(by: .seconds(5))
            while clock.now < until {
                let seen = await sim.receivedRequests()
                if seen.contains(where: { $0.path.hasSuffix("/snoop") }) && seen.contains(where: { $0.query["endpoint"] == "PJSIP/201" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let requests = await sim.receivedRequests()
            #expect(requests.contains { $0.path.hasSuffix("/snoop") && $0.query["spy"] == "both" })
            #expect(requests.contains { $0.method == "POST" && $0.query["endpoint"] == "PJSIP/201" }, "the supervisor's phone is called")
            #expect(try await rowCount(world.database, "SELECT count(*) FROM audit_log WHERE action = 'call.monitor' AND details->>'mode' = 'listen'") == 1)
            try await sim.remoteHangup(channel)
            _ = center
        }
    }
}
