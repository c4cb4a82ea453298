import CallCenter
import Foundation
import Logging
import PostgresNIO

/// The call flow's records in PostgreSQL. Every write is idempotent, so the journal may retry freely.
public struct PostgresCallStore: CallStore {
    let client: PostgresClient
    let logger: Logger
    let repeatWindowSeconds: Double

    public init(client: PostgresClient, repeatWindowSeconds: Double = 24 * 3600, logger: Logger) {
        self.client = client
        self.logger = logger
        self.repeatWindowSeconds = repeatWindowSeconds
    }

    public func write(_ entries: [CallJournal.Entry]) async throws {
        do {
            try await client.withTransaction(logger: logger) { connection in
                for entry in entries {
                    switch entry {
                    case .call(let call): try await save(call, on: connection)
                    case .event(let id, let at, let kind, let data): try await appendEvent(callId: id, at: at, kind: kind, data: data, on: connection)
                    case .agentState(let id, let state, let reason, let call, let at):
                        try await saveAgentState(operatorId: id, state: state, reason: reason, callId: call, at: at, on: connection)
                    case .recording(let recording): try await saveRecording(recording, on: connection)
                    case .alert(let kind, let message, let call, let at): try await saveAlert(kind: kind, message: message, callId: call, at: at, on: connection)
                    }
                }
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    /// Constraint and data errors (SQLSTATE classes 22 and 23) cannot be cured by retrying.
    public func isPermanent(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    public func save(_ call: CallRecord) async throws { try await save(call, on: client) }

    public func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String]) async throws {
        try await appendEvent(callId: callId, at: at, kind: kind, data: data, on: client)
    }

    public func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await saveAgentState(operatorId: operatorId, state: state, reason: reason, callId: callId, at: at, on: connection)
        }
    }

    public func saveRecording(_ r: RecordingRecord) async throws { try await saveRecording(r, on: client) }

    public func saveAlert(kind: String, message: String, callId: UUID?, at: Date) async throws {
        try await saveAlert(kind: kind, message: message, callId: callId, at: at, on: client)
    }

    func save(_ call: CallRecord, on db: some Queryable) async throws {
        let id = call.id, language = call.language?.rawValue, outcome = call.outcome.rawValue, side = call.hangupSide?.rawValue
        // `repeated` is decided once, at the first write, from the calls already stored.
        try await db.run("""
            INSERT INTO calls (id, direction, asterisk_node, channel_id, caller_number, dialled_number, language, ivr_path, topic_code,
                               started_at, ivr_ended_at, queued_at, answered_at, ended_at, wait_seconds, talk_seconds, operator_id,
                               outcome, hangup_side, repeated, callback_number)
            VALUES (\(id), \(call.direction), \(call.server), \(call.channelId), \(call.callerNumber), \(call.dialledNumber), \(language),
                    \(call.ivrPath), \(call.topic), \(call.startedAt), \(call.ivrEndedAt), \(call.queuedAt), \(call.answeredAt), \(call.endedAt),
                    \(call.waitSeconds), \(call.talkSeconds), \(call.operatorId), \(outcome), \(side),
                    \(call.repeated) OR (\(call.callerNumber) <> '' AND EXISTS (
                        SELECT 1 FROM calls p WHERE p.caller_number = \(call.callerNumber) AND p.id <> \(id)
                          AND p.started_at > \(call.startedAt) - make_interval(secs => \(repeatWindowSeconds)) AND p.started_at <= \(call.startedAt))),
                    \(call.callbackNumber))
            ON CONFLICT (id) DO UPDATE SET
                channel_id = EXCLUDED.channel_id, language = EXCLUDED.language, ivr_path = EXCLUDED.ivr_path,
                topic_code = EXCLUDED.topic_code, ivr_ended_at = EXCLUDED.ivr_ended_at, queued_at = EXCLUDED.queued_at,
                answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at, wait_seconds = EXCLUDED.wait_seconds,
                talk_seconds = EXCLUDED.talk_seconds, operator_id = EXCLUDED.operator_id, outcome = EXCLUDED.outcome,
                hangup_side = EXCLUDED.hangup_side, callback_number = EXCLUDED.callback_number,
                repeated = calls.repeated OR EXCLUDED.repeated
            """)
    }

    func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String], on db: some Queryable) async throws {
        let json = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        try await db.run("INSERT INTO call_events (call_id, at, kind, data) VALUES (\(callId), \(at), \(kind), \(json)::jsonb)")
    }

    func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date, on connection: PostgresConnection) async throws {
        let name = state.rawValue
        do {
            try await connection.run("""
                UPDATE agent_state_log SET ended_at = greatest(started_at, \(at)) WHERE operator_id = \(operatorId) AND ended_at IS NULL
                """)
            try await connection.run("""
                INSERT INTO agent_state_log (operator_id, state, reason, call_id, started_at)
                VALUES (\(operatorId), \(name), \(reason), (SELECT id FROM calls WHERE id = \(callId)), \(at))
                """)
            try await connection.run("""
                UPDATE operators SET state = \(name), state_since = \(at), pause_reason = \(reason),
                    current_call_id = (SELECT id FROM calls WHERE id = \(callId)),
                    last_call_ended_at = CASE WHEN \(name) = 'wrap_up' THEN \(at) ELSE last_call_ended_at END
                WHERE id = \(operatorId)
                """)
        }
    }

    func saveRecording(_ r: RecordingRecord, on db: some Queryable) async throws {
        let state = r.state.rawValue
        let size = r.sizeBytes.map(Int64.init)
        try await db.run("""
            INSERT INTO recordings (call_id, name, format, asterisk_node, state, error, duration_seconds, size_bytes, storage_path, started_at, finished_at)
            SELECT \(r.callId), \(r.name), \(r.format), \(r.server), \(state), \(r.error), \(r.durationSeconds), \(size), \(r.storagePath), \(r.startedAt), \(r.finishedAt)
            WHERE EXISTS (SELECT 1 FROM calls WHERE id = \(r.callId))
            ON CONFLICT (name) DO UPDATE SET
                state = EXCLUDED.state, error = coalesce(EXCLUDED.error, recordings.error),
                duration_seconds = coalesce(EXCLUDED.duration_seconds, recordings.duration_seconds),
                size_bytes = coalesce(EXCLUDED.size_bytes, recordings.size_bytes),
                storage_path = coalesce(EXCLUDED.storage_path, recordings.storage_path),
                finished_at = coalesce(EXCLUDED.finished_at, recordings.finished_at)
            """)
    }

    func saveAlert(kind: String, message: String, callId: UUID?, at: Date, on db: some Queryable) async throws {
        try await db.run("""
            INSERT INTO alerts (kind, severity, message, call_id, created_at)
            VALUES (\(kind), CASE WHEN \(kind) = 'ari_connected' THEN 'info' ELSE 'warning' END, \(message), (SELECT id FROM calls WHERE id = \(callId)), \(at))
            """)
    }

    public func loadOperators() async throws -> [OperatorInfo] {
        let rows = try await client.query("""
            SELECT o.id, u.full_name, o.extension, o.endpoint, o.skill_uz, o.skill_ru, o.state, o.pause_reason
            FROM operators o JOIN users u ON u.id = o.user_id WHERE u.active ORDER BY o.id
            """, logger: logger)
        var operators: [OperatorInfo] = []
        for try await (id, name, ext, endpoint, uz, ru, state, reason) in rows.decode((Int64, String, String, String, Bool, Bool, String, String?).self) {
            var skills: Set<Language> = []
            if uz { skills.insert(.uz) }
            if ru { skills.insert(.ru) }
            // After a restart nobody is mid-call: busy states come back as ready, pauses and offline stay.
            let restored: AgentState = switch AgentState(rawValue: state) ?? .offline {
            case .ringing, .onCall, .wrapUp: .ready
            case let other: other
            }
            operators.append(OperatorInfo(id: id, name: name, extensionNumber: ext, endpoint: endpoint, skills: skills, state: restored, pauseReason: reason))
        }
        return operators
    }

    public func closeLostCalls(server: String, except: Set<String>, at: Date) async throws -> Int {
        let keep = Array(except)
        let rows = try await client.query("""
            UPDATE calls SET outcome = 'lost', hangup_side = 'system', ended_at = \(at)
            WHERE asterisk_node = \(server) AND outcome IN ('in_progress') AND NOT (channel_id = ANY(\(keep)))
            RETURNING id
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}

/// A client or a connection inside a transaction.
protocol Queryable: Sendable {
    func perform(_ query: PostgresQuery, file: String, line: Int) async throws -> PostgresRowSequence
}

extension PostgresClient: Queryable {
    func perform(_ query: PostgresQuery, file: String, line: Int) async throws -> PostgresRowSequence {
        try await self.query(query, logger: nil, file: file, line: line)
    }
}

extension PostgresConnection: Queryable {
    func perform(_ query: PostgresQuery, file: String, line: Int) async throws -> PostgresRowSequence {
        try await self.query(query, logger: Logger(label: "murojaat.sql"), file: file, line: line)
    }
}

extension Queryable {
    @discardableResult
    func run(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try await perform(query, file: file, line: line)
    }
}
