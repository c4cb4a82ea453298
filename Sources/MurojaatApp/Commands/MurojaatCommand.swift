import ArgumentParser
import ARI
import AsteriskSimulator
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Storage

/// A subcommand whose work is asynchronous; `main.swift` awaits `runAsync`.
public protocol AsyncCommand: ParsableCommand {
    func runAsync() async throws
}

public struct MurojaatCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "murojaat",
        abstract: "Call-centre platform of the State Testing Center: Stasis app, back office and public site.",
        subcommands: [Serve.self, Migrate.self, Doctor.self, User.self, Prompts.self, Simulate.self, Demo.self, Seed.self, Stats.self, Bench.self])

    public init() {}
}

struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "A file of KEY=VALUE settings (the environment overrides it).")
    var config: String?

    func load() throws -> AppConfiguration {
        do {
            return try AppConfiguration.load(file: config)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}

extension MurojaatCommand {
    struct Serve: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Run the web server, the Stasis application and the workers.")
        @OptionGroup var options: ConfigOptions
        @Flag(help: "Apply pending database migrations before starting.") var migrate = false

        func runAsync() async throws {
            try await Server(configuration: try options.load()).run(migrate: migrate)
        }
    }

    struct Migrate: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and seed reference data.")
        @OptionGroup var options: ConfigOptions

        func runAsync() async throws {
            let config = try options.load()
            let logger = Logger(label: "murojaat.migrate")
            let client = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let applied = try await Migrator(client: client, migrations: try Migration.bundled(), logger: logger).migrate()
                try await ReferenceData.bundled().seed(client, logger: logger)
                try await IVRRepository(client: client, logger: logger).seed()
                print(applied.isEmpty ? "schema already up to date" : "applied: \(applied.joined(separator: ", "))")
            }
        }
    }

    struct Doctor: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Check configuration, database and every Asterisk; non-zero exit when a check fails.")
        @OptionGroup var options: ConfigOptions

        func runAsync() async throws {
            let checks = await MurojaatApp.Doctor(configuration: try options.load()).run()
            for check in checks { print(check) }
            if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
        }
    }

    struct Simulate: AsyncCommand {
        static let configuration = CommandConfiguration(abstract: "Run the Asterisk ARI simulator alone (for tests and development).")
        @Option(help: "Address to listen on.") var host = "127.0.0.1"
        @Option(help: "Port to listen on.") var port = 8088
        @Option(help: "ARI user.") var user = "murojaat"
        @Option(help: "ARI password.") var password = "murojaat"
        @Option(help: "Real seconds per simulated second.") var timeScale = 1.0
        @Option(help: "Operator phones that answer, comma-separated, or a count (e.g. 150 for 101…250).") var phones = "101,102,103,104,105"
        @Option(help: "Simulated milliseconds a phone rings before answering.") var answerAfterMs = 2000
        @Option(help: "If set, phones hang up this many simulated milliseconds after answering.") var hangupAfterMs: Int?
        @Option(help: "Directory of sounds (<lang>/murojaat/<name>.wav).") var sounds = "asterisk/sounds"
        @Option(help: "Directory for recordings.") var recordings = "var/simulator-recordings"

        var phoneList: [String] {
            if !phones.contains(","), let count = Int(phones) { return (0..<count).map { String(101 + $0) } }
            return phones.split(separator: ",").map(String.init)
        }

        func runAsync() async throws {
            let logger = Logger(label: "murojaat.simulator")
            let simulator = AsteriskSimulator(configuration: SimulatorConfiguration(
                username: user, password: password, timeScale: timeScale, recordingsDirectory: URL(fileURLWithPath: recordings),
                soundsDirectory: URL(fileURLWithPath: sounds),
                phones: Dictionary(uniqueKeysWithValues: phoneList.map { ($0, PhoneBehaviour(answerAfterMs: answerAfterMs, hangupAfterMs: hangupAfterMs)) })))
            let app = SimulatorServer.buildApplication(simulator: simulator, host: host, port: port, logger: logger)
            try await ServiceGroup(configuration: .init(services: [.init(service: app), .init(service: SimulatorStopper(simulator: simulator))],
                                                        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
        }
    }

    struct Demo: AsyncCommand {
        func seedDemoOperators(_ config: AppConfiguration, ready: Bool) async throws {
            let logger = Logger(label: "murojaat.demo")
            let client = PostgresClient(configuration: config.database.clientConfiguration, backgroundLogger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await Migrator(client: client, migrations: try Migration.bundled(), logger: logger).migrate()
                try await DemoData.seed(client, operators: operators, ready: ready, logger: logger)
                try await DemoData.seedStaff(client, operators: operators, password: Self.demoPassword, logger: logger)
            }
        }

        static let configuration = CommandConfiguration(abstract: "Serve with the built-in Asterisk simulator and generated callers (unless MUROJAAT_ARI_URL names a real Asterisk).")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Port of the built-in simulator's ARI.") var asteriskPort = 8088
        @Option(help: "Mean seconds between generated calls.") var callInterval = 8.0
        @Option(help: "Number of simulated operator phones (101, 102, …).") var operators = 10
        static let demoPassword = "demo-parol-2026"

        func runAsync() async throws {
            var config = try options.load()
            var extra: [any Service] = []
            // Demo operators are ready only on the built-in simulator, where every phone exists.
            let simulated = config.ariServers.isEmpty
            let logger = Logger(label: "murojaat.demo")
            if config.ariServers.isEmpty {
                let password = "demo-\(UInt32.random(in: 100_000...999_999))"
                var phones: [String: PhoneBehaviour] = [:]
                for n in 0..<operators {
                    phones[String(101 + n)] = n % 7 == 6 ? PhoneBehaviour(mode: .noAnswer) : PhoneBehaviour(answerAfterMs: Int.random(in: 1500...5000))
                }
                let simulator = AsteriskSimulator(configuration: SimulatorConfiguration(
                    username: "murojaat", password: password, recordingsDirectory: URL(fileURLWithPath: "var/simulator-recordings"),
                    soundsDirectory: config.soundsDirectory, phones: phones))
                extra.append(SimulatorServer.buildApplication(simulator: simulator, port: asteriskPort, logger: logger))
                extra.append(SimulatorStopper(simulator: simulator))
                extra.append(DemoTraffic(simulator: simulator, meanInterval: callInterval, logger: logger))
                config.ariServers = [ARIServerConfiguration(name: "sim", baseURL: "http://127.0.0.1:\(asteriskPort)/ari",
                                                            username: "murojaat", password: password, application: "murojaat")]
                print("Built-in Asterisk simulator on 127.0.0.1:\(asteriskPort), \(operators) operator phones, a call every ~\(Int(callInterval)) s")
            }
            try await seedDemoOperators(config, ready: simulated)
            if !simulated { print("Real Asterisk: the demo operators start offline; each chooses \"ready\" in the panel (/panel) once their phone is registered") }
            print("Demo accounts (password \(Self.demoPassword)): admin, editor, supervisor, dtm, op101…op\(100 + operators)")
            print("Murojaat demo: open http://\(config.httpHost == "0.0.0.0" ? "localhost" : config.httpHost):\(config.httpPort)/")
            try await Server(configuration: config).run(migrate: true, extra: extra)
        }
    }
}

/// At shutdown the simulator ends its timers, sockets and long polls, so the HTTP server can stop.
struct SimulatorStopper: Service {
    let simulator: AsteriskSimulator
    func run() async throws {
        try? await gracefulShutdown()
        await simulator.shutdown()
    }
}
