import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Background upkeep: the statistics roll-up of today and yesterday every minute, the recordings'
/// retention every hour, and the weekly quality sample once per week.
public final class MaintenanceService: Service, Sendable {
    let database: PostgresClient
    let timeZone: TimeZone
    let logger: Logger
    let interval: Double

    public init(database: PostgresClient, timeZone: TimeZone, interval: Double = 60, logger: Logger) {
        self.database = database
        self.timeZone = timeZone
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // At start, the last 35 days (this month and the last, which the monthly report needs) are
            // rebuilt, in case calls were written while no process was rolling them up.
            // Each step on its own: one that fails does not keep the others from running.
            let steps: [(String, @Sendable () async throws -> Void)] = [
                ("operators' time", { try await self.backfillAgentTime() }),
                ("regions", {
                    try await StatsRollup.fillRegions(self.database, timeZone: self.timeZone,
                                                      thresholdSeconds: try await NotificationSettings.load(self.database, logger: self.logger).answerThresholdSeconds,
                                                      logger: self.logger)
                }),
                ("last 35 days", { try await self.rollUp(days: 35) }),
            ]
            for (name, step) in steps {
                do {
                    try await step()
                } catch {
                    self.logger.warning("statistics roll-up at start failed", metadata: ["step": "\(name)", "error": "\(String(reflecting: error))"])
                }
            }
            var ticks = 0
            while !Task.isCancelled {
                do {
                    try await self.rollUp()
                    if ticks % 60 == 0 {
                        let purged = try await RecordingRetention.purge(self.database, logger: self.logger)
                        if purged > 0 { self.logger.notice("recordings past retention purged", metadata: ["count": "\(purged)"]) }
                        try await self.weeklySample()
                    }
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("maintenance step failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                ticks += 1
                try? await Task.sleep(nanoseconds: UInt64(self.interval * 1e9))
            }
        }
    }

    /// Once, after the upgrade that brought the operators' daily time (`agent_stats_daily`): every day since the first
    /// wrap-up or pause is rolled up, so that older reports keep their wrap-up and pause time.
    func backfillAgentTime() async throws {
        var first: Date?
        for try await value in try await database.query("""
            SELECT min(started_at) FROM agent_state_log WHERE state IN ('wrap_up', 'paused')
              AND NOT EXISTS (SELECT 1 FROM agent_stats_daily)
            """, logger: logger).decode(Date?.self) { first = value }
        guard let first else { return }
        let from = StatsRollup.day(first, timeZone), to = StatsRollup.day(Date(), timeZone)
        let threshold = try await NotificationSettings.load(database, logger: logger).answerThresholdSeconds
        try await StatsRollup.rebuild(database, from: from, to: to, timeZone: timeZone, thresholdSeconds: threshold, logger: logger)
        logger.notice("operators' wrap-up and pause time rolled up", metadata: ["from": "\(from)", "to": "\(to)"])
    }

    func rollUp(days: Int = 2) async throws {
        let today = StatsRollup.day(Date(), timeZone)
        let first = StatsRollup.day(Date().addingTimeInterval(-Double(days - 1) * 86400), timeZone)
        try await StatsRollup.rebuild(database, from: first, to: today, timeZone: timeZone, thresholdSeconds: try await NotificationSettings.load(database, logger: logger).answerThresholdSeconds, logger: logger)
    }

    /// Once per ISO week: a sample of each operator's calls for the team supervisors (the first active one).
    func weeklySample() async throws {
        var done = false
        for try await _ in try await database.query("""
            SELECT 1 FROM qa_evaluations WHERE created_at >= date_trunc('week', now()) LIMIT 1
            """, logger: logger).decode(Int.self) { done = true }
        guard !done else { return }
        var evaluator: Int64?
        for try await id in try await database.query("SELECT id FROM users WHERE role = 'supervisor' AND active ORDER BY id LIMIT 1", logger: logger)
            .decode(Int64.self) { evaluator = id }
        guard let evaluator else { return }
        let perOperator = try await NotificationSettings.load(database, logger: logger).int("qa.sample_per_operator")
            .flatMap { (1...20).contains($0) ? $0 : nil } ?? 3
        let created = try await QualityForms.sample(database, evaluator: evaluator, perOperator: perOperator, logger: logger)
        if created > 0 { logger.info("weekly quality sample drawn", metadata: ["evaluations": "\(created)"]) }
    }
}
