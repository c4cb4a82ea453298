import ArgumentParser
import ARI
import AsteriskSimulator
import AsyncHTTPClient
import CallCenter
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Storage
#if canImport(Glibc)
import Glibc
#endif

extension MurojaatCommand {
    struct Bench: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Benchmarks.", subcommands: [Calls.self, Pages.self, Asterisk.self])
        func runAsync() async throws { print(Self.helpMessage()) }
    }
}

extension MurojaatCommand.Bench {
    /// Calls through IVR → queue → operator → hang-up against the simulator (a separate process, over
    /// real HTTP and WebSocket) with the real call flow and a real PostgreSQL.
    struct Calls: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Drive calls through the whole call flow and print throughput, latency, CPU and memory.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Calls in progress at once.") var concurrency = 300
        @Option(help: "Calls in total.") var total = 10_000
        @Option(help: "Operators (phones 101…).") var operators = 300
        @Option(help: "Simulated milliseconds an operator talks before hanging up.") var talkMs = 2000
        @Option(help: "Real seconds per simulated second in the simulator (below 0.5 it falls behind at 300 calls at once; see the refused requests line).") var timeScale = 0.5
        @Option(help: "Port for the simulator.") var port = 18088
        @Option(help: "Where the run keeps the simulator's recordings and the app's copies (removed at the end; default: /dev/shm when it is a writable memory file system, else the temporary directory).")
        var recordingsDirectory: String?
        @Flag(help: "Send ARI requests over HTTP instead of the events WebSocket.") var http = false
        @Flag(inversion: .prefixedNo, help: "Copy every finished recording from the simulator over ARI into a directory of the run, as the app does in production.")
        var copyRecordings = true
        @Option(help: "Operator panels open, each listening to its operator's events as the operator's screen does (default: one per operator).")
        var panels: Int?
        @Flag(help: "Let the simulator share CPU cores with this process (by default each gets its own, as Asterisk would run on its own machine).")
        var shareCores = false

        func runAsync() async throws {
            print(BenchRun.header())
            var config = try options.load()
            let logger = Logger(label: "murojaat.bench")
            var quiet = logger
            quiet.logLevel = .error
            let password = "bench-\(UInt32.random(in: 1000...9999))"
            // The simulator stands in for Asterisk, 300 phones and every caller, and keeps about one core busy.
            // On the same cores as the app it evicts the app's caches and preempts its threads, which showed as
            // a third more app CPU per call; in production Asterisk has a machine of its own. So the app gets
            // the first CPU and the simulator the others, unless asked otherwise or there is only one CPU.
            let cpus = shareCores ? [] : CoreSplit.available()
            let split = cpus.count >= 2 ? (app: [cpus[0]], simulator: Array(cpus.dropFirst())) : nil
            // The simulator writes a WAV per recorded call (about 200 kB each: 2 GB per 10,000 calls). They go to a
            // directory of this run's own, removed when the run ends, so repeated runs cannot fill the disk.
            // The simulator's WAVs stand for Asterisk's, on Asterisk's own machine. In memory by default: a run
            // removes its thousands of files at the end, and on ext4 the next run's file creations then spent
            // up to 1.5 ms each in the inode allocator passing over recently deleted inodes (a cost of the
            // benchmark's cleanup, not of the product); `--recordings-directory` puts them on a disk.
            let base = recordingsDirectory.map { URL(fileURLWithPath: $0) }
                ?? (FileManager.default.isWritableFile(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory)
            let recordings = base.appendingPathComponent("murojaat-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: recordings, withIntermediateDirectories: true)
            let simulator: Process
            do {
                simulator = try startSimulator(password: password, cpus: split?.simulator, recordings: recordings)
            } catch {
                try? FileManager.default.removeItem(at: recordings)
                throw error
            }
            let coresNote: String
            if let split, CoreSplit.pinThisProcess(to: split.app) {
                coresNote = "this process on CPU \(CoreSplit.describe(split.app)), the simulator on CPU \(CoreSplit.describe(split.simulator))"
            } else {
                coresNote = "shared by this process and the simulator"
            }
            defer {
                // The simulator may be holding long polls open: it gets three seconds, then SIGKILL, so
                // no simulator outlives the bench and shares the port with the next run.
                simulator.terminate()
                let deadline = Date().addingTimeInterval(3)
                while simulator.isRunning && Date() < deadline { usleep(50_000) }
                if simulator.isRunning { kill(simulator.processIdentifier, SIGKILL) }
                try? FileManager.default.removeItem(at: recordings)
            }
            let ari = ARIServerConfiguration(name: "bench", baseURL: "http://127.0.0.1:\(port)/ari", username: "murojaat", password: password,
                                             restOverWebSocket: !http)
            config.ariServers = [ari]
            try await waitForSimulator(ari)

            let database = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: quiet)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                defer { group.cancelAll() }
                try await DemoData.prepareForMeasurement(database, operators: operators, logger: quiet)
                let store = PostgresCallStore(client: database, logger: quiet)
                let journal = CallJournal(store: store, logger: logger)
                var settings = config.callFlow
                settings.wrapUpSeconds = 0
                settings.digitTimeoutSeconds = 2
                let latencies = LatencyRecorder()
                let center = CallCenter(settings: settings, journal: journal,
                                        recordingsDirectory: copyRecordings ? recordings.appendingPathComponent("copies") : nil,
                                        latencies: latencies, logger: quiet)
                let connection = ARIEventConnection(configuration: ari, eventTypes: CallCenter.handledEventTypes,
                                                    eventLoop: center.eventLoop, logger: quiet)
                center.attach(connection)
                await center.addServer(ari.name, client: ARIClient(connection: connection))
                let operatorList = try await store.loadOperators()
                await center.loadOperators(operatorList)
                // Every operator's panel open, as in the centre: each listens to its operator's events.
                let panelTasks = operatorList.prefix(max(0, panels ?? operatorList.count)).map { info in
                    let stream = center.events.subscribe(operatorId: info.id)
                    return Task { var received = 0; for await _ in stream { received += 1 }; return received }
                }
                group.addTask { try await connection.run() }
                group.addTask { try await journal.run() }
                try await Task.sleep(for: .milliseconds(500))

                // The wallboard's snapshot, computed every second during the run as a supervisor's screen would ask for it.
                let web = WebContext(configuration: config, database: database, telephony: TelephonyStatus(servers: []),
                                     templates: try await loadTemplates(config.templatesDirectory), callCenter: center, logger: quiet)
                let feed = WallboardFeed(web: web)
                let wallboard = Task { () -> (times: [Double], maxCalls: Int, maxBytes: Int) in
                    var times: [Double] = [], maxCalls = 0, maxBytes = 0
                    while !Task.isCancelled {
                        let started = ContinuousClock.now
                        if let snapshot = try? await feed.compute() {
                            let elapsed = ContinuousClock.now - started
                            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                            maxCalls = max(maxCalls, snapshot.calls.count)
                            maxBytes = max(maxBytes, (try? JSONEncoder().encode(snapshot).count) ?? 0)
                        }
                        try? await Task.sleep(for: .seconds(1))
                    }
                    return (times, maxCalls, maxBytes)
                }
                let before = Self.usage()
                let threadsBefore = Self.threadCPU()
                let framesBefore = (connection.framesReceived.load(ordering: .relaxed), connection.eventsDelivered.load(ordering: .relaxed),
                                    connection.requestsSent.load(ordering: .relaxed))
                let clock = ContinuousClock()
                let start = clock.now
                let runStarted = Date()
                let completed = try await drive(center: center)
                let elapsed = clock.now - start
                wallboard.cancel()
                for task in panelTasks { task.cancel() }
                var panelEvents = 0
                for task in panelTasks { panelEvents += await task.value }
                let board = await wallboard.value
                let boardTimes = board.times.sorted()
                let after = Self.usage()
                let threadsAfter = Self.threadCPU()
                // After the measurement: reading the simulator's request log costs this process CPU.
                try? await printRequestKinds(calls: completed)
                let answerWaits = await answerWaitsSeenBySimulator()
                let perCall = { (now: Int, then: Int) in String(format: "%.1f", Double(now - then) / Double(max(1, completed))) }
                let frames = "\(perCall(connection.requestsSent.load(ordering: .relaxed), framesBefore.2)) requests over the socket, " +
                    "\(perCall(connection.framesReceived.load(ordering: .relaxed), framesBefore.0)) frames received, " +
                    "\(perCall(connection.eventsDelivered.load(ordering: .relaxed), framesBefore.1)) events handled"
                // The last calls' final events (the operators back to ready) arrive just after the load ends.
                try? await Task.sleep(for: .seconds(1))
                _ = await center.finishCopies(timeout: .seconds(60))
                _ = await journal.flush(timeout: .seconds(60))
                // Every answered call must be recorded: the check that the run was real, not only fast.
                var recordingsNote = "n/a"
                for try await (answered, done, failed, copied, bytes) in try await database.query("""
                    SELECT count(*) FILTER (WHERE c.answered_at IS NOT NULL)::int,
                           count(*) FILTER (WHERE c.answered_at IS NOT NULL AND r.state = 'done')::int, count(*) FILTER (WHERE r.state = 'failed')::int,
                           count(*) FILTER (WHERE r.storage_path IS NOT NULL)::int, coalesce(sum(r.size_bytes), 0)::int8
                    FROM calls c LEFT JOIN recordings r ON r.call_id = c.id WHERE c.started_at >= \(runStarted)
                    """, logger: quiet).decode((Int, Int, Int, Int, Int64).self) {
                    recordingsNote = "\(done) of \(answered) answered calls recorded, \(failed) failed; " + (copyRecordings
                        ? "\(copied) copied from the simulator over ARI (\(bytes / 1_048_576) MiB, into \(base.path))" : "not copied (--no-copy-recordings)")
                }
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let cpu = after.cpu - before.cpu
                func ms(_ v: Double?) -> String { v.map { String(format: "%.2f ms", $0) } ?? "n/a" }
                print("""
                    bench calls: concurrency \(concurrency), total \(total), operators \(operators), talk \(talkMs) ms (simulated), time scale \(timeScale), ARI requests over \(connection.restOverWebSocket ? "the events WebSocket" : "HTTP"), events handled as they arrive
                    calls completed:            \(completed) in \(String(format: "%.1f", seconds)) s
                    calls per second:           \(String(format: "%.1f", Double(completed) / seconds))
                    StasisStart → answered:     \(latencies.summary(.answer))
                      seen by the simulator:    \(answerWaits) (from raising the event to reading the answer request, its own queues included)
                    digit → prompt playing:     \(latencies.summary(.prompt))
                    ready → originate done:     \(latencies.summary(.routing))
                    operator answer → bridged:  \(latencies.summary(.bridge))
                    app CPU per 1,000 calls:    \(String(format: "%.2f", cpu / Double(max(1, completed)) * 1000)) s (this process: call flow, journal, ARI client; callers are generated in the simulator)
                    of which in the kernel:     \(String(format: "%.2f", (after.system - before.system) / Double(max(1, completed)) * 1000)) s; thread switches per call: \(perCall(after.voluntarySwitches, before.voluntarySwitches)) waiting, \(perCall(after.involuntarySwitches, before.involuntarySwitches)) preempted
                      by thread:                \(Self.threadBreakdown(before: threadsBefore, after: threadsAfter, calls: completed))
                    ARI traffic per call:       \(frames)
                    cores:                      \(coresNote)
                    peak memory (RSS):          \(after.maxRSSMiB) MiB
                    recordings:                 \(recordingsNote)
                    operator panels:            \(panelTasks.count) open, \(String(format: "%.1f", Double(panelEvents) / Double(max(1, completed)))) events per call delivered to them
                    journal backlog at the end: \(journal.backlog)
                    wallboard snapshot:         p50 \(ms(boardTimes.isEmpty ? nil : boardTimes[boardTimes.count / 2])), p99 \(ms(boardTimes.isEmpty ? nil : boardTimes[min(boardTimes.count - 1, boardTimes.count * 99 / 100)])) (\(boardTimes.count) snapshots, up to \(board.maxCalls) live calls, \(board.maxBytes / 1024) KiB of JSON)
                    """)
            }
        }

        /// Keeps `concurrency` callers busy until `total` calls have ended. The callers are generated inside
        /// the simulator process (one long request starts them), so this process's CPU is the app's own.
        func drive(center: CallCenter) async throws -> Int {
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { Task { try? await http.shutdown() } }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/_sim/load")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["concurrency": concurrency, "total": total])))
            let response = try await http.execute(request, timeout: .hours(6))
            let data = try await response.body.collect(upTo: 1 << 16)
            guard response.status == .ok,
                  let result = (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Int] else {
                throw ValidationError("the simulator's load generator answered \(response.status)")
            }
            if let failed = result["failed"], failed > 0 { print("calls that did not end within 120 s or could not be placed: \(failed)") }
            return result["completed"] ?? 0
        }

        /// StasisStart → answer as the simulator saw it (from raising the event to receiving the answer request):
        /// both sockets and any time an event waited before the app read it, which the app's own figure leaves out.
        func answerWaitsSeenBySimulator() async -> String {
            guard let waits = try? await simulatorControl("/_sim/answer-waits", as: [Double].self), !waits.isEmpty else { return "n/a" }
            let sorted = waits.sorted()
            func at(_ p: Int) -> String { String(format: "%.2f ms", sorted[min(sorted.count - 1, sorted.count * p / 100)]) }
            return "p50 \(at(50)), p99 \(at(99)), max \(String(format: "%.2f ms", sorted.last!)) (\(sorted.count) calls)"
        }

        /// A JSON answer of the simulator's control API (`/_sim/…`).
        func simulatorControl<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { Task { try? await http.shutdown() } }
            let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(30))
            let data = try await response.body.collect(upTo: 256 << 20)
            return try JSONDecoder().decode(type, from: Data(data.readableBytesView))
        }

        /// Which ARI requests the calls made, per call, from the simulator's request log.
        func printRequestKinds(calls: Int) async throws {
            let requests = try await simulatorControl("/_sim/requests", as: [RecordedRequest].self)
            var kinds: [String: Int] = [:]
            for request in requests {
                var segments = request.path.split(separator: "/").map(String.init)
                for index in segments.indices.dropFirst() where ["channels", "bridges", "playbacks", "stored", "live", "applications"].contains(segments[index - 1]) {
                    segments[index] = "…"
                }
                kinds[request.method + " /" + segments.joined(separator: "/"), default: 0] += 1
            }
            // The simulator keeps the last 100,000 requests: past that, shares instead of counts per call.
            let capped = requests.count >= 100_000
            let listed = kinds.sorted { $0.value > $1.value }.map { kind, count in
                capped ? String(format: "%@ %.1f %%", kind, 100 * Double(count) / Double(requests.count))
                    : String(format: "%@ %.2f", kind, Double(count) / Double(max(1, calls)))
            }
            print((capped ? "ARI requests by kind (the simulator's last 100,000): " : "ARI requests per call by kind: ") + listed.joined(separator: ", "))
            // Refusals show a simulator that fell behind (an operator's phone hung up before the bridge request
            // was handled) or a defect; a clean run has none but 404s for stopping prompts that had ended.
            var refused: [String: Int] = [:]
            for request in requests where request.status >= 400 && !(request.method == "DELETE" && request.status == 404) {
                refused["\(request.method) \(request.path.split(separator: "/").first.map(String.init) ?? "") \(request.status)", default: 0] += 1
            }
            print("ARI requests refused: " + (refused.isEmpty ? "none" : refused.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")))
        }

        func post(_ http: HTTPClient, _ url: String, _ body: [String: String]) async throws -> [String: String]? {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            var json = body.mapValues { $0 as Any }
            if let gap = body["gapMs"] { json["gapMs"] = Int(gap) }
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
            let response = try await http.execute(request, timeout: .seconds(30))
            let data = try await response.body.collect(upTo: 1 << 16)
            return (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: String]
        }

        func startSimulator(password: String, cpus: [Int]?, recordings: URL) throws -> Process {
            let process = Process()
            var executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            if !FileManager.default.isExecutableFile(atPath: executable.path) {
                executable = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
            }
            var prefix: [String] = []
            if let cpus, FileManager.default.isExecutableFile(atPath: CoreSplit.taskset) {
                process.executableURL = URL(fileURLWithPath: CoreSplit.taskset)
                prefix = ["-c", CoreSplit.describe(cpus), executable.path]
            } else {
                process.executableURL = executable
            }
            process.arguments = prefix + ["simulate", "--port", "\(port)", "--password", password, "--time-scale", "\(timeScale)",
                                 "--phones", "\(operators)", "--answer-after-ms", "500", "--hangup-after-ms", "\(talkMs)",
                                 "--recordings", recordings.path]
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-bench-simulator.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: log)
            print("simulator log: \(log.path)")
            try process.run()
            return process
        }

        func waitForSimulator(_ ari: ARIServerConfiguration) async throws {
            let client = ARIClient(configuration: ari)
            for _ in 0..<100 {
                if (try? await client.ping()) != nil { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ValidationError("the simulator did not start on port \(port)")
        }

        struct Usage {
            var user: Double
            var system: Double
            var maxRSSMiB: Int
            var voluntarySwitches: Int
            var involuntarySwitches: Int
            var cpu: Double { user + system }
        }

        /// CPU seconds of this process's threads by what they do, from `/proc/self/task` (Linux; empty elsewhere):
        /// the thread's name from `comm`, its time on a CPU in nanoseconds from `schedstat` (`stat` counts in
        /// 10 ms ticks, too coarse for a thread that works a few milliseconds in a short run).
        static func threadCPU() -> [String: Double] {
            #if os(Linux)
            guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [:] }
            var groups: [String: Double] = [:]
            for task in tasks {
                guard let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                      let schedstat = try? String(contentsOfFile: "/proc/self/task/\(task)/schedstat", encoding: .utf8),
                      let first = schedstat.split(separator: " ").first, let nanoseconds = Double(first) else { continue }
                groups[threadGroup(Substring(name)), default: 0] += nanoseconds / 1e9
            }
            return groups
            #else
            return [:]
            #endif
        }

        /// The call flow's and the copies' loops are named by the app; NIO's shared loops carry PostgreSQL and the
        /// HTTP clients (AsyncHTTPClient: ARI over HTTP, https copies); the rest is Swift's task pool (libdispatch
        /// names its workers) and the main thread.
        static func threadGroup(_ name: Substring) -> String {
            if name.hasPrefix("calls-") { return "call flow" }
            if name.hasPrefix("copies-") { return "recording copies" }
            if name.hasPrefix("NIO-SGLTN") { return "shared I/O loops" }
            return "shared pool"
        }

        /// Seconds per 1,000 calls by thread group (threads that ended during the run are missing: a lower bound).
        static func threadBreakdown(before: [String: Double], after: [String: Double], calls: Int) -> String {
            guard !after.isEmpty else { return "n/a" }
            return ["call flow", "shared pool", "recording copies", "shared I/O loops"].map { group in
                let seconds = max(0, (after[group] ?? 0) - (before[group] ?? 0))
                return "\(group) \(String(format: "%.2f", seconds / Double(max(1, calls)) * 1000)) s"
            }.joined(separator: ", ")
        }

        static func usage() -> Usage {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Usage(user: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
                         system: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
                         maxRSSMiB: Int(usage.ru_maxrss) / 1024, voluntarySwitches: usage.ru_nvcsw, involuntarySwitches: usage.ru_nivcsw)
        }
    }
}


/// Which CPUs the bench may use, and pinning to some of them with util-linux's `taskset`.
enum CoreSplit {
    static let taskset = "/usr/bin/taskset"

    /// The CPUs this process may run on (its affinity mask, which a container may narrow).
    static func available() -> [Int] {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return [] }
        var cpus: [Int] = []
        for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 1 { cpus.append(bounds[0]) } else if bounds.count == 2, bounds[0] <= bounds[1] { cpus += Array(bounds[0]...bounds[1]) }
        }
        return cpus
    }

    /// Every thread of this process (threads made later inherit it) on `cpus`.
    static func pinThisProcess(to cpus: [Int]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: taskset) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: taskset)
        process.arguments = ["-a", "-p", "-c", describe(cpus), "\(getpid())"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func describe(_ cpus: [Int]) -> String { cpus.map(String.init).joined(separator: ",") }
}

/// What a benchmark ran on, printed first so that no figure is read without it.
enum BenchRun {
    static var buildConfiguration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    /// Build configuration, CPU model and count, and the date; a loud warning in a debug build.
    static func header() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let date = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        var text = "build: \(buildConfiguration); machine: \(model), \(ProcessInfo.processInfo.activeProcessorCount) CPUs; date: \(date)"
        if buildConfiguration == "debug" {
            text += "\nWARNING: debug build: figures are several times slower than the product's; measure with `swift build -c release`."
        }
        return text
    }
}
