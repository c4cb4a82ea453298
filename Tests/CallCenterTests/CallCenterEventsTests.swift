@testable import CallCenter
import Foundation
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

        func take(_ stream: AsyncStream<CallCenterEvent>, _ count: Int) async -> [String] {
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
        var streams: [AsyncStream<CallCenterEvent>]? = [events.subscribe(operatorId: 7), events.subscribe(operatorId: 7), events.subscribe()]
        #expect(events.count == 3)
        _ = streams
        streams = nil
        #expect(events.count == 0)
        events.publish(.agentStateChanged(operatorId: 7, state: .ready, reason: nil)) // nobody listens: nothing happens
    }
}
