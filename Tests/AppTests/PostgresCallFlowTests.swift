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

@Suite("Calls recorded in a real PostgreSQL", .serialized)
struct PostgresCallFlowTests {
    @Test func aCallLeavesItsRowEventsRecordingAndAgentLog() async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let logger = Logger(label: "test")
                try await DemoData.seed(client, operators: 3, logger: logger)
                let store = PostgresCallStore(client: client, logger: logger)
                let operators = try await store.loadOperators()
                #expect(operators.map(\.extensionNumber) == ["101", "102", "103"])
                #expect(operators.allSatisfy { $0.state == .ready })

                var config = SimulatorConfiguration.testing(scale: 0.01)
                config.phones = ["101": .init(answerAfterMs: 200), "102": .init(answerAfterMs: 200), "103": .init(answerAfterMs: 200)]
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
                        while await !sim.isConnected(app: "murojaat") { try await Task.sleep(for: .milliseconds(10)) }

                        for round in 0..<2 {
                            let channel = try await callAndChoose(sim, center, choice: "6")
                            try await until("an operator on the call") { await center.agentSnapshot().contains { $0.state == .onCall } }
                            try await untilBridgedAndRecorded(sim, calls: round + 1)
                            try await Task.sleep(for: .milliseconds(100))
                            try await sim.remoteHangup(channel)
                            while await !center.callSnapshot().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                        }
                        // The recordings are fetched from Asterisk after each call ends: wait for both (under load it can take a while).
                        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
                        repeat {
                            try await Task.sleep(for: .milliseconds(100))
                            _ = await journal.flush()
                        } while try await rowCount(client, "SELECT count(*) FROM recordings WHERE state = 'done'") < 2 && ContinuousClock.now < deadline
                        #expect(await center.finishCopies(timeout: .seconds(10)))
                        #expect(await journal.flush())
                        group.cancelAll()
                    }
                }
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 2)
                var callRows: [String] = []
                for try await (outcome, topic, language, operatorId, talk) in try await client.query(
                    "SELECT outcome, coalesce(topic_code, ''), coalesce(language, ''), operator_id, talk_seconds FROM calls ORDER BY started_at"
                ).decode((String, String, String, Int64?, Int?).self) {
                    callRows.append("\(outcome) \(topic) \(language) \(operatorId.map(String.init) ?? "-") \(talk.map(String.init) ?? "-")")
                }
                #expect(try await rowCount(client, "SELECT count(*) FROM calls WHERE outcome = 'answered' AND topic_code = 'technical' AND language = 'uz' AND operator_id IS NOT NULL AND talk_seconds IS NOT NULL") == 2,
                        "calls: \(callRows)")
                #expect(try await rowCount(client, "SELECT count(*) FROM calls WHERE repeated") == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM call_events WHERE kind IN ('started', 'queued', 'answered', 'ended')") == 8)
                var recordingRows: [String] = []
                for try await (name, state, error) in try await client.query("SELECT name, state, coalesce(error, '') FROM recordings").decode((String, String, String).self) {
                    recordingRows.append("\(name) \(state) \(error)")
                }
                var kinds: [String] = []
                for try await kind in try await client.query("SELECT kind FROM call_events ORDER BY at").decode(String.self) { kinds.append(kind) }
                #expect(try await rowCount(client, "SELECT count(*) FROM recordings WHERE state = 'done' AND size_bytes > 44 AND storage_path IS NOT NULL") == 2,
                        "recordings: \(recordingRows); events: \(kinds)")
                #expect(try await rowCount(client, "SELECT count(*) FROM agent_state_log WHERE state = 'on_call'") == 2)
                #expect(try await rowCount(client, "SELECT count(*) FROM agent_state_log WHERE ended_at IS NULL") <= 3)
                // The first run's leftovers: calls still "in progress" on a server are closed as lost at start-up.
                try await client.query("INSERT INTO calls (asterisk_node, channel_id, caller_number) VALUES ('ast1', 'stale-1', '+998900000000')")
                #expect(try await store.closeLostCalls(server: "ast1", except: [], at: Date()) == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM calls WHERE outcome = 'lost'") == 1)
            }
        }
    }
}

/// Waits until `condition` holds, for up to 10 s; then fails the test naming what did not happen.
func until(_ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("not within 10 s: \(what)")
            return
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Places a call and walks the IVR: `language` at the first menu, then `choice`, each digit once the call flow
/// has taken the step before it (fixed pauses raced it on a loaded CI machine). The caller's channel.
func callAndChoose(_ sim: AsteriskSimulator, _ center: CallCenter, from number: String = "+998901112233",
                   language: String = "1", choice: String) async throws -> String {
    let channel = try await sim.placeCall(from: number, to: "1000")
    try await until("the call in the IVR") { await center.callSnapshot().contains { $0.channelId == channel } }
    try await sim.pressDigits(language, on: channel, gapMs: 1)
    try await until("the language chosen") { await center.callSnapshot().first { $0.channelId == channel }?.language != nil }
    try await sim.pressDigits(choice, on: channel, gapMs: 1)
    return channel
}

/// Waits until `calls` calls have been bridged and their recordings started at the simulator: on a loaded
/// machine the bridge requests can come after a hang-up the test makes soon after the answer, and a call
/// that was never bridged has no recording (a failed one and an alert).
func untilBridgedAndRecorded(_ sim: AsteriskSimulator, calls: Int) async throws {
    for _ in 0..<500 {
        let requests = await sim.receivedRequests()
        let bridged = requests.filter { $0.method == "POST" && $0.path.hasSuffix("/addChannel") && $0.status == 204 }.count
        let recorded = requests.filter { $0.method == "POST" && $0.path.hasSuffix("/record") && $0.status == 201 }.count
        if bridged >= calls && recorded >= calls { return }
        try await Task.sleep(for: .milliseconds(10))
    }
}
