import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
@testable import MurojaatApp
import PostgresNIO
import Synchronization
import Testing

@Suite("The operator's panel: state, live caller card, appeal card", .serialized)
struct OperatorPanelTests {
    /// A call comes in; the operator's open panel receives the caller card over Server-Sent Events
    /// (number, language, IVR topic), the operator saves the appeal card linked to that call.
    @Test func screenPopAndAppealCardLinkedToTheCall() async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let sim = try #require(world.simulator), center = try #require(world.center)
            let op = Visitor(client)
            try await op.signIn("operator")
            let panel = try await op.request(.get, "/panel")
            #expect(String(buffer: panel.body).contains("id=\"agent-state\""))
            #expect(try await op.request(.post, "/panel/state", form: ["_csrf": op.token, "state": "paused", "reason": "nap"]).status == .badRequest)
            #expect(try await op.request(.post, "/panel/state", form: ["_csrf": op.token, "state": "ready"]).status == .seeOther)
            let operatorId = try #require(world.operators["operator"])
            #expect(await center.agentSnapshot().first { $0.id == operatorId }?.state == .ready)

            // The panel's event stream, read as a browser would.
            let stream = PanelStream(port: try #require(client.port), visitor: op)
            let waitFor = stream.waitFor
            try await waitFor("\"state\":\"ready\"")

            // Other operator pauses so the call comes to ours.
            let channel = try await callAndChoose(sim, center, choice: "3")
            try await waitFor("event: call")
            try await waitFor("\"phase\":\"answered\"")
            try await waitFor("\"state\":\"on_call\"")
            let text = stream.received.withLock { $0 }
            #expect(text.contains("\"number\":\"+998901112233\""))
            #expect(text.contains("\"language\":\"O'zbekcha\""))
            let idRange = try #require(text.range(of: #""callId":"[0-9a-f-]{36}""#, options: .regularExpression))
            let callId = String(text[idRange].dropFirst(10).dropLast())

            // Another operator cannot attach an appeal to this call.
            let other = Visitor(client)
            try await other.signIn("operator2")
            var card = BackOfficeTests.validPublic
            card["outcome"] = "resolved"
            card["call_id"] = callId
            card["_csrf"] = other.token
            let refused = try await other.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"])
            #expect(refused.status == .unprocessableContent)
            card["_csrf"] = op.token
            let saved = try await op.request(.post, "/panel/appeal", form: card, headers: [.accept: "application/json"])
            #expect(saved.status == .created)
            #expect(try await rowCount(world.database, "SELECT count(*) FROM appeals WHERE call_id = \(UUID(uuidString: callId)!)") == 1)

            try await sim.remoteHangup(channel)
            try await waitFor("event: ended")
            try await waitFor("\"state\":\"wrap_up\"")
            await stream.close()
        }
    }

    /// Issue 18.6: when the phone rings out, the panel's offered caller card is taken down (not only `state: paused`).
    @Test func anOfferThatEndsUnansweredTakesTheCardDown() async throws {
        try await BackOffice.run(telephony: true) { world, client in
            let sim = try #require(world.simulator), center = try #require(world.center)
            await sim.setPhone("101", .init(mode: .noAnswer))
            let op = Visitor(client)
            try await op.signIn("operator")
            #expect(try await op.request(.post, "/panel/state", form: ["_csrf": op.token, "state": "ready"]).status == .seeOther)
            let stream = PanelStream(port: try #require(client.port), visitor: op)
            let waitFor = stream.waitFor
            try await waitFor("\"state\":\"ready\"")
            let channel = try await callAndChoose(sim, center, choice: "3")
            try await waitFor("\"phase\":\"offered\"")
            try await waitFor("event: unoffered")
            try await waitFor("\"state\":\"paused\"")
            let text = stream.received.withLock { $0 }
            let offered = try #require(text.range(of: #""callId":"[0-9a-f-]{36}""#, options: .regularExpression))
            let unoffered = try #require(text.range(of: "event: unoffered"))
            #expect(text[unoffered.upperBound...].contains(text[offered]), "the card taken down is the one offered")
            try await sim.remoteHangup(channel)
            await stream.close()
        }
    }
}

/// An operator's panel event stream (`/panel/events`), read as a browser reads it.
final class PanelStream: Sendable {
    let received = Mutex("")
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    let reader = Mutex<Task<Void, any Error>?>(nil)

    init(port: Int, visitor: Visitor) {
        let cookie = visitor.cookies.withLock { $0.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        reader.withLock {
            $0 = Task { @Sendable [self] in
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/panel/events")
                request.headers.add(name: "Cookie", value: cookie)
                request.headers.add(name: "Accept", value: "text/event-stream")
                let response = try await self.http.execute(request, timeout: .seconds(60))
                #expect(response.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
                for try await chunk in response.body { self.received.withLock { $0 += String(buffer: chunk) } }
            }
        }
    }

    /// Waits up to 10 s until the stream has carried `text`.
    @Sendable func waitFor(_ text: String) async throws {
        let clock = ContinuousClock(), deadline = clock.now.advanced(by: .seconds(10))
        while !received.withLock({ $0.contains(text) }), clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(received.withLock { $0.contains(text) }, "the stream carries \(text)")
    }

    func close() async {
        reader.withLock { $0?.cancel() }
        try? await http.shutdown()
    }
}
