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

/// Fan-out of call-centre events to any number of in-process listeners.
public final class CallCenterEvents: Sendable {
    let subscribers = Mutex<[UUID: AsyncStream<CallCenterEvent>.Continuation]>([:])

    public init() {}

    public func subscribe() -> AsyncStream<CallCenterEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: CallCenterEvent.self, bufferingPolicy: .bufferingNewest(1000))
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.removeValue(forKey: id) } }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    func publish(_ event: CallCenterEvent) {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(event) }
    }
}
