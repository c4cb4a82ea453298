import ARI
import CallCenter
import Foundation
import NIOCore
import PostgresNIO

/// A journal batch sorted into rows per table, as JSON records for `jsonb_to_recordset`: one bound
/// parameter per statement, nulls as missing keys, times as seconds since 1970 (microseconds kept).
struct JournalBatch {
    struct Event: JSONRow {
        var callId: UUID
        var at: Date
        var kind: String
        var data: [String: String]

        func write(_ o: inout JSONText.Object) {
            o.add("call_id", callId)
            o.add("at", at.timeIntervalSince1970)
            o.add("kind", kind)
            o.add("data", data)
        }
    }

    struct AgentChange {
        var operatorId: Int64
        var state: AgentState
        var reason: String?
        var callId: UUID?
        var at: Date
    }

    struct AgentRow: JSONRow {
        var operator_id: Int64
        var state: String?
        var reason: String?
        var call_id: UUID?
        var at: Double
        var ended_at: Double?
        var wrap_up_at: Double?

        init(operator_id: Int64, at: Double) {
            self.operator_id = operator_id
            self.at = at
        }

        init(_ change: AgentChange) {
            operator_id = change.operatorId
            state = change.state.rawValue
            reason = change.reason
            call_id = change.callId
            at = change.at.timeIntervalSince1970
        }

        func write(_ o: inout JSONText.Object) {
            o.add("operator_id", operator_id)
            o.add("state", state)
            o.add("reason", reason)
            o.add("call_id", call_id)
            o.add("at", at)
            o.add("ended_at", ended_at)
            o.add("wrap_up_at", wrap_up_at)
        }
    }

    struct Alert {
        var kind: String
        var message: String
        var callId: UUID?
        var at: Date
    }

    /// Calls in the order they first appear, each as its last snapshot (`repeated` once true stays true).
    private(set) var calls: [CallRecord] = []
    private(set) var events: [Event] = []
    private(set) var agentStates: [AgentChange] = []
    /// Recordings in the order they first appear, later fields over earlier ones unless missing (as the upsert does).
    private(set) var recordings: [RecordingRecord] = []
    private(set) var alerts: [Alert] = []

    init(_ entries: [CallJournal.Entry]) {
        var callIndex: [UUID: Int] = [:]
        var recordingIndex: [String: Int] = [:]
        for entry in entries {
            switch entry {
            case .call(let call):
                if let index = callIndex[call.id] {
                    let repeated = calls[index].repeated || call.repeated
                    calls[index] = call
                    calls[index].repeated = repeated
                } else {
                    callIndex[call.id] = calls.count
                    calls.append(call)
                }
            case .event(let id, let at, let kind, let data):
                events.append(Event(callId: id, at: at, kind: kind, data: data))
            case .agentState(let id, let state, let reason, let call, let at):
                agentStates.append(AgentChange(operatorId: id, state: state, reason: reason, callId: call, at: at))
            case .recording(let recording):
                if let index = recordingIndex[recording.name] {
                    var merged = recordings[index]
                    merged.state = recording.state
                    merged.error = recording.error ?? merged.error
                    merged.durationSeconds = recording.durationSeconds ?? merged.durationSeconds
                    merged.sizeBytes = recording.sizeBytes ?? merged.sizeBytes
                    merged.storagePath = recording.storagePath ?? merged.storagePath
                    merged.finishedAt = recording.finishedAt ?? merged.finishedAt
                    recordings[index] = merged
                } else {
                    recordingIndex[recording.name] = recordings.count
                    recordings.append(recording)
                }
            case .alert(let kind, let message, let call, let at):
                alerts.append(Alert(kind: kind, message: message, callId: call, at: at))
            }
        }
    }

    /// The rows as a JSON array, written by hand (Foundation's encoder was a visible share of the call flow's CPU).
    static func json(_ rows: [some JSONRow]) -> JSONRows {
        JSONRows(bytes: JSONText.array(rows) { row, object in row.write(&object) })
    }
}

/// JSON text bound as a `text` parameter straight from its bytes (the statements cast it to `jsonb`).
struct JSONRows: PostgresNonThrowingEncodable {
    let bytes: [UInt8]

    static var psqlType: PostgresDataType { .text }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeBytes(bytes)
    }
}

protocol JSONRow {
    func write(_ object: inout JSONText.Object)
}

/// A `calls` row, keys as the columns.
extension CallRecord: JSONRow {
    func write(_ o: inout JSONText.Object) {
        o.add("id", id)
        o.add("direction", direction)
        o.add("asterisk_node", server)
        o.add("channel_id", channelId)
        o.add("caller_number", callerNumber)
        o.add("dialled_number", dialledNumber)
        o.add("language", language?.rawValue)
        o.add("ivr_path", ivrPath)
        o.add("topic_code", topic)
        o.add("started_at", startedAt.timeIntervalSince1970)
        o.add("ivr_ended_at", ivrEndedAt?.timeIntervalSince1970)
        o.add("queued_at", queuedAt?.timeIntervalSince1970)
        o.add("answered_at", answeredAt?.timeIntervalSince1970)
        o.add("ended_at", endedAt?.timeIntervalSince1970)
        o.add("wait_seconds", waitSeconds)
        o.add("talk_seconds", talkSeconds)
        o.add("operator_id", operatorId)
        o.add("outcome", outcome.rawValue)
        o.add("hangup_side", hangupSide?.rawValue)
        o.add("repeated", repeated)
        o.add("callback_number", callbackNumber)
    }
}

/// A `recordings` row, keys as the columns.
extension RecordingRecord: JSONRow {
    func write(_ o: inout JSONText.Object) {
        o.add("call_id", callId)
        o.add("name", name)
        o.add("format", format)
        o.add("asterisk_node", server)
        o.add("state", state.rawValue)
        o.add("error", error)
        o.add("duration_seconds", durationSeconds)
        o.add("size_bytes", sizeBytes)
        o.add("storage_path", storagePath)
        o.add("started_at", startedAt.timeIntervalSince1970)
        o.add("finished_at", finishedAt?.timeIntervalSince1970)
    }
}
