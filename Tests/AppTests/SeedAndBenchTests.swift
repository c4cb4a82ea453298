import Foundation
import PostgresNIO
import Testing

/// `murojaat seed` fills a database for measurements and builds the statistics roll-up; `murojaat bench
/// pages` prints how long the report pages take on it (run on a year of data for the figures in the notes).
@Suite("Seeding and the page benchmark", .serialized)
struct SeedAndBenchTests {
    static func run(_ arguments: [String], database: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = ShutdownTests.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["MUROJAAT_DATABASE_URL"] = database
        environment["MUROJAAT_TEMPLATES_DIR"] = ShutdownTests.binary.deletingLastPathComponent().appendingPathComponent("../../Templates").standardized.path
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output // what went wrong shows in the expectation's message
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func seedBuildsTheRollUpAndTheBenchTimesTheReport() async throws {
        try await withMigratedDatabase { database in
            let url = "postgres://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
            let (seeded, seedOutput) = try Self.run(["seed", "--calls", "3000"], database: url)
            #expect(seeded == 0, "seed: \(seedOutput)")
            #expect(seedOutput.contains("statistics roll-up:"))
            try await withPostgres(database) { client in
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 3000)
                // The roll-up holds every finished inbound call exactly once.
                let rolled = try await rowCount(client, "SELECT coalesce(sum(calls), 0)::int FROM call_stats_daily")
                let finished = try await rowCount(client, "SELECT count(*) FROM calls WHERE direction = 'inbound' AND outcome <> 'in_progress'")
                #expect(rolled == finished && finished > 2900)
                let rolledAnswered = try await rowCount(client, "SELECT coalesce(sum(answered), 0)::int FROM call_stats_daily")
                let answered = try await rowCount(client, "SELECT count(*) FROM calls WHERE outcome IN ('answered', 'callback_done')")
                #expect(rolledAnswered == answered && answered > 0)
                // A hotline's shape: the admission campaign's months (July, August) carry several times the calls of a
                // quiet month (October), callers come back, operators wrap up after every call and pause every day.
                let summer = try await rowCount(client, "SELECT count(*)::int FROM calls WHERE extract(month FROM started_at AT TIME ZONE 'Asia/Tashkent') IN (7, 8)")
                let october = try await rowCount(client, "SELECT count(*)::int FROM calls WHERE extract(month FROM started_at AT TIME ZONE 'Asia/Tashkent') = 10")
                #expect(summer > october * 6, "July and August \(summer), October \(october)")
                #expect(try await rowCount(client, "SELECT count(*)::int FROM calls WHERE repeated") > 0)
                #expect(try await rowCount(client, "SELECT count(*)::int FROM agent_state_log WHERE state = 'wrap_up'") == answered)
                #expect(try await rowCount(client, "SELECT count(*)::int FROM agent_state_log WHERE state = 'paused'") > 0)
                #expect(try await rowCount(client, "SELECT count(*)::int FROM agent_stats_daily") > 0)
            }
            // Seeding again adds calls, and each call and each day still has one wrap-up and one set of pauses.
            let (again, againOutput) = try Self.run(["seed", "--calls", "500"], database: url)
            #expect(again == 0, "seed: \(againOutput)")
            try await withPostgres(database) { client in
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 3500)
                let answered = try await rowCount(client, "SELECT count(*)::int FROM calls WHERE outcome IN ('answered', 'callback_done')")
                #expect(try await rowCount(client, "SELECT count(*)::int FROM agent_state_log WHERE state = 'wrap_up'") == answered)
                #expect(try await rowCount(client, """
                    SELECT count(*)::int FROM (SELECT operator_id, reason, (started_at AT TIME ZONE 'Asia/Tashkent')::date, extract(hour FROM started_at AT TIME ZONE 'Asia/Tashkent')
                                               FROM agent_state_log WHERE state = 'paused' GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) twice
                    """) == 0)
            }
            let (benched, benchOutput) = try Self.run(["bench", "pages", "--repeats", "2"], database: url)
            #expect(benched == 0, "bench: \(benchOutput)")
            #expect(benchOutput.contains("/stats?from=") && benchOutput.contains("p99"), "\(benchOutput)")
            #expect(benchOutput.contains("/calls?from=") && benchOutput.contains("/stats/forecast"))
        }
    }

    /// `murojaat bench calls` on a small load: every call completes and is recorded, and the CPU is told apart by
    /// thread (the call flow's and the copies' loops are named), so the figures in the notes can be trusted.
    @Test func theCallBenchRecordsEveryCallAndCountsCPUByThread() async throws {
        try await withMigratedDatabase { database in
            let url = "postgres://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)"
            // A light load (the other suites run meanwhile, some of them timing what they test).
            let (status, output) = try Self.run(["bench", "calls", "--total", "30", "--concurrency", "5", "--operators", "5",
                                                 "--talk-ms", "300", "--time-scale", "1", "--share-cores", "--port", "18391"], database: url)
            #expect(status == 0, "bench: \(output)")
            #expect(output.contains("calls completed:            30 in"), "\(output)")
            // Every answered call recorded and copied (all 30 are answered unless one rang out under load).
            let recordings = output.split(separator: "\n").first { $0.hasPrefix("recordings:") }.map(String.init) ?? ""
            let numbers = recordings.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(numbers.count >= 5 && numbers[0] == numbers[1] && numbers[0] >= 25 && numbers[2] == 0 && numbers[3] == numbers[0], "\(recordings)")
            let line = output.split(separator: "\n").first { $0.contains("by thread:") }.map(String.init) ?? ""
            let figures = Dictionary(uniqueKeysWithValues: line.split(separator: ":", maxSplits: 1).last.map {
                $0.split(separator: ",").compactMap { part -> (String, Double)? in
                    let words = part.split(separator: " ")
                    guard words.count >= 2, let value = Double(words[words.count - 2]) else { return nil }
                    return (words.dropLast(2).joined(separator: " "), value)
                }
            } ?? [])
            #expect(Set(figures.keys) == ["call flow", "shared pool", "recording copies", "shared I/O loops"], "\(line)")
            #expect((figures["call flow"] ?? 0) > 0 && (figures["recording copies"] ?? 0) > 0, "\(line)")
        }
    }
}
