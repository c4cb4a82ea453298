import ARI
import CallCenter
import Foundation
import NIOCore
import PostgresNIO

/// A journal batch sorted into rows per table, as JSON records for `jsonb_to_recordset` (Codable): one bound
/// parameter per statement, nulls as missing keys, times as seconds since 1970.
struct JournalBatch {
    struct Event: Encodable {
        var callId: UUID
        var at: Date
        var kind: String
        var data: [String: String]

        enum CodingKeys: String, CodingKey { case call_id, at, kind, data }

        func encode(to encoder: any Encoder) throws {
            var row = encoder.container(keyedBy: CodingKeys.self)
            try row.encode(callId, forKey: .call_id)
            try row.encode(at.timeIntervalSince1970, forKey: .at)
            try row.encodeText(kind, forKey: .kind)
            try row.encode(Dictionary(data.map { (JournalBatch.clean($0.key), JournalBatch.clean($0.value)) }, uniquingKeysWith: { first, _ in first }),
                           forKey: .data)
        }
    }

    struct AgentChange {
        var operatorId: Int64
        var state: AgentState
        var reason: String?
        var callId: UUID?
        var at: Date
    }

    struct AgentRow: Encodable {
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
            reason = change.reason.map(JournalBatch.clean)
            call_id = change.callId
            at = change.at.timeIntervalSince1970
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

    /// The rows as a JSON array (nil members left out).
    static func json(_ rows: [some Encodable]) -> String {
        do {
            return String(decoding: try encoder.encode(rows), as: UTF8.self)
        } catch {
            // Rows hold text, ids, whole numbers and finite times only (non-finite ones are written as text).
            preconditionFailure("a journal row could not be written as JSON: \(error)")
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()

    /// Text as PostgreSQL's `text` and `jsonb` can hold it: U+0000 (which a caller's number or an Asterisk
    /// event may carry) becomes U+FFFD instead of failing the whole batch.
    static func clean(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }
}

extension KeyedEncodingContainer {
    /// Text cleaned for PostgreSQL (`JournalBatch.clean`); nil is left out.
    mutating func encodeText(_ text: String?, forKey key: Key) throws {
        try encodeIfPresent(text.map(JournalBatch.clean), forKey: key)
    }
}

/// A `calls` row, keys as the columns.
struct CallRow: Encodable {
    let call: CallRecord

    enum CodingKeys: String, CodingKey {
        case id, direction, asterisk_node, channel_id, caller_number, dialled_number, language, ivr_path, topic_code, started_at, ivr_ended_at,
             queued_at, answered_at, ended_at, wait_seconds, talk_seconds, operator_id, outcome, hangup_side, repeated, callback_number
    }

    func encode(to encoder: any Encoder) throws {
        var row = encoder.container(keyedBy: CodingKeys.self)
        try row.encode(call.id, forKey: .id)
        try row.encodeText(call.direction, forKey: .direction)
        try row.encodeText(call.server, forKey: .asterisk_node)
        try row.encodeText(call.channelId, forKey: .channel_id)
        try row.encodeText(call.callerNumber, forKey: .caller_number)
        try row.encodeText(call.dialledNumber, forKey: .dialled_number)
        try row.encodeText(call.language?.rawValue, forKey: .language)
        try row.encode(call.ivrPath.map(JournalBatch.clean), forKey: .ivr_path)
        try row.encodeText(call.topic, forKey: .topic_code)
        try row.encode(call.startedAt.timeIntervalSince1970, forKey: .started_at)
        try row.encodeIfPresent(call.ivrEndedAt?.timeIntervalSince1970, forKey: .ivr_ended_at)
        try row.encodeIfPresent(call.queuedAt?.timeIntervalSince1970, forKey: .queued_at)
        try row.encodeIfPresent(call.answeredAt?.timeIntervalSince1970, forKey: .answered_at)
        try row.encodeIfPresent(call.endedAt?.timeIntervalSince1970, forKey: .ended_at)
        try row.encodeIfPresent(call.waitSeconds, forKey: .wait_seconds)
        try row.encodeIfPresent(call.talkSeconds, forKey: .talk_seconds)
        try row.encodeIfPresent(call.operatorId, forKey: .operator_id)
        try row.encode(call.outcome.rawValue, forKey: .outcome)
        try row.encodeIfPresent(call.hangupSide?.rawValue, forKey: .hangup_side)
        try row.encode(call.repeated, forKey: .repeated)
        try row.encodeText(call.callbackNumber, forKey: .callback_number)
    }
}

/// A `recordings` row, keys as the columns.
struct RecordingRow: Encodable {
    let recording: RecordingRecord

    enum CodingKeys: String, CodingKey {
        case call_id, name, format, asterisk_node, state, error, duration_seconds, size_bytes, storage_path, started_at, finished_at
    }

    func encode(to encoder: any Encoder) throws {
        var row = encoder.container(keyedBy: CodingKeys.self)
        let r = recording
        try row.encode(r.callId, forKey: .call_id)
        try row.encodeText(r.name, forKey: .name)
        try row.encodeText(r.format, forKey: .format)
        try row.encodeText(r.server, forKey: .asterisk_node)
        try row.encode(r.state.rawValue, forKey: .state)
        try row.encodeText(r.error, forKey: .error)
        try row.encodeIfPresent(r.durationSeconds, forKey: .duration_seconds)
        try row.encodeIfPresent(r.sizeBytes, forKey: .size_bytes)
        try row.encodeText(r.storagePath, forKey: .storage_path)
        try row.encode(r.startedAt.timeIntervalSince1970, forKey: .started_at)
        try row.encodeIfPresent(r.finishedAt?.timeIntervalSince1970, forKey: .finished_at)
    }
}
