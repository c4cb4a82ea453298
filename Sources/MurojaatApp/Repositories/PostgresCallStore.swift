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

    /// Writes a journal batch in one transaction with one statement per kind of row (calls, events, agent
    /// states, recordings, alerts), whatever the batch's size: under load the journal's batches grow, and
    /// the cost per call falls instead of a round trip per entry. Several snapshots of one call (or of one
    /// recording) in a batch are folded into the last one first, as their one-by-one upserts would have left them.
    ///
    /// The statements are built first, then run as one chain on the connection's event loop (`transaction`).
    public func write(_ entries: [CallJournal.Entry]) async throws {
        let batch = JournalBatch(entries)
        var statements: [PostgresQuery] = []
        if !batch.calls.isEmpty { statements.append(callsQuery(batch.calls)) }
        if !batch.events.isEmpty { statements.append(Self.eventsQuery(batch.events)) }
        if !batch.agentStates.isEmpty { statements += Self.agentStateQueries(batch.agentStates) }
        if !batch.recordings.isEmpty { statements.append(Self.recordingsQuery(batch.recordings)) }
        for alert in batch.alerts { statements.append(Self.alertQuery(kind: alert.kind, message: alert.message, callId: alert.callId, at: alert.at)) }
        try await client.withConnection { connection in
            try await connection.transaction(statements, logger: PostgresConnection.sqlLogger)
        }
    }

    /// Constraint and data errors (SQLSTATE classes 22 and 23) cannot be cured by retrying.
    public func isPermanent(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    // Single entries take the batch's path: one set of statements, one transaction, one place to get right.
    public func save(_ call: CallRecord) async throws { try await write([.call(call)]) }

    public func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String]) async throws {
        try await write([.event(callId, at, kind, data)])
    }

    public func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date) async throws {
        try await write([.agentState(operatorId, state, reason, callId, at)])
    }

    public func saveRecording(_ r: RecordingRecord) async throws { try await write([.recording(r)]) }

    public func saveAlert(kind: String, message: String, callId: UUID?, at: Date) async throws {
        try await write([.alert(kind, message, callId, at)])
    }

    /// Calls as one upsert. `repeated` is decided once, at the first write, from the calls already stored.
    func callsQuery(_ calls: [CallRecord]) -> PostgresQuery {
        """
            WITH r AS (
                SELECT * FROM jsonb_to_recordset(\(JournalBatch.json(calls.map(CallRow.init)))::jsonb) AS r(
                    id uuid, direction text, asterisk_node text, channel_id text, caller_number text, dialled_number text, language text,
                    ivr_path text[], topic_code text, started_at double precision, ivr_ended_at double precision, queued_at double precision,
                    answered_at double precision, ended_at double precision, wait_seconds integer, talk_seconds integer, operator_id bigint,
                    outcome text, hangup_side text, repeated boolean, callback_number text))
            INSERT INTO calls (id, direction, asterisk_node, channel_id, caller_number, dialled_number, language, ivr_path, topic_code,
                               started_at, ivr_ended_at, queued_at, answered_at, ended_at, wait_seconds, talk_seconds, operator_id,
                               outcome, hangup_side, repeated, callback_number)
            SELECT r.id, r.direction, r.asterisk_node, r.channel_id, r.caller_number, r.dialled_number, r.language, coalesce(r.ivr_path, '{}'),
                   r.topic_code, to_timestamp(r.started_at), to_timestamp(r.ivr_ended_at), to_timestamp(r.queued_at),
                   to_timestamp(r.answered_at), to_timestamp(r.ended_at), r.wait_seconds, r.talk_seconds, r.operator_id,
                   r.outcome, r.hangup_side,
                   r.repeated OR (r.caller_number <> '' AND (EXISTS (
                       SELECT 1 FROM calls p WHERE p.caller_number = r.caller_number AND p.id <> r.id
                         AND p.started_at > to_timestamp(r.started_at) - make_interval(secs => \(repeatWindowSeconds))
                         AND p.started_at <= to_timestamp(r.started_at)) OR EXISTS (
                       SELECT 1 FROM r p WHERE p.caller_number = r.caller_number AND p.id <> r.id
                         AND p.started_at > r.started_at - \(repeatWindowSeconds) AND p.started_at <= r.started_at))),
                   r.callback_number
            FROM r
            ON CONFLICT (id) DO UPDATE SET
                channel_id = EXCLUDED.channel_id, language = EXCLUDED.language, ivr_path = EXCLUDED.ivr_path,
                topic_code = EXCLUDED.topic_code, ivr_ended_at = EXCLUDED.ivr_ended_at, queued_at = EXCLUDED.queued_at,
                answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at, wait_seconds = EXCLUDED.wait_seconds,
                talk_seconds = EXCLUDED.talk_seconds, operator_id = EXCLUDED.operator_id, outcome = EXCLUDED.outcome,
                hangup_side = EXCLUDED.hangup_side, callback_number = EXCLUDED.callback_number,
                repeated = calls.repeated OR EXCLUDED.repeated
            """
    }

    static func eventsQuery(_ events: [JournalBatch.Event]) -> PostgresQuery {
        """
        INSERT INTO call_events (call_id, at, kind, data)
        SELECT r.call_id, to_timestamp(r.at), r.kind, coalesce(r.data, '{}') FROM ROWS FROM (jsonb_to_recordset(\(JournalBatch.json(events))::jsonb)
            AS (call_id uuid, at double precision, kind text, data jsonb)) WITH ORDINALITY AS r(call_id, at, kind, data, n)
        ORDER BY r.n
        """
    }

    /// A batch of state changes in order. Each operator's open row is closed at its first change; every change
    /// but each operator's last is written already closed (at the next change); the operators' rows get
    /// their last state, and the end of their last call from the batch's last wrap-up.
    static func agentStateQueries(_ changes: [JournalBatch.AgentChange]) -> [PostgresQuery] {
        var rows: [JournalBatch.AgentRow] = []
        var lastIndex: [Int64: Int] = [:]
        var firstAt: [Int64: Date] = [:]
        var lastWrapUp: [Int64: Date] = [:]
        for change in changes {
            if let previous = lastIndex[change.operatorId] { rows[previous].ended_at = change.at.timeIntervalSince1970 }
            if firstAt[change.operatorId] == nil { firstAt[change.operatorId] = change.at }
            if change.state == .wrapUp { lastWrapUp[change.operatorId] = change.at }
            lastIndex[change.operatorId] = rows.count
            rows.append(JournalBatch.AgentRow(change))
        }
        let firsts = firstAt.map { JournalBatch.AgentRow(operator_id: $0.key, at: $0.value.timeIntervalSince1970) }
        var lasts: [JournalBatch.AgentRow] = []
        for (operatorId, index) in lastIndex {
            var row = rows[index]
            row.wrap_up_at = lastWrapUp[operatorId]?.timeIntervalSince1970
            lasts.append(row)
        }
        let close: PostgresQuery = """
            UPDATE agent_state_log l SET ended_at = greatest(l.started_at, to_timestamp(f.at))
            FROM jsonb_to_recordset(\(JournalBatch.json(firsts))::jsonb) AS f(operator_id bigint, at double precision)
            WHERE l.operator_id = f.operator_id AND l.ended_at IS NULL
            """
        let insert: PostgresQuery = """
            INSERT INTO agent_state_log (operator_id, state, reason, call_id, started_at, ended_at)
            SELECT r.operator_id, r.state, r.reason, c.id, to_timestamp(r.at),
                   CASE WHEN r.ended_at IS NULL THEN NULL ELSE greatest(to_timestamp(r.at), to_timestamp(r.ended_at)) END
            FROM ROWS FROM (jsonb_to_recordset(\(JournalBatch.json(rows))::jsonb)
                 AS (operator_id bigint, state text, reason text, call_id uuid, at double precision, ended_at double precision))
                 WITH ORDINALITY AS r(operator_id, state, reason, call_id, at, ended_at, n)
            LEFT JOIN calls c ON c.id = r.call_id
            ORDER BY r.n
            """
        let operators: PostgresQuery = """
            UPDATE operators o SET state = r.state, state_since = to_timestamp(r.at), pause_reason = r.reason,
                current_call_id = (SELECT id FROM calls WHERE id = r.call_id),
                last_call_ended_at = coalesce(to_timestamp(r.wrap_up_at), o.last_call_ended_at)
            FROM jsonb_to_recordset(\(JournalBatch.json(lasts))::jsonb)
                 AS r(operator_id bigint, state text, reason text, call_id uuid, at double precision, wrap_up_at double precision)
            WHERE o.id = r.operator_id
            """
        return [close, insert, operators]
    }

    static func recordingsQuery(_ recordings: [RecordingRecord]) -> PostgresQuery {
        return """
            INSERT INTO recordings (call_id, name, format, asterisk_node, state, error, duration_seconds, size_bytes, storage_path, started_at, finished_at)
            SELECT r.call_id, r.name, r.format, r.asterisk_node, r.state, r.error, r.duration_seconds, r.size_bytes, r.storage_path,
                   to_timestamp(r.started_at), to_timestamp(r.finished_at)
            FROM jsonb_to_recordset(\(JournalBatch.json(recordings.map(RecordingRow.init)))::jsonb) AS r(
                call_id uuid, name text, format text, asterisk_node text, state text, error text, duration_seconds integer,
                size_bytes bigint, storage_path text, started_at double precision, finished_at double precision)
            WHERE EXISTS (SELECT 1 FROM calls WHERE id = r.call_id)
            ON CONFLICT (name) DO UPDATE SET
                state = EXCLUDED.state, error = coalesce(EXCLUDED.error, recordings.error),
                duration_seconds = coalesce(EXCLUDED.duration_seconds, recordings.duration_seconds),
                size_bytes = coalesce(EXCLUDED.size_bytes, recordings.size_bytes),
                storage_path = coalesce(EXCLUDED.storage_path, recordings.storage_path),
                finished_at = coalesce(EXCLUDED.finished_at, recordings.finished_at)
            """
    }

    static func alertQuery(kind: String, message: String, callId: UUID?, at: Date) -> PostgresQuery {
        // An alert may quote what Asterisk or a caller sent; PostgreSQL's text cannot hold U+0000.
        let message = message.contains("\u{0}") ? message.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : message
        return """
        INSERT INTO alerts (kind, severity, message, call_id, created_at)
        VALUES (\(kind), CASE WHEN \(kind) = 'ari_connected' THEN 'info' ELSE 'warning' END, \(message), (SELECT id FROM calls WHERE id = \(callId)), \(at))
        """
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

    public func openCalls(server: String) async throws -> [CallRecord] {
        let rows = try await client.query("""
            SELECT id, direction, channel_id, caller_number, dialled_number, language, ivr_path, topic_code, started_at, ivr_ended_at,
                   queued_at, answered_at, wait_seconds, operator_id, repeated, callback_number
            FROM calls WHERE asterisk_node = \(server) AND outcome = 'in_progress'
            """, logger: logger)
        var calls: [CallRecord] = []
        for try await (id, direction, channel, caller, dialled, language, path, topic, started, ivrEnded, queued, answered, wait, operatorId,
                       repeated, callback) in rows.decode((UUID, String, String, String, String, String?, [String], String?, Date, Date?,
                                                          Date?, Date?, Int?, Int64?, Bool, String?).self) {
            var call = CallRecord(id: id, direction: direction, server: server, channelId: channel, callerNumber: caller,
                                  dialledNumber: dialled, startedAt: started)
            call.language = language.flatMap(Language.init(rawValue:))
            call.ivrPath = path
            call.topic = topic
            call.ivrEndedAt = ivrEnded
            call.queuedAt = queued
            call.answeredAt = answered
            call.waitSeconds = wait
            call.operatorId = operatorId
            call.repeated = repeated
            call.callbackNumber = callback
            calls.append(call)
        }
        return calls
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

extension PostgresConnection {
    static let sqlLogger = Logger(label: "murojaat.sql")

    /// `statements` in one transaction, run as a chain of futures on the connection's event loop: each answer is
    /// taken where it arrives and the next statement leaves from there. Awaiting each statement instead woke a
    /// thread of the shared pool for every answer and the loop again for every statement (about 16 thread
    /// switches per journal batch; now 2). On a failure the transaction is rolled back and the statement's own
    /// error is thrown (the journal tells permanent errors from passing ones by it).
    func transaction(_ statements: [PostgresQuery], logger: Logger) async throws {
        try await eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            var chain = self.query("BEGIN", logger: logger).map { _ in }
            for statement in statements {
                chain = chain.flatMap { self.query(statement, logger: logger).map { _ in } }
            }
            return chain.flatMap { self.query("COMMIT", logger: logger).map { _ in } }.flatMapError { error in
                // A connection that cannot roll back is closed rather than given back to the pool inside a transaction.
                self.query("ROLLBACK", logger: logger).map { _ in }.flatMapError { _ in self.close() }.recover { _ in }
                    .flatMapThrowing { throw error }
            }
        }.get()
    }
}
