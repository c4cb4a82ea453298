@testable import CallCenter
import Foundation
import Logging
import Testing

@Suite("In-process call-centre events")
struct CallCenterEventsTests {
    @Test func anOperatorsListenerGetsOnlyThatOperatorsEvents() async throws {
        let events = CallCenterEvents()
        let everything = events.subscribe()
        let first = events.subscribe(operatorId: 1)
        let second = events.subscribe(operatorId: 2)
        var record = CallRecord(server: "ast1", channelId: "c1", callerNumber: "+998901234567", dialledNumber: "1000")
        events.publish(.callStarted(record))
        events.publish(.callQueued(record, position: 1))
        events.publish(.agentStateChanged(operatorId: 2, state: .ringing, reason: nil))
        events.publish(.callOffered(record, operatorId: 1))
        events.publish(.callAnswered(record, operatorId: 1))
        record.operatorId = 1
        events.publish(.callEnded(record))
        events.publish(.alert(kind: "recording_failed", message: "x"))
        events.publish(.agentStateChanged(operatorId: 1, state: .wrapUp, reason: nil))

        func take(_ stream: CallCenterEvents.Stream, _ count: Int) async -> [String] {
            var names: [String] = []
            for await event in stream {
                names.append(String(describing: event).prefix { $0 != "(" }.description)
                if names.count == count { break }
            }
            return names
        }
        #expect(await take(everything, 8) == ["callStarted", "callQueued", "agentStateChanged", "callOffered", "callAnswered", "callEnded", "alert", "agentStateChanged"])
        #expect(await take(first, 4) == ["callOffered", "callAnswered", "callEnded", "agentStateChanged"])
        #expect(await take(second, 1) == ["agentStateChanged"])
    }

    @Test func aListenerThatGoesAwayIsForgotten() async throws {
        let events = CallCenterEvents()
        var streams: [CallCenterEvents.Stream]? = [events.subscribe(operatorId: 7), events.subscribe(operatorId: 7), events.subscribe()]
        #expect(events.count == 3)
        _ = streams
        streams = nil
        #expect(events.count == 0)
        events.publish(.agentStateChanged(operatorId: 7, state: .ready, reason: nil)) // nobody listens: nothing happens
    }
}

@Suite("Call-centre events in batches", .timeLimit(.minutes(1)))
struct CallCenterEventBatchTests {
    @Test func aBatchReachesEachListenerOnceWithItsOwnEvents() async throws {
        let events = CallCenterEvents()
        let everything = events.subscribe(), first = events.subscribe(operatorId: 1), second = events.subscribe(operatorId: 2)
        let record = CallRecord(server: "ast1", channelId: "c1", callerNumber: "+998901234567", dialledNumber: "1000")
        events.publish([.callOffered(record, operatorId: 1), .agentStateChanged(operatorId: 1, state: .ringing, reason: nil),
                        .agentStateChanged(operatorId: 2, state: .paused, reason: "no_answer"), .callQueued(record, position: 1)])
        var all = everything.batches.makeAsyncIterator(), one = first.batches.makeAsyncIterator(), two = second.batches.makeAsyncIterator()
        #expect(await all.next()?.count == 4)
        #expect(await one.next() == [.callOffered(record, operatorId: 1), .agentStateChanged(operatorId: 1, state: .ringing, reason: nil)])
        #expect(await two.next() == [.agentStateChanged(operatorId: 2, state: .paused, reason: "no_answer")])
        events.publish([])
        events.publish(.agentStateChanged(operatorId: 2, state: .ready, reason: nil))
        #expect(await two.next() == [.agentStateChanged(operatorId: 2, state: .ready, reason: nil)])
    }

    @Test func theCallFlowPublishesAStepsEventsTogether() async throws {
        let center = CallCenter(settings: CallCenterSettings(), journal: CallJournal(store: InMemoryCallStore(), logger: Logger(label: "test")))
        let listener = center.events.subscribe(operatorId: 5)
        await center.loadOperators([OperatorInfo(id: 5, name: "Five", extensionNumber: "105", endpoint: "PJSIP/105", skills: [.uz])])
        try await center.setAgentState(5, .ready)
        try await center.setAgentState(5, .paused, reason: "break")
        var batches = listener.batches.makeAsyncIterator()
        // Two steps: together when they fall within the hand-over window, else one batch each; in order either way.
        var received: [CallCenterEvent] = []
        var count = 0
        while received.count < 2, let batch = await batches.next() {
            received += batch
            count += 1
        }
        #expect(received == [.agentStateChanged(operatorId: 5, state: .ready, reason: nil),
                             .agentStateChanged(operatorId: 5, state: .paused, reason: "break")])
        #expect(count <= 2)
        // One step's events (one turn of the call flow): always one batch. Each is published after the batch
        // before it was received, so nothing else joins it.
        await center.publishTogether([.agentStateChanged(operatorId: 5, state: .ready, reason: nil),
                                      .agentStateChanged(operatorId: 5, state: .onCall, reason: nil)])
        #expect(await batches.next()?.count == 2)
        try await center.setAgentState(5, .paused, reason: "break")
        #expect(await batches.next()?.count == 1)
    }
}

extension CallCenter {
    /// Publishes `events` from one step of the call flow.
    func publishTogether(_ events: [CallCenterEvent]) {
        for event in events { publish(event) }
    }
}
