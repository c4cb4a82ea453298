import Foundation
import Synchronization

/// What the screen pop and the wallboard listen to.
public enum CallCenterEvent: Sendable, Equatable {
    case callStarted(CallRecord)
    case callQueued(CallRecord, position: Int)
    case callOffered(CallRecord, operatorId: Int64)
    case callAnswered(CallRecord, operatorId: Int64)
    /// The offer to this operator ended without an answer (rang out, refused, unreachable, the caller hung up, or
    /// the phone's channel went during a reconnect): the panel takes the offered caller card down.
    case offerEnded(callId: UUID, operatorId: Int64)
    case callEnded(CallRecord)
    /// The operator's phone went offline on Asterisk (not registered: no calls are offered to them) or came back.
    case phoneReachability(operatorId: Int64, reachable: Bool)
    case agentStateChanged(operatorId: Int64, state: AgentState, reason: String?)
    case alert(kind: String, message: String)
}

/// Fan-out of call-centre events to any number of in-process listeners. A listener for one operator (the
/// operator's panel) gets only that operator's events: with every panel of a 300-seat centre open, giving
/// each panel every event woke 300 tasks per event, about 2,400 per call, to throw nearly all away.
///
/// Events travel in batches: what the call flow publishes until its loop gets to the flush (an operator
/// offered a call and ringing, a call ending and its operator going to wrap-up) reaches each listener
/// together, one wake-up of its task instead of one per event. Listeners still see single events, in order.
/// A listener that does not keep up loses the oldest batches beyond 1,000 (a batch is a few events; a
/// resynchronisation that ends many calls at once makes one larger batch).
public final class CallCenterEvents: Sendable {
    typealias Continuation = AsyncStream<[CallCenterEvent]>.Continuation

    struct Subscribers {
        var all: [UInt64: Continuation] = [:]
        var byOperator: [Int64: [UInt64: Continuation]] = [:]
        var next: UInt64 = 0
        var isEmpty: Bool { all.isEmpty && byOperator.isEmpty }
    }

    let subscribers = Mutex(Subscribers())

    /// Batches the call flow hands over (`handOver`), fanned out in order by one task of the shared pool.
    let relay: AsyncStream<[CallCenterEvent]>.Continuation

    public init() {
        // Bounded as the listeners' own streams are: if the pool were starved for long, the oldest batches go.
        let (batches, relay) = AsyncStream.makeStream(of: [CallCenterEvent].self, bufferingPolicy: .bufferingNewest(10_000))
        self.relay = relay
        Task.detached { [weak self] in
            for await batch in batches {
                guard let self else { return }
                self.publish(batch)
            }
        }
    }

    deinit { relay.finish() }

    /// From the call flow's thread: one wake-up of the pool, whose task then wakes the listeners. Waking each
    /// listener's task from the call flow's thread poked an idle pool thread per listener (about four per
    /// hand-over, over a thousand per second-and-a-bit at 180 calls/s), each a thread switch on both sides.
    func handOver(_ batch: [CallCenterEvent]) {
        guard !batch.isEmpty else { return }
        relay.yield(batch)
    }


    /// A listener's events, one at a time, in the order they were published.
    public struct Stream: AsyncSequence, Sendable {
        public typealias Element = CallCenterEvent
        let batches: AsyncStream<[CallCenterEvent]>

        public struct AsyncIterator: AsyncIteratorProtocol {
            var batches: AsyncStream<[CallCenterEvent]>.AsyncIterator
            var batch: [CallCenterEvent] = []
            var index = 0

            public mutating func next() async -> CallCenterEvent? {
                await next(isolation: nil)
            }

            /// On the caller's actor, as `AsyncStream` does: an isolated listener does not hop per event.
            public mutating func next(isolation actor: isolated (any Actor)?) async -> CallCenterEvent? {
                while index == batch.count {
                    guard let next = await batches.next(isolation: actor) else { return nil }
                    batch = next
                    index = 0
                }
                defer { index += 1 }
                return batch[index]
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(batches: batches.makeAsyncIterator()) }
    }

    /// Every event (wallboard, tests).
    public func subscribe() -> Stream {
        subscribe(operatorId: nil)
    }

    /// With `operatorId`, only that operator's events: its state changes, calls offered to or answered by
    /// it, and the end of its calls. Without, every event.
    public func subscribe(operatorId: Int64?) -> Stream {
        let (stream, continuation) = AsyncStream.makeStream(of: [CallCenterEvent].self, bufferingPolicy: .bufferingNewest(1000))
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
        return Stream(batches: stream)
    }

    /// Whether anyone listens at all.
    var hasListeners: Bool { subscribers.withLock { !$0.isEmpty } }

    /// Listeners: every-event ones, and those of the operator the event concerns.
    var count: Int { subscribers.withLock { $0.all.count + $0.byOperator.values.reduce(0) { $0 + $1.count } } }

    func publish(_ event: CallCenterEvent) {
        publish([event])
    }

    /// Gives every-event listeners the whole batch and each operator's listeners that operator's events in it.
    func publish(_ batch: [CallCenterEvent]) {
        guard !batch.isEmpty else { return }
        var operators: [Int64] = []
        for event in batch {
            if let id = event.operatorId, !operators.contains(id) { operators.append(id) }
        }
        let (everything, concerned) = subscribers.withLock { subscribers -> ([Continuation], [(Int64, Continuation)]) in
            if subscribers.isEmpty { return ([], []) }
            var concerned: [(Int64, Continuation)] = []
            if !subscribers.byOperator.isEmpty {
                for id in operators {
                    guard let listeners = subscribers.byOperator[id] else { continue }
                    for listener in listeners.values { concerned.append((id, listener)) }
                }
            }
            return (Array(subscribers.all.values), concerned)
        }
        for continuation in everything { continuation.yield(batch) }
        guard !concerned.isEmpty else { return }
        // Commonly the whole batch concerns one operator: it goes as it is, without a filtered copy.
        if operators.count == 1, batch.allSatisfy({ $0.operatorId != nil }) {
            for (_, continuation) in concerned { continuation.yield(batch) }
            return
        }
        for (id, continuation) in concerned { continuation.yield(batch.filter { $0.operatorId == id }) }
    }
}

extension CallCenterEvent {
    /// The operator the event concerns, if any.
    public var operatorId: Int64? {
        switch self {
        case .agentStateChanged(let id, _, _), .callOffered(_, let id), .callAnswered(_, let id), .offerEnded(_, let id),
             .phoneReachability(let id, _): id
        case .callEnded(let record): record.operatorId
        case .callStarted, .callQueued, .alert: nil
        }
    }
}
