import ARI
import CallCenter
import Foundation

/// A journal batch sorted into rows per table, as JSON records for `jsonb_to_recordset`: one bound
/// parameter per statement, nulls as missing keys, times as seconds since 1970 (microseconds kept).
struct JournalBatch {
    struct Event: JSONRow {
        var call_id: UUID
        var at: Double
        var kind: String
        var data: [String: String]

        init(callId: UUID, at: Date, kind: String, data: [String: String]) {
            call_id = callId
            self.at = at.timeIntervalSince1970
            self.kind = kind
            self.data = data
        }

        func write(_ o: inout JSONText.Object) {
            o.add("call_id", call_id.uuidString)
            o.add("at", at)
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
            o.add("call_id", call_id?.uuidString)
            o.add("at", at)
            o.add("ended_at", ended_at)
            o.add("wrap_up_at", wrap_up_at)
        }
    }

    struct CallRow: JSONRow {
        var id: UUID
        var direction: String
        var asterisk_node: String
        var channel_id: String
        var caller_number: String
        var dialled_number: String
        var language: String?
        var ivr_path: [String]
        var topic_code: String?
        var started_at: Double
        var ivr_ended_at: Double?
        var queued_at: Double?
        var answered_at: Double?
        var ended_at: Double?
        var wait_seconds: Int?
        var talk_seconds: Int?
        var operator_id: Int64?
        var outcome: String
        var hangup_side: String?
        var repeated: Bool
        var callback_number: String?

        init(_ call: CallRecord) {
            id = call.id
            direction = call.direction
            asterisk_node = call.server
            channel_id = call.channelId
            caller_number = call.callerNumber
            dialled_number = call.dialledNumber
            language = call.language?.rawValue
            ivr_path = call.ivrPath
            topic_code = call.topic
            started_at = call.startedAt.timeIntervalSince1970
            ivr_ended_at = call.ivrEndedAt?.timeIntervalSince1970
            queued_at = call.queuedAt?.timeIntervalSince1970
            answered_at = call.answeredAt?.timeIntervalSince1970
            ended_at = call.endedAt?.timeIntervalSince1970
            wait_seconds = call.waitSeconds
            talk_seconds = call.talkSeconds
            operator_id = call.operatorId
            outcome = call.outcome.rawValue
            hangup_side = call.hangupSide?.rawValue
            repeated = call.repeated
            callback_number = call.callbackNumber
        }

        func write(_ o: inout JSONText.Object) {
            o.add("id", id.uuidString)
            o.add("direction", direction)
            o.add("asterisk_node", asterisk_node)
            o.add("channel_id", channel_id)
            o.add("caller_number", caller_number)
            o.add("dialled_number", dialled_number)
            o.add("language", language)
            o.add("ivr_path", ivr_path)
            o.add("topic_code", topic_code)
            o.add("started_at", started_at)
            o.add("ivr_ended_at", ivr_ended_at)
            o.add("queued_at", queued_at)
            o.add("answered_at", answered_at)
            o.add("ended_at", ended_at)
            o.add("wait_seconds", wait_seconds)
            o.add("talk_seconds", talk_seconds)
            o.add("operator_id", operator_id)
            o.add("outcome", outcome)
            o.add("hangup_side", hangup_side)
            o.add("repeated", repeated)
            o.add("callback_number", callback_number)
        }
    }

    struct RecordingRow: JSONRow {
        var call_id: UUID
        var name: String
        var format: String
        var asterisk_node: String
        var state: String
        var error: String?
        var duration_seconds: Int?
        var size_bytes: Int?
        var storage_path: String?
        var started_at: Double
        var finished_at: Double?

        init(_ r: RecordingRecord) {
            call_id = r.callId
            name = r.name
            format = r.format
            asterisk_node = r.server
            state = r.state.rawValue
            error = r.error
            duration_seconds = r.durationSeconds
            size_bytes = r.sizeBytes
            storage_path = r.storagePath
            started_at = r.startedAt.timeIntervalSince1970
            finished_at = r.finishedAt?.timeIntervalSince1970
        }

        func write(_ o: inout JSONText.Object) {
            o.add("call_id", call_id.uuidString)
            o.add("name", name)
            o.add("format", format)
            o.add("asterisk_node", asterisk_node)
            o.add("state", state)
            o.add("error", error)
            o.add("duration_seconds", duration_seconds)
            o.add("size_bytes", size_bytes)
            o.add("storage_path", storage_path)
            o.add("started_at", started_at)
            o.add("finished_at", finished_at)
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
    static func json(_ rows: [some JSONRow]) -> String {
        JSONText.array(rows.map { row in
            var object = JSONText.Object()
            row.write(&object)
            return object
        })
    }
}

protocol JSONRow {
    func write(_ object: inout JSONText.Object)
}
