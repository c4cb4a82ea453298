import Foundation

/// Where the call flow keeps what must survive. The call flow never waits on it: writes go through
/// `CallJournal`, which retries until the store takes them.
public protocol CallStore: Sendable {
    func save(_ call: CallRecord) async throws
    func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String]) async throws
    func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date) async throws
    func saveRecording(_ recording: RecordingRecord) async throws
    func saveAlert(kind: String, message: String, callId: UUID?, at: Date) async throws
    func loadOperators() async throws -> [OperatorInfo]
    /// Calls that were in progress on `server` when the process or Asterisk stopped.
    func closeLostCalls(server: String, except: Set<String>, at: Date) async throws -> Int
    /// Calls on `server` whose rows are still in progress: what a restarted process carries on.
    func openCalls(server: String) async throws -> [CallRecord]
    /// Writes several journal entries at once, in order, all or none (one transaction where the store has them).
    func write(_ entries: [CallJournal.Entry]) async throws
    /// True when retrying cannot help (the data breaks a constraint), as opposed to the store being unreachable.
    func isPermanent(_ error: any Error) -> Bool
}

extension CallStore {
    public func isPermanent(_ error: any Error) -> Bool { false }

    public func openCalls(server: String) async throws -> [CallRecord] { [] }

    public func write(_ entries: [CallJournal.Entry]) async throws {
        for entry in entries { try await write(entry) }
    }

    public func write(_ entry: CallJournal.Entry) async throws {
        switch entry {
        case .call(let call): try await save(call)
        case .event(let id, let at, let kind, let data): try await appendEvent(callId: id, at: at, kind: kind, data: data)
        case .agentState(let id, let state, let reason, let call, let at):
            try await saveAgentState(operatorId: id, state: state, reason: reason, callId: call, at: at)
        case .recording(let recording): try await saveRecording(recording)
        case .alert(let kind, let message, let call, let at): try await saveAlert(kind: kind, message: message, callId: call, at: at)
        }
    }
}

/// A store in memory, for tests and for running without a database.
public actor InMemoryCallStore: CallStore {
    public private(set) var calls: [UUID: CallRecord] = [:]
    public private(set) var events: [(UUID, String, [String: String])] = []
    public private(set) var agentStates: [(Int64, AgentState, String?)] = []
    public private(set) var recordings: [String: RecordingRecord] = [:]
    public private(set) var alerts: [(String, String)] = []
    var operators: [OperatorInfo]
    /// While true every write fails, as a database outage would.
    public var failing = false

    public init(operators: [OperatorInfo] = []) { self.operators = operators }

    struct Unavailable: Error {}

    public func setFailing(_ value: Bool) { failing = value }

    public func write(_ entries: [CallJournal.Entry]) async throws {
        if failing { throw Unavailable() }
        for entry in entries { try await write(entry) }
    }

    public func save(_ call: CallRecord) async throws {
        if failing { throw Unavailable() }
        calls[call.id] = call
    }

    public func appendEvent(callId: UUID, at: Date, kind: String, data: [String: String]) async throws {
        if failing { throw Unavailable() }
        events.append((callId, kind, data))
    }

    public func saveAgentState(operatorId: Int64, state: AgentState, reason: String?, callId: UUID?, at: Date) async throws {
        if failing { throw Unavailable() }
        agentStates.append((operatorId, state, reason))
        // As the database's operators row: the current state is what `loadOperators` gives a restarted process.
        if let index = operators.firstIndex(where: { $0.id == operatorId }) {
            operators[index].state = state
            operators[index].pauseReason = reason
        }
    }

    public func saveRecording(_ recording: RecordingRecord) async throws {
        if failing { throw Unavailable() }
        recordings[recording.name] = recording
    }

    public func saveAlert(kind: String, message: String, callId: UUID?, at: Date) async throws {
        if failing { throw Unavailable() }
        alerts.append((kind, message))
    }

    public func loadOperators() async throws -> [OperatorInfo] { operators }

    public func closeLostCalls(server: String, except: Set<String>, at: Date) async throws -> Int {
        var closed = 0
        for (id, call) in calls where call.server == server && call.outcome == .inProgress && !except.contains(call.channelId) {
            calls[id]?.outcome = .lost
            calls[id]?.endedAt = at
            calls[id]?.hangupSide = .system
            closed += 1
        }
        return closed
    }

    public func openCalls(server: String) async throws -> [CallRecord] {
        calls.values.filter { $0.server == server && $0.outcome == .inProgress }
    }

    /// The data of the call's last event of `kind`.
    public func eventData(_ callId: UUID, _ kind: String) -> [String: String]? {
        events.last { $0.0 == callId && $0.1 == kind }?.2
    }

    public func eventKinds(_ callId: UUID) -> [String] { events.filter { $0.0 == callId }.map(\.1) }
}
