import ArgumentParser
import ARI
import AsteriskLab
import CallCenter
import Foundation
import Logging
import PostgresNIO
import Storage

extension MurojaatCommand.Bench {
    /// Real SIP calls through a real Asterisk (`../shared/asterisk` or `MUROJAAT_TEST_ASTERISK`) driven by this
    /// process's call flow, with sipp as the callers and as every operator's phone, all on this machine's loopback:
    /// what callers and operators wait for, what Asterisk and the app spend, and whether every call was recorded
    /// whole.
    struct Asterisk: AsyncCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive real SIP calls through a real Asterisk with sipp and print the latencies callers and operators feel, CPU and recordings.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Calls in progress at once (sipp's limit).") var concurrency = 100
        @Option(help: "Calls in total (default: three per concurrent call).") var total: Int?
        @Option(help: "Operator phones 101… (default: three quarters of the concurrency; two thirds of them take Uzbek calls).")
        var operators: Int?
        @Option(help: "Seconds an operator talks before hanging up.") var talkSeconds = 30
        @Option(help: "New calls a second.") var rate = 10

        func runAsync() async throws {
            print(BenchRun.header())
            if let reason = RealAsterisk.unavailableReason { throw ValidationError(reason) }
            var config = try options.load()
            let total = self.total ?? concurrency * 3
            let operators = self.operators ?? max(1, concurrency * 3 / 4)
            var quiet = Logger(label: "murojaat.bench")
            quiet.logLevel = .error
            let prompts = try RealAsterisk.writePrompts(PromptCatalog.all.map(\.name) + ["unavailable"])
            defer { try? FileManager.default.removeItem(at: prompts) }
            let phonePort = try FreePort.udp()
            // Two RTP ports per channel: callers, operators' legs, and room for the recorders and what is ending.
            let asterisk = try RealAsterisk.start(sounds: prompts, phones: (operators, phonePort), rtpPorts: max(200, 4 * (concurrency + operators) + 200))
            defer { asterisk.stop() }
            let phones = try SIPp.phone("101", port: phonePort, mode: .answerAndHangUp(afterMs: 300, hangupAfterMs: talkSeconds * 1000),
                                        limit: operators + 50)
            defer { phones.stop() }
            let copies = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-bench-copies-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: copies) }
            config.ariServers = [asterisk.ari]

            let database = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: quiet)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                defer { group.cancelAll() }
                try await DemoData.prepareForMeasurement(database, operators: operators, logger: quiet)
                // Operators of an earlier, larger run have no phone on this Asterisk: they are not at work.
                try await database.query("""
                    UPDATE operators SET state = 'offline'
                    WHERE CASE WHEN extension ~ '^[0-9]{1,6}$' THEN extension::int NOT BETWEEN 101 AND \(100 + operators) ELSE true END
                    """, logger: quiet)
                let store = PostgresCallStore(client: database, logger: quiet)
                let journal = CallJournal(store: store, logger: quiet)
                var settings = config.callFlow
                settings.wrapUpSeconds = 0
                let latencies = LatencyRecorder()
                let center = CallCenter(settings: settings, journal: journal, recordingsDirectory: copies, latencies: latencies, logger: quiet)
                let connection = ARIEventConnection(configuration: asterisk.ari, eventTypes: CallCenter.handledEventTypes,
                                                    eventLoop: center.eventLoop, logger: quiet)
                center.attach(connection)
                await center.addServer(asterisk.ari.name, client: ARIClient(connection: connection))
                let operatorList = try await store.loadOperators()
                await center.loadOperators(operatorList)
                group.addTask { try await connection.run() }
                group.addTask { try await journal.run() }
                // Connected, and the phones' states read (at connect and every 5 s).
                let ready = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < ready, !(connection.isConnected && connection.restOverWebSocket) {
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await Task.sleep(for: .seconds(6))
                var reachable = 0
                for info in operatorList where await center.phoneReachability(info.id) { reachable += 1 }
                print("operator phones reachable: \(reachable) of \(operatorList.count)")

                let runStarted = Date()
                let appBefore = Calls.usage().cpu
                let threadsBefore = Calls.threadCPU()
                let asteriskBefore = Self.cpuSeconds(asterisk.pid)
                // The language menu (1: Uzbek), then the topic menu (1: registration): into the queue, talking from
                // the answer on; the operator hangs up after talking.
                let callers = try SIPp.call(sipPort: asterisk.sipPort, from: "99890", steps: [.talk, .pause(1500), .digit("1"), .pause(1500), .digit("1")],
                                            holdSeconds: talkSeconds * 6 + 60,
                                            load: SIPp.Load(total: total, concurrency: concurrency, rate: rate))
                defer { callers.stop() }
                // CPU a second at a time while the calls run: the peak is what saturates a core.
                var peakAsterisk = 0.0, peakApp = 0.0
                var lastAsterisk = asteriskBefore, lastApp = appBefore
                let clock = ContinuousClock()
                let start = clock.now
                while callers.isRunning, clock.now - start < .seconds(total / max(1, rate) + talkSeconds * 8 + 180) {
                    try await Task.sleep(for: .seconds(1))
                    let a = Self.cpuSeconds(asterisk.pid), m = Calls.usage().cpu
                    peakAsterisk = max(peakAsterisk, a - lastAsterisk)
                    peakApp = max(peakApp, m - lastApp)
                    (lastAsterisk, lastApp) = (a, m)
                }
                let seconds = (clock.now - start).components.seconds
                let status = await callers.wait(timeout: 5)
                let asteriskCPU = Self.cpuSeconds(asterisk.pid) - asteriskBefore
                let appCPU = Calls.usage().cpu - appBefore
                let threadsAfter = Calls.threadCPU()
                let rtt = SIPp.responseTimes(callers).sorted()
                try? await Task.sleep(for: .seconds(2))
                _ = await center.finishCopies(timeout: .seconds(120))
                _ = await journal.flush(timeout: .seconds(60))
                var recordings = "n/a"
                var completed = 0
                for try await (calls, answered, done, whole, shortest, longest) in try await database.query("""
                    SELECT count(*)::int, count(*) FILTER (WHERE c.answered_at IS NOT NULL)::int,
                           count(*) FILTER (WHERE c.answered_at IS NOT NULL AND r.state = 'done')::int,
                           count(*) FILTER (WHERE r.state = 'done' AND abs(r.duration_seconds - c.talk_seconds) <= 1)::int,
                           coalesce(min(r.duration_seconds - c.talk_seconds), 0)::int, coalesce(max(r.duration_seconds - c.talk_seconds), 0)::int
                    FROM calls c LEFT JOIN recordings r ON r.call_id = c.id WHERE c.started_at >= \(runStarted)
                    """, logger: quiet).decode((Int, Int, Int, Int, Int, Int).self) {
                    completed = calls
                    recordings = "\(done) of \(answered) answered calls recorded; \(whole) within 1 s of the talk time "
                        + "(recording − talk: \(shortest) s … \(longest) s)"
                }
                func at(_ values: [Double], _ p: Int) -> String {
                    values.isEmpty ? "n/a" : String(format: "%.1f ms", values[min(values.count - 1, values.count * p / 100)])
                }
                let perCall = { (cpu: Double) in String(format: "%.2f", cpu / Double(max(1, completed)) * 1000) }
                print("""
                    bench asterisk: Asterisk 22 from \(RealAsterisk.install?.path ?? "?"), sipp callers and phones, \(concurrency) calls at once, \(total) in total, \(rate) new a second, \(operators) operator phones, \(talkSeconds) s of talk, every call recorded
                    calls:                       \(completed) in \(seconds) s; sipp callers exit status \(status.map(String.init) ?? "still running")
                    caller INVITE → 200 OK:      p50 \(at(rtt, 50)), p99 \(at(rtt, 99)), max \(at(rtt, 100)) (\(rtt.count) calls, as sipp saw it)
                    StasisStart → answered:      \(latencies.summary(.answer))
                    digit → prompt playing:      \(latencies.summary(.prompt))
                    operator free → originated:  \(latencies.summary(.routing))
                    operator answer → bridged:   \(latencies.summary(.bridge))
                    Asterisk CPU:                \(perCall(asteriskCPU)) s per 1,000 calls; \(Int(asteriskCPU * 100 / Double(max(1, seconds)))) % of one core on average, \(Int(peakAsterisk * 100)) % in the busiest second
                    murojaat CPU:                \(perCall(appCPU)) s per 1,000 calls; \(String(format: "%.1f", appCPU * 100 / Double(max(1, seconds)))) % of one core on average, \(Int(peakApp * 100)) % in the busiest second (this process: call flow, journal, recording copies, and the benchmark's own sampling)
                      by thread:                 \(Calls.threadBreakdown(before: threadsBefore, after: threadsAfter, calls: max(1, completed)))
                    recordings:                  \(recordings)
                    journal backlog at the end:  \(journal.backlog)
                    """)
                let warnings = asterisk.logTail(4000).split(separator: "\n").filter { $0.contains("WARNING") }
                let voice = warnings.filter { $0.contains("Exceptionally long") }.count
                let overload = warnings.filter { $0.contains("Taskprocessor") || $0.contains("taskprocessor") }.count
                print("Asterisk warnings:           \(warnings.count) (\(voice) 'Exceptionally long voice queue', \(overload) task processor)")
            }
        }

        /// Asterisk's CPU seconds so far, from `/proc/<pid>/stat` (user and system, in clock ticks).
        static func cpuSeconds(_ pid: Int32) -> Double {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { return 0 }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // After the name: state is field 3, utime 14 and stime 15 → indices 11 and 12 here.
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }
}
