import CallCenter
import Foundation
import Logging
@testable import MurojaatApp
import PostgresNIO
import Testing

@Suite("Journal batches written to a real PostgreSQL in one statement per table", .serialized)
struct JournalBatchTests {
    /// A batch holding several snapshots of calls, state changes of two operators, a recording that starts
    /// and ends, events and an alert ends up exactly as the same entries written one by one would.
    @Test func aBatchEqualsItsEntriesOneByOne() async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let logger = Logger(label: "test")
                try await DemoData.seed(client, operators: 2, logger: logger)
                let store = PostgresCallStore(client: client, logger: logger)
                let operators = try await store.loadOperators()
                let (a, b) = (operators[0].id, operators[1].id)
                let t0 = Date(timeIntervalSince1970: 1_795_000_000.5)
                func at(_ s: Double) -> Date { t0.addingTimeInterval(s) }

                var first = CallRecord(server: "ast1", channelId: "ch-1", callerNumber: "+998901234567", dialledNumber: "1000")
                first.startedAt = t0
                var second = CallRecord(server: "ast1", channelId: "ch-2", callerNumber: "+998901234567", dialledNumber: "1000")
                second.startedAt = at(1)
                var firstLater = first
                firstLater.language = .ru
                firstLater.ivrPath = ["root:2", "ru:1"]
                firstLater.topic = "technical"
                firstLater.answeredAt = at(5)
                firstLater.operatorId = a
                var firstEnded = firstLater
                firstEnded.endedAt = at(65)
                firstEnded.talkSeconds = 60
                firstEnded.outcome = .answered
                firstEnded.hangupSide = .caller
                let recording = RecordingRecord(callId: first.id, name: first.id.uuidString.lowercased(), server: "ast1", format: "wav",
                                                state: .recording, startedAt: at(5))
                var recordingDone = recording
                recordingDone.state = .done
                recordingDone.durationSeconds = 60
                recordingDone.finishedAt = at(65)

                let entries: [CallJournal.Entry] = [
                    .call(first), .event(first.id, t0, "started", ["caller": "+998901234567", "quote": "a\"b'c\\\\d"]),
                    .call(second), .event(second.id, at(1), "started", [:]),
                    .agentState(a, .ringing, nil, first.id, at(4)), .call(firstLater), .agentState(a, .onCall, nil, first.id, at(5)),
                    .recording(recording), .event(first.id, at(5), "answered", ["operator": "\(a)"]),
                    .agentState(b, .paused, "no_answer", nil, at(6)), .agentState(b, .ready, nil, nil, at(30)),
                    .call(firstEnded), .recording(recordingDone), .agentState(a, .wrapUp, nil, first.id, at(65)),
                    .agentState(a, .ready, nil, nil, at(95)), .event(first.id, at(65), "ended", ["outcome": "answered"]),
                    .alert("recording_failed", "Yozuv: xato <b>", second.id, at(66)),
                ]
                try await store.write([.agentState(a, .ready, nil, nil, at(-10))])
                try await store.write(entries)
                // The same batch again changes nothing but the agent log, which is a log: each replay appends to it.
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 2)
                #expect(try await rowCount(client, """
                    SELECT count(*) FROM calls WHERE id = \(first.id) AND language = 'ru' AND ivr_path = '{root:2,ru:1}'
                      AND topic_code = 'technical' AND outcome = 'answered' AND hangup_side = 'caller' AND talk_seconds = 60
                      AND operator_id = \(a) AND started_at = \(t0) AND ended_at = \(at(65)) AND NOT repeated
                    """) == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM calls WHERE id = \(second.id) AND repeated AND outcome = 'in_progress'") == 1)
                let kinds = try await client.query("SELECT kind FROM call_events WHERE call_id = \(first.id) ORDER BY id").collect().map { try $0.decode(String.self) }
                #expect(kinds == ["started", "answered", "ended"])
                #expect(try await rowCount(client, "SELECT count(*) FROM call_events WHERE data->>'quote' = \("a\"b'c\\\\d")") == 1)
                #expect(try await rowCount(client, """
                    SELECT count(*) FROM recordings WHERE name = \(recording.name) AND state = 'done' AND duration_seconds = 60
                      AND started_at = \(at(5)) AND finished_at = \(at(65))
                    """) == 1)
                // Operator a: ringing → on call → wrap-up → ready, each closed at the next; the seed's open row closed at the first.
                let log = try await client.query("""
                    SELECT state, extract(epoch FROM started_at)::float8, extract(epoch FROM ended_at)::float8
                    FROM agent_state_log WHERE operator_id = \(a) AND started_at >= \(at(4)) ORDER BY id
                    """).collect().map { try $0.decode((String, Double, Double?).self) }
                #expect(log.map(\.0) == ["ringing", "on_call", "wrap_up", "ready"])
                #expect(log.map { $0.2.map { ($0 - t0.timeIntervalSince1970).rounded() } } == [5, 65, 95, nil])
                #expect(try await rowCount(client, "SELECT count(*) FROM agent_state_log WHERE ended_at IS NULL AND operator_id IN (\(a), \(b))") == 2)
                #expect(try await rowCount(client, "SELECT count(*) FROM agent_state_log WHERE operator_id = \(a) AND started_at = \(at(-10)) AND ended_at = \(at(4))") == 1)
                #expect(try await rowCount(client, """
                    SELECT count(*) FROM operators WHERE id = \(a) AND state = 'ready' AND state_since = \(at(95))
                      AND last_call_ended_at = \(at(65)) AND current_call_id IS NULL
                    """) == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM operators WHERE id = \(b) AND state = 'ready' AND pause_reason IS NULL") == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM agent_state_log WHERE operator_id = \(b) AND state = 'paused' AND reason = 'no_answer' AND ended_at = \(at(30))") == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM alerts WHERE kind = 'recording_failed' AND message = 'Yozuv: xato <b>' AND call_id = \(second.id)") == 1)

                // Idempotent for calls, events' calls and recordings: a retried batch leaves one row each.
                try await store.write([.call(firstEnded), .recording(recordingDone)])
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 2)
                #expect(try await rowCount(client, "SELECT count(*) FROM recordings") == 1)
            }
        }
    }

    /// A batch with an entry the database refuses (an event of a call that was never stored) is rolled back whole,
    /// with the database's own error, which the journal takes as permanent; the connection is fine for the next batch.
    @Test func aRefusedBatchLeavesNothingHalfWritten() async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let logger = Logger(label: "test")
                let store = PostgresCallStore(client: client, logger: logger)
                let call = CallRecord(server: "ast1", channelId: "ch-9", callerNumber: "+998901112233", dialledNumber: "1000")
                let stranger = UUID()
                await #expect {
                    try await store.write([.call(call), .event(call.id, Date(), "started", [:]), .event(stranger, Date(), "started", [:])])
                } throws: { error in
                    store.isPermanent(error) && String(reflecting: error).contains("23503")
                }
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 0)
                #expect(try await rowCount(client, "SELECT count(*) FROM call_events") == 0)
                // The pool's connections are fine after the rollback.
                for _ in 0..<3 { try await store.write([.call(call), .event(call.id, Date(), "started", [:])]) }
                #expect(try await rowCount(client, "SELECT count(*) FROM calls") == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM call_events") == 3)
            }
        }
    }

    /// U+0000, which PostgreSQL's text and jsonb cannot hold, in a caller's number, an event's data or an alert's
    /// message does not get the batch refused: it is stored as U+FFFD and everything else as sent.
    @Test func aNulCharacterFromACallerIsStoredNotRefused() async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let logger = Logger(label: "test")
                let store = PostgresCallStore(client: client, logger: logger)
                let call = CallRecord(server: "ast1", channelId: "ch-\u{0}", callerNumber: "+99890\u{0}1\u{1}\"", dialledNumber: "1000")
                try await store.write([.call(call), .event(call.id, Date(), "started", ["caller": "a\u{0}b", "\u{0}": "key"]),
                                       .alert("recording_failed", "cause: \u{0}x", call.id, Date())])
                #expect(try await rowCount(client, "SELECT count(*) FROM calls WHERE caller_number = \("+99890\u{FFFD}1\u{1}\"") AND channel_id = \("ch-\u{FFFD}")") == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM call_events WHERE data->>'caller' = \("a\u{FFFD}b") AND data->>\("\u{FFFD}") = 'key'") == 1)
                #expect(try await rowCount(client, "SELECT count(*) FROM alerts WHERE message = \("cause: \u{FFFD}x")") == 1)
            }
        }
    }
}
