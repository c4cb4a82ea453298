import ARI
import AsteriskSimulator
import CallCenter
import Foundation
import HummingbirdTesting
import Logging
@testable import MurojaatApp
import PostgresNIO
import Storage
import TestSupport
import Testing

/// A migrated database for app-level tests, created once per test.
func withMigratedDatabase(_ body: @Sendable (DatabaseConfiguration) async throws -> Void) async throws {
    guard let url = ProcessInfo.processInfo.environment["MUROJAAT_TEST_DATABASE_URL"] else {
        Issue.record("MUROJAAT_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
        return
    }
    let admin = try DatabaseConfiguration(url: url)
    let name = "app_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
    try await withPostgres(admin) { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
    var config = admin
    config.database = String(name)
    let database = config
    try await withPostgres(database) { client in
        try await Migrator(client: client, migrations: try Migration.bundled()).migrate()
        try await ReferenceData.bundled().seed(client, logger: Logger(label: "test"))
    }
    defer { Task { try? await withPostgres(admin) { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) } } }
    try await body(database)
}

func withPostgres(_ config: DatabaseConfiguration, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
    let client = PostgresClient(configuration: config.clientConfiguration, backgroundLogger: Logger(label: "test.pg"))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await body(client)
    }
}

/// The single integer a query answers (a count), or -1 when it answers no row.
func rowCount(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int {
    for try await value in try await client.query(query).decode(Int.self) { return value }
    return -1
}

/// A sounds folder holding every prompt in both languages, as `prompts synthesize` lays it out.
func soundsWithAllPrompts() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sounds-\(UUID())")
    for language in Language.allCases {
        let folder = directory.appendingPathComponent("\(language.rawValue)/murojaat")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for prompt in PromptCatalog.all {
            var wav = Data("RIFF".utf8) + Data(count: 24)
            wav.replaceSubrange(28..<28, with: [0x80, 0x3E, 0, 0]) // byte rate 16000
            wav += Data(count: 16000 - wav.count + 44)
            try wav.write(to: folder.appendingPathComponent("\(prompt.name).wav"))
        }
    }
    return directory
}

@Suite("murojaat doctor", .serialized)
struct DoctorTests {
    func withSimulatorServer(sounds: URL?, _ body: @Sendable (Int) async throws -> Void) async throws {
        let simulator = AsteriskSimulator(configuration: SimulatorConfiguration(username: "murojaat", password: "right", soundsDirectory: sounds))
        let app = SimulatorServer.buildApplication(simulator: simulator, port: 0)
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    func configuration(database: DatabaseConfiguration, port: Int, password: String) throws -> AppConfiguration {
        try AppConfiguration.load(environment: [
            "MUROJAAT_DATABASE_URL": "postgres://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/\(database.database)",
            "MUROJAAT_ARI_URL": "http://127.0.0.1:\(port)/ari", "MUROJAAT_ARI_PASSWORD": password,
        ])
    }

    @Test func greenAgainstTheSimulator() async throws {
        try await withMigratedDatabase { database in
            try await withSimulatorServer(sounds: try soundsWithAllPrompts()) { port in
                let checks = await Doctor(configuration: try configuration(database: database, port: port, password: "right")).run()
                for check in checks { print(check) }
                #expect(!checks.contains { $0.status == .fail })
                #expect(checks.contains { $0.name == "schema" && $0.status == .ok })
                #expect(checks.contains { $0.name == "asterisk ast1 version" && $0.detail.contains("22.10.1") })
                #expect(checks.contains { $0.name == "asterisk ast1 sounds" && $0.status == .ok })
            }
        }
    }

    @Test func redWithAWrongPassword() async throws {
        try await withMigratedDatabase { database in
            try await withSimulatorServer(sounds: nil) { port in
                let checks = await Doctor(configuration: try configuration(database: database, port: port, password: "wrong")).run()
                let ari = try #require(checks.first { $0.name == "asterisk ast1" })
                #expect(ari.status == .fail && ari.detail.contains("401"))
            }
        }
    }

    @Test func redWhenPromptsAreMissingOrTheDatabaseIsGone() async throws {
        try await withSimulatorServer(sounds: nil) { port in
            let gone = try DatabaseConfiguration(url: "postgres://nobody:x@127.0.0.1:1/none")
            let checks = await Doctor(configuration: try configuration(database: gone, port: port, password: "right")).run()
            #expect(checks.first { $0.name == "database" }?.status == .fail)
            #expect(checks.first { $0.name == "asterisk ast1 sounds" }?.status == .fail)
            #expect(checks.first { $0.name == "asterisk ast1 application" }?.status == .warn)
        }
    }

    /// Scenario 10 of the real-Asterisk tier: every check ok against a real Asterisk 22 set up from `asterisk/`, and the
    /// exact fault named when a module is unloaded or a prompt is missing.
    @Test func greenAgainstARealAsteriskAndTheFaultNamed() async throws {
        if let reason = RealAsterisk.unavailableReason {
            if RealAsterisk.isCI { Issue.record("the real-Asterisk tier cannot run in CI: \(reason)") }
            else { print("real-Asterisk doctor check skipped: \(reason)") }
            return
        }
        let prompts = try RealAsterisk.writePrompts(PromptCatalog.all.map(\.name))
        defer { try? FileManager.default.removeItem(at: prompts) }
        let asterisk = try RealAsterisk.start(sounds: prompts)
        defer { asterisk.stop() }
        try await withMigratedDatabase { database in
            // The Stasis application is registered while murojaat runs: connect as `serve` would.
            let connection = ARIEventConnection(configuration: asterisk.ari, eventTypes: CallCenter.handledEventTypes)
            let events = Task { try await connection.run() }
            defer { events.cancel() }
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while !connection.isConnected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let config = try configuration(database: database, port: asterisk.httpPort, password: asterisk.password)
            let checks = await Doctor(configuration: config).run()
            for check in checks { print(check) }
            #expect(checks.allSatisfy { $0.status == .ok }, "\(checks.filter { $0.status != .ok })")
            #expect(checks.contains { $0.name == "asterisk ast1 version" && $0.detail.contains("22.10.1") })
            #expect(checks.contains { $0.name == "asterisk ast1 modules" && $0.status == .ok })
        }
        asterisk.stop()
        // A prompt missing and a module gone: each named.
        for format in ["wav", "alaw", "ulaw"] {
            try FileManager.default.removeItem(at: prompts.appendingPathComponent("ru/murojaat/main-menu.\(format)"))
        }
        let faulty = try RealAsterisk.start(sounds: prompts)
        defer { faulty.stop() }
        try faulty.cli("module unload bridge_softmix.so")
        try await withMigratedDatabase { database in
            let config = try configuration(database: database, port: faulty.httpPort, password: faulty.password)
            let red = await Doctor(configuration: config).run()
            let modules = try #require(red.first { $0.name == "asterisk ast1 modules" })
            #expect(modules.status == .fail && modules.detail.contains("bridge_softmix") && !modules.detail.contains("res_ari,"))
            let sounds = try #require(red.first { $0.name == "asterisk ast1 sounds" })
            #expect(sounds.status == .fail && sounds.detail.contains("ru/murojaat/main-menu"))
        }
    }
}
