import ArgumentParser
import Foundation
import Logging
import PostgresNIO

extension MurojaatCommand {
    struct Stats: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Statistics upkeep.", subcommands: [Rebuild.self])
        func runAsync() async throws { print(Self.helpMessage()) }
    }
}

extension MurojaatCommand.Stats {
    /// Rebuilds the daily roll-up for a period, e.g. after the answer threshold setting changed.
    struct Rebuild: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild the statistics roll-ups: daily, monthly and by region (default: the last 400 days).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "First day, yyyy-MM-dd.") var from: String?
        @Option(help: "Last day, yyyy-MM-dd.") var to: String?

        func runAsync() async throws {
            let config = try options.load()
            let zone = config.timeZone
            let first = from ?? StatsRollup.day(Date().addingTimeInterval(-400 * 86400), zone)
            let last = to ?? StatsRollup.day(Date(), zone)
            guard StatsFilter.isDay(first), StatsFilter.isDay(last), first <= last else { throw ValidationError("give days as yyyy-MM-dd, --from before --to") }
            let logger = Logger(label: "murojaat.stats")
            let client = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let threshold = try await NotificationSettings.load(client, logger: logger).answerThresholdSeconds
                let started = Date()
                let rows = try await StatsRollup.rebuild(client, from: first, to: last, timeZone: zone, thresholdSeconds: threshold, logger: logger)
                print("roll-up rebuilt for \(first) … \(last): \(rows) rows in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            }
        }
    }
}
