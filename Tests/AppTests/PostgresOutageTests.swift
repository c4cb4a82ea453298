import ARI
import AsteriskSimulator
import CallCenter
import Foundation
import Logging
@testable import MurojaatApp
import PostgresNIO
import Storage
import TestSupport
import Testing

@Suite("A real PostgreSQL going away mid-call", .serialized)
struct PostgresOutageTests {
    /// The app reaches PostgreSQL through a proxy that the test cuts: open connections are closed and new
    /// ones refused while a call goes through IVR, queue, operator and hang-up. When the database is back
    /// the call's row, events, recording and agent states are all written, once.
    @Test func callsFlowWhileTheDatabaseIsDownAndNothingIsLost() async throws {
        try await withMigratedDatabase { database in
            let logger = Logger(label: "test.outage")
            let proxy = TCPProxy(targetHost: database.host, targetPort: database.port)
            var proxied = database
            proxied.port = try await proxy.start()
            let viaProxy = proxied
            defer { Task { await proxy.stop() } }
            try await withPostgres(database) { direct in
                try await DemoData.seed(direct, operators: 1, logger: logger)
                try await withPostgres(viaProxy) { client in
                    let store = PostgresCallStore(client: client, logger: logger)
                    let operators = try await store.loadOperators()
                    var config = SimulatorConfiguration.testing(scale: 0.01)
                    config.phones = ["101": .init(answerAfterMs: 200)]
                    try await withSimulator(config) { sim, ari in
                        let journal = CallJournal(store: store, logger: logger)
                        var settings = CallCenterSettings()
                        settings.wrapUpSeconds = 0.2
                        settings.digitTimeoutSeconds = 0.3
                        let recordings = FileManager.default.temporaryDirectory.appendingPathComponent("rec-\(UUID())")
                        defer { try? FileManager.default.removeItem(at: recordings) }
                        let center = CallCenter(settings: settings, journal: journal, recordingsDirectory: recordings, logger: logger)
                        await center.addServer(ari.name, client: ARIClient(configuration: ari))
                        await center.loadOperators(operators)
                        let connection = ARIEventConnection(configuration: ari)
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await connection.run() }
                            group.addTask { try await journal.run() }
                            group.addTask { for await event in connection.events { await center.handle(event) } }
                            while await !(sim.isConnected(app: "murojaat") && connection.isConnected) {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                            #expect(await journal.flush())

                            proxy.cut()
                            let channel = try await callAndChoose(sim, center, choice: "0")
                            var waited = 0
                            while await !center.agentSnapshot().contains(where: { $0.state == .onCall }) && waited < 500 {
                                try await Task.sleep(for: .milliseconds(10)); waited += 1
                            }
                            #expect(await center.agentSnapshot().first?.state == .onCall, "the call reached the operator with the database down")
                            try await untilBridgedAndRecorded(sim, calls: 1)
                            try await Task.sleep(for: .milliseconds(200))
                            try await sim.remoteHangup(channel)
                            while await !center.callSnapshot().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                            try await Task.sleep(for: .milliseconds(500))
                            #expect(journal.backlog > 5, "entries wait in the journal")
                            #expect(try await rowCount(direct, "SELECT count(*) FROM calls") == 0)

                            proxy.restore()
                            #expect(await journal.flush(timeout: .seconds(30)), "the journal catches up once the database is back")
                            // The recording is stored once its file is copied from Asterisk, which may come after
                            // the call's other rows on a loaded machine.
                            for _ in 0..<200 where try await rowCount(direct, "SELECT count(*) FROM recordings WHERE state = 'done'") == 0 {
                                try await Task.sleep(for: .milliseconds(50))
                            }
                            #expect(await center.finishCopies(timeout: .seconds(10)))
                            #expect(await journal.flush(timeout: .seconds(30)))
                            group.cancelAll()
                        }
                    }
                }
                #expect(try await rowCount(direct, "SELECT count(*) FROM calls") == 1)
                #expect(try await rowCount(direct, "SELECT count(*) FROM calls WHERE outcome = 'answered' AND hangup_side = 'caller' AND ended_at IS NOT NULL") == 1)
                #expect(try await rowCount(direct, "SELECT count(*) FROM call_events WHERE kind IN ('started', 'queued', 'answered', 'ended')") == 4)
                #expect(try await rowCount(direct, "SELECT count(*) FROM recordings WHERE state = 'done'") == 1)
                #expect(try await rowCount(direct, "SELECT count(*) FROM agent_state_log WHERE state = 'on_call'") == 1)
            }
        }
    }
}
