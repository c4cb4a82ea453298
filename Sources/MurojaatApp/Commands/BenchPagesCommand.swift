import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO

extension MurojaatCommand.Bench {
    /// Times the back office's list pages against whatever the database holds (`murojaat seed` makes a
    /// year of data): the web app runs in this process on a free port and is asked over HTTP.
    struct Pages: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Time the appeals list pages (50 rows), the statistics report of last month and of the whole year, and the calls search; print p50/p99 per page.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Requests per page.") var repeats = 50
        @Option(help: "Only the pages whose path and query contain this text.") var only: String?

        /// The monthly report of last month (what the responsible employee opens), filtered variants, the
        /// recordings search and the staffing forecast.
        static func statsPages(_ zone: TimeZone) -> [String] {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let lastMonth = StatsFilter.month(of: calendar.date(byAdding: .month, value: -1, to: Date())!, timeZone: zone)
            let period = "from=\(lastMonth.from)&to=\(lastMonth.to)"
            let year = "from=\(StatsRollup.day(Date().addingTimeInterval(-365 * 86400), zone))&to=\(StatsRollup.day(Date(), zone))"
            return ["/stats?\(period)", "/stats?\(period)&language=ru", "/stats?\(period)&topic=results", "/stats?\(period)&operator=1",
                    "/stats?\(period)&region=TK", "/stats?\(year)", "/calls?\(period)", "/calls?\(period)&number=901234567",
                    "/calls?\(period)&number=1234", "/stats/forecast"]
        }

        func runAsync() async throws {
            print(BenchRun.header())
            var config = try options.load()
            let logger: Logger = {
                var logger = Logger(label: "murojaat.bench")
                logger.logLevel = .error
                return logger
            }()
            config.httpHost = "127.0.0.1"
            let database = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
            let templates = try await loadTemplates(config.templatesDirectory)
            let web = WebContext(configuration: config, database: database, telephony: TelephonyStatus(servers: []), templates: templates, logger: logger)
            // A port the system picks, reported once the server listens (a fixed wait and a random port both
            // failed now and then on a loaded CI machine).
            let (listening, listened) = AsyncStream.makeStream(of: Int.self)
            let app = Application(router: buildRouter(web, logger: logger),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { channel in
                                      listened.yield(channel.localAddress?.port ?? 0)
                                      listened.finish()
                                  },
                                  logger: logger)
            let repeats = repeats, only = only
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                group.addTask {
                    defer { listened.finish() } // a server that cannot start ends the wait below
                    try await app.runService()
                }
                defer { group.cancelAll() }
                var port = 0
                for await value in listening { port = value }
                guard port > 0 else { throw ValidationError("the web server did not start") }
                let login = "bench-\(UInt32.random(in: 1000...9999))"
                let password = "bench-\(UUID().uuidString)"
                _ = try await Accounts(database: database, logger: logger).createUser(login: login, fullName: "Bench", role: .supervisor, password: password)
                let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
                defer { Task { try? await http.shutdown() } }
                var signIn = HTTPClientRequest(url: "http://127.0.0.1:\(port)/login")
                signIn.method = .POST
                signIn.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                signIn.body = .bytes(ByteBuffer(string: "login=\(login)&password=\(password)"))
                let response = try await http.execute(signIn, timeout: .seconds(30))
                guard let cookie = response.headers["set-cookie"].first?.split(separator: ";").first else {
                    throw ValidationError("sign-in failed: \(response.status)")
                }
                var count = 0
                for try await value in try await database.query("SELECT count(*) FROM appeals", logger: logger).decode(Int.self) { count = value }
                print("appeals in the database: \(count)")
                let pages = ["/appeals", "/appeals?status=resolved", "/appeals?category=complaint", "/appeals?topic=results",
                             "/appeals?overdue=1", "/appeals?from=2026-01-01&to=2026-01-31", "/appeals?q=%2B998901234567",
                             "/appeals?page=100", "/appeals?region=TK&category=question"]
                    + Self.statsPages(config.timeZone)
                for page in pages where only.map(page.contains) ?? true {
                    var times: [Double] = [], reports: [Double] = []
                    for _ in 0..<repeats {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(page)")
                        request.headers.add(name: "Cookie", value: String(cookie))
                        let start = ContinuousClock.now
                        let answer = try await http.execute(request, timeout: .seconds(30))
                        _ = try await answer.body.collect(upTo: 8 << 20)
                        guard answer.status == .ok else { throw ValidationError("\(page) answered \(answer.status)") }
                        // The statistics pages say how long their report's queries took.
                        if let timing = answer.headers["Server-Timing"].first, let range = timing.range(of: "dur="),
                           let value = Double(timing[range.upperBound...]) { reports.append(value) }
                        let elapsed = ContinuousClock.now - start
                        times.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                    }
                    times.sort()
                    let p50 = times[times.count / 2], p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))]
                    reports.sort()
                    let report = reports.isEmpty ? "" : String(format: "  (report's queries p50 %.2f ms)", reports[reports.count / 2])
                    print(String(format: "%-45@ p50 %7.2f ms  p99 %7.2f ms%@", page as NSString, p50, p99, report as NSString))
                }
                try await database.query("DELETE FROM audit_log WHERE user_id = (SELECT id FROM users WHERE login = \(login))", logger: logger)
                try await database.query("DELETE FROM users WHERE login = \(login)", logger: logger)
            }
        }
    }
}
