import Foundation
import Synchronization

/// What the screen pop and the wallboard listen to.
public enum CallCenterEvent: Sendable, Equatable {
    case callStarted(CallRecord)
    case callQueued(CallRecord, position: Int)
    case callOffered(CallRecord, operatorId: Int64)
    case callAnswered(CallRecord, operatorId: Int64)
    case callEnded(CallRecord)
    case agentStateChanged(operatorId: Int64, state: AgentState, reason: String?)
    case alert(kind: String, message: String)
}

/// Fan-out of call-centre events to any number of in-process listeners. A listener for one operator (the
/// operator's panel) gets only that operator's events: with every panel of a 300-seat centre open, giving
/// each panel every event woke 300 tasks per event, about 2,400 per call, to throw nearly all away.
public final class CallCenterEvents: Sendable {
    struct Subscribers {
        var all: [UInt64: AsyncStream<CallCenterEvent>.Continuation] = [:]
        var byOperator: [Int64: [UInt64: AsyncStream<CallCenterEvent>.Continuation]] = [:]
        var next: UInt64 = 0
        var isEmpty: Bool { all.isEmpty && byOperator.isEmpty }
    }

    let subscribers = Mutex(Subscribers())

    public init() {}

    /// Every event (wallboard, tests).
    public func subscribe() -> AsyncStream<CallCenterEvent> {
        subscribe(operatorId: nil)
    }

    /// With `operatorId`, only that operator's events: its state changes, calls offered to or answered by
    /// it, and the end of its calls. Without, every event.
    public func subscribe(operatorId: Int64?) -> AsyncStream<CallCenterEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: CallCenterEvent.self, bufferingPolicy: .bufferingNewest(1000))
        let id = subscribers.withLock { subscribers in
            subscribers.next += 1
            let id = subscribers.next
            if let operatorId { subscribers.byOperator[operatorId, default: [:]][id] = continuation } else { subscribers.all[id] = continuation }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { subscribers in
                if let operatorId {
                    subscribers.byOperator[operatorId]?[id] = nil
                    if subscribers.byOperator[operatorId]?.isEmpty == true { subscribers.byOperator[operatorId] = nil }
                } else {
                    subscribers.all[id] = nil
                }
            }
        }
        return stream
    }

    /// Listeners: every-event ones, and those of the operator the event concerns.
    var count: Int { subscribers.withLock { $0.all.count + $0.byOperator.values.reduce(0) { $0 + $1.count } } }

    func publish(_ event: CallCenterEvent) {
        let operatorId = event.operatorId
        let targets = subscribers.withLock { subscribers -> [AsyncStream<CallCenterEvent>.Continuation] in
            if subscribers.isEmpty { return [] }
            var targets = Array(subscribers.all.values)
            if let operatorId, let listeners = subscribers.byOperator[operatorId] { targets += listeners.values }
            return targets
        }
        for continuation in targets { continuation.yield(event) }
    }
}

extension CallCenterEvent {
    /// The operator the event concerns, if any.
    public var operatorId: Int64? {
        switch self {
        case .agentStateChanged(let id, _, _), .callOffered(_, let id), .callAnswered(_, let id): id
        case .callEnded(let record): record.operatorId
        case .callStarted, .callQueued, .alert: nil
        }
    }
}
