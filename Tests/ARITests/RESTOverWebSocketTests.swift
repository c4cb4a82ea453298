@testable import ARI
import AsteriskSimulator
import Foundation
import HTTPTypes
import Logging
import Synchronization
import TestSupport
import Testing
import WSClient

@Suite("ARI REST over WebSocket (RESTRequest / RESTResponse on the events socket)")
struct RESTOverWebSocketTests {
    /// The client's requests travel on the socket once the probe is answered; answers, errors, bodies and
    /// typed results are the same as over HTTP; a recording's file still comes over HTTP.
    @Test func requestsTravelOverTheSocket() async throws {
        try await withSimulator { sim, ari in
            try await withEvents(ari) { recorder, connection in
                try await waitUntil("REST over the socket") { connection.restOverWebSocket }
                let client = ARIClient(connection: connection)
                await sim.clearRequests()
                #expect(try await client.ping().ping == "pong")
                let channel = try await client.originate(OriginateParameters(endpoint: "PJSIP/101", channelId: "ws-1", appArgs: "operator,x",
                                                                             callerId: "+998901234567", timeout: 5, variables: ["CC_LANG": "uz \"x\""]))
                #expect(channel.id == "ws-1" && channel.caller.number == "+998901234567")
                try await client.setGlobalVariable("CC_TOPIC", value: "o'z \"tili\" ç & = ?")
                #expect(try await client.globalVariable("CC_TOPIC") == "o'z \"tili\" ç & = ?")
                await #expect(throws: ARIError.notFound("Channel not found")) { try await client.answer("nobody") }
                await #expect(throws: ARIError.badRequest("Endpoint must be specified")) {
                    _ = try await client.originate(OriginateParameters(endpoint: ""))
                }
                try await client.hangup("ws-1")
                let requests = await sim.receivedRequests()
                #expect(!requests.isEmpty && requests.allSatisfy(\.overWebSocket), "\(requests)")
                #expect(requests.contains { $0.method == "POST" && $0.path == "/channels" && $0.query["endpoint"] == "PJSIP/101" })
                _ = recorder
            }
        }
    }

    /// An Asterisk before 20.14/21.9/22.4 ignores the frames: the probe times out and requests go over HTTP.
    @Test func anOlderAsteriskIsSpokenToOverHTTP() async throws {
        var config = SimulatorConfiguration.testing()
        config.restOverWebSocket = false
        try await withSimulator(config) { sim, ari in
            try await withEvents(ari) { _, connection in
                let client = ARIClient(connection: connection)
                #expect(try await client.ping().ping == "pong")
                try await Task.sleep(for: .milliseconds(3300))
                #expect(!connection.restOverWebSocket)
                #expect(try await client.ping().ping == "pong")
                #expect(await sim.receivedRequests().allSatisfy { !$0.overWebSocket })
            }
        }
    }

    /// Frames written by hand get the answers Asterisk 22 gives (res/ari/ari_websocket_requests.c), malformed
    /// ones a 400, and the socket stays open throughout.
    @Test func rawFramesAreAnsweredAsAsteriskDoes() async throws {
        try await withSimulator { _, ari in
            let frames: [String] = [
                #"{"type":"RESTRequest","transaction_id":"t1","request_id":"r1","method":"GET","uri":"asterisk/info?only=system"}"#,
                #"{"type":"RESTRequest","transaction_id":"t2","request_id":"r2","method":"POST","uri":"channels","query_strings":[{"name":"endpoint","value":"PJSIP/101"},{"name":"app","value":"murojaat"},{"name":"channelId","value":"raw-1"}]}"#,
                #"{"type":"RESTRequest","transaction_id":"t3","request_id":"r3","method":"POST","uri":"asterisk/variable","content_type":"application/json","message_body":"{\"variable\":\"A\",\"value\":\"b\"}"}"#,
                #"{"type":"RESTRequest","transaction_id":"t4","request_id":"r4","method":"DELETE","uri":"channels/raw-1"}"#,
                #"{"type":"RESTRequest","transaction_id":"t5","request_id":"r5","method":"GET","uri":"channels/raw-1"}"#,
                #"not json"#,
                #"{"transaction_id":"t7","request_id":"r7","method":"GET","uri":"asterisk/ping"}"#,
                #"{"type":"RESTSomething","transaction_id":"t8","request_id":"r8","method":"GET","uri":"asterisk/ping"}"#,
                #"{"type":"RESTRequest","transaction_id":"t9","request_id":"r9","method":"FETCH","uri":"asterisk/ping"}"#,
                #"{"type":"RESTRequest","transaction_id":"t10","request_id":"r10","method":"GET","uri":"asterisk/ping","query_strings":{"a":"b"}}"#,
                #"{"type":"RESTRequest","transaction_id":"t11","request_id":"r11","method":"POST","uri":"channels/x/variable","message_body":"{}"}"#,
                #"{"type":"RESTRequest","transaction_id":"t12","request_id":"r12","method":"GET","uri":"nothing/here"}"#,
                #"{"type":"RESTRequest","transaction_id":"t13","request_id":"r13","method":"GET","uri":"events"}"#,
                #"{"type":"RESTRequest","transaction_id":"t14","request_id":"r14","method":"GET","uri":"asterisk/ping"}"#,
            ]
            let answers = try await exchange(ari, frames: frames)
            try #require(answers.count == frames.count)
            func field(_ i: Int, _ key: String) -> Any? { answers[i][key] }
            func body(_ i: Int) -> [String: Any]? {
                (field(i, "message_body") as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
            for i in answers.indices { #expect(field(i, "type") as? String == "RESTResponse") }
            #expect(field(0, "status_code") as? Int == 200 && field(0, "reason_phrase") as? String == "OK")
            #expect(field(0, "transaction_id") as? String == "t1" && field(0, "request_id") as? String == "r1")
            #expect(field(0, "uri") as? String == "asterisk/info", "the query is not echoed")
            #expect(field(0, "content_type") as? String == "application/json")
            #expect(body(0)?["system"] != nil && body(0)?["build"] == nil)
            #expect(field(0, "application") as? String == "murojaat" && field(0, "asterisk_id") != nil && field(0, "timestamp") != nil)
            #expect(field(1, "status_code") as? Int == 200 && body(1)?["id"] as? String == "raw-1")
            #expect(field(2, "status_code") as? Int == 204 && field(2, "message_body") == nil && field(2, "content_type") == nil)
            #expect(field(3, "status_code") as? Int == 204 && field(3, "reason_phrase") as? String == "No Content")
            #expect(field(4, "status_code") as? Int == 404 && body(4)?["message"] as? String == "Channel not found")
            #expect(field(5, "status_code") as? Int == 400 && field(5, "reason_phrase") as? String == "Failed to parse request message JSON")
            #expect(field(5, "transaction_id") as? String == "" && field(5, "uri") as? String == "")
            #expect(field(6, "status_code") as? Int == 400 && body(6)?["message"] as? String == "No 'type' property.")
            #expect(field(6, "request_id") as? String == "r7")
            #expect(body(7)?["message"] as? String == "Unknown request type.")
            #expect(body(8)?["message"] as? String == "Unknown or missing 'method' property.")
            #expect(body(9)?["message"] as? String == "Unable to parse 'query_strings' array.")
            #expect(body(10)?["message"] as? String == "Unknown content type.")
            #expect(field(11, "status_code") as? Int == 404 && body(11)?["message"] as? String == "Resource not found")
            #expect(field(12, "status_code") as? Int == 400)
            #expect(field(13, "status_code") as? Int == 200 && body(13)?["ping"] as? String == "pong", "the socket stays open")
        }
    }

    /// Sends each frame and reads the RESTResponse frames (events are skipped) until all are answered.
    func exchange(_ ari: ARIServerConfiguration, frames: [String]) async throws -> [[String: Any]] {
        try await exchangeTexts(ari, frames: frames).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The same, the answers as they came.
    func exchangeTexts(_ ari: ARIServerConfiguration, frames: [String]) async throws -> [String] {
        var headers = HTTPFields()
        headers[.authorization] = ari.basicAuthorization
        let answers = Mutex<[String]>([])
        _ = try await WebSocketClient.connect(url: ari.eventsURL, configuration: .init(additionalHeaders: headers),
                                              logger: Logger(label: "test")) { inbound, outbound, _ in
            for frame in frames { try await outbound.write(.text(frame)) }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message, text.contains("RESTResponse") else { continue }
                let count = answers.withLock { $0.append(text); return $0.count }
                if count == frames.count { break }
            }
        }
        return answers.withLock { $0 }
    }

    func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<300 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting until \(what)")
    }
}

@Suite("REST frames (Codable) and the event filter")
struct FlatJSONTests {
    /// Answers with escapes, hostile statuses and wrong types: a malformed frame is nil, never a crash.
    @Test func answersWithEscapesOddStatusesAndWrongTypes() throws {
        let escaped = #"{"\u0074ype":"REST\u0052esponse","request_\u0069d":"r\"1","status_code":200,"content_type":"text\/plain","message_body":"ok"}"#
        let read = try #require(RESTFrame.response(escaped))
        #expect(read.id == "r\"1" && read.response.status == 200 && read.response.contentType == "text/plain")
        #expect(String(decoding: read.response.body, as: UTF8.self) == "ok")
        for status in ["1e300", "-1", "1000", "-1e999", "1e999", "\"201\"", "null"] {
            #expect(RESTFrame.response(#"{"type":"RESTResponse","request_id":"r1","status_code":"# + status + "}") == nil, "\(status)")
        }
        #expect(RESTFrame.response(#"{"type":"RESTResponse","request_id":"r1","status_code":0}"#)?.response.status == 0)
        #expect(RESTFrame.response(#"{"type":"RESTResponsex","request_id":"r1","status_code":201}"#) == nil)
        #expect(RESTFrame.response(#"{"type":["RESTResponse"],"request_id":"r1","status_code":201}"#) == nil)
        #expect(RESTFrame.response(#"{"ty\pe":"RESTResponse","request_id":"r1","status_code":201}"#) == nil) // a broken escape
        #expect(RESTFrame.response(#"{"type":"RESTResponse","transaction_id":"t1","status_code":201,"content_type":null}"#)
            .map { $0.id == "t1" && $0.response.contentType == nil } == true)
        for bad in ["", "[]", "{", #"{"a":}"#, "{\"type\":\"RESTResponse\",\"status_code\":201,\"message_body\":\"a\u{01}b\"}",
                    String(repeating: "[", count: 10_000)] {
            #expect(RESTFrame.response(bad) == nil, "\(bad.prefix(40))")
        }
    }

    @Test func requestFramesReadBackByFoundation() throws {
        let frame = RESTFrame.request(id: "r1", ARIRequest(.POST, "/channels/{channelId}/variable", path: ["channelId": "a b"],
                                                            query: [("variable", "X")], body: Data(#"{"value":"\"1\""}"#.utf8)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "RESTRequest" && object["uri"] as? String == "channels/a%20b/variable")
        #expect((object["query_strings"] as? [[String: String]]) == [["name": "variable", "value": "X"]])
        #expect(object["message_body"] as? String == #"{"value":"\"1\""}"# && object["content_type"] as? String == "application/json")
        // Odd templates and values: leading slashes go, anything to escape is escaped, values are percent-encoded.
        let odd = RESTFrame.request(id: "r\"2", ARIRequest(.GET, "//x/\"{a}\"/{b}\\{missing}", path: ["a": "Ўз/\"", "b": "%"],
                                                          query: [("q\"", "line\nfeed \u{1}"), ("media", "sound:a,b")]))
        let oddObject = try #require(try JSONSerialization.jsonObject(with: Data(odd.utf8)) as? [String: Any])
        #expect(oddObject["uri"] as? String == "x/\"%D0%8E%D0%B7%2F%22\"/%25\\{missing}")
        #expect(oddObject["request_id"] as? String == "r\"2" && oddObject["transaction_id"] as? String == "r\"2" && oddObject["method"] as? String == "GET")
        #expect((oddObject["query_strings"] as? [[String: String]]) == [["name": "q\"", "value": "line\nfeed \u{1}"], ["name": "media", "value": "sound:a,b"]])
        #expect(oddObject["message_body"] == nil)
        // The body is kept only when its reader asks.
        let played = #"{"type":"RESTResponse","transaction_id":"r7","request_id":"r7","status_code":201,"content_type":"application/json","message_body":"{\"id\":\"pb\\u00e9\"}"}"#
        let full = try #require(RESTFrame.response(played))
        #expect(full.id == "r7" && full.response.status == 201 && String(decoding: full.response.body, as: UTF8.self) == #"{"id":"pb\u00e9"}"#)
        var asked: (String, Int)?
        let statusOnly = try #require(RESTFrame.response(played, withBody: { asked = ($0, $1); return false }))
        #expect(statusOnly.response.body.isEmpty && statusOnly.response.contentType == "application/json")
        #expect(asked?.0 == "r7" && asked?.1 == 201)
        let asterisk = #"{"type":"RESTResponse","transaction_id":"t1","request_id":"r8","status_code":204,"reason_phrase":"No \"Content\"","uri":"channels/c\/1/play?media=sound:x","message_body":""}"#
        #expect(RESTFrame.response(asterisk)?.id == "r8" && RESTFrame.response(asterisk)?.response.status == 204)
    }


    /// Answers that arrive before their sender waits are kept; late and unknown answers are dropped; expiry
    /// and a closed socket fail what is in flight.
    @Test func requestTableKeepsEarlyAnswersAndFailsTheRest() async throws {
        let table = RESTRequestTable()
        table.expect("a", deadline: .now + .seconds(5))
        #expect(table.resolve("a", with: .success(ARIResponse(status: 204))))
        #expect(try await table.wait("a").status == 204)
        #expect(!table.resolve("a", with: .success(ARIResponse(status: 200))), "a second answer is dropped")
        #expect(!table.resolve("zzz", with: .success(ARIResponse(status: 200))))
        table.expect("b", deadline: .now - .seconds(1))
        table.expire(now: .now)
        await #expect(throws: ARIError.timeout) { try await table.wait("b") }
        table.expect("c", deadline: .now + .seconds(5))
        let waiting = Task { try await table.wait("c") }
        try await Task.sleep(for: .milliseconds(50))
        table.failAll(ARIError.transport("closed"))
        await #expect(throws: ARIError.transport("closed")) { try await waiting.value }
        #expect(table.count == 0)
    }

    /// Every frame read from the socket: wanted events delivered, unwanted ones dropped, answers matched to their
    /// requests, and malformed, oversized-type, hostile and truncated frames skipped without a crash or a delivery.
    @Test func framesAreSortedIntoEventsAnswersAndRubbish() async throws {
        let connection = ARIEventConnection(configuration: ARIServerConfiguration(baseURL: "http://127.0.0.1:1/ari", username: "u", password: "p"),
                                            eventTypes: ["StasisStart", "PlaybackFinished"])
        let delivered = Mutex<[String]>([])
        connection.setConsumer { item in
            if case .event(_, let message) = item { delivered.withLock { $0.append(message.event.type) } }
        }
        let frames = [
            #"{"type":"StasisStart","timestamp":"t","args":[],"channel":{"id":"c1","name":"PJSIP/x","state":"Ring","caller":{"name":"","number":"1"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"c","exten":"s","priority":1,"app_name":"Stasis","app_data":"murojaat"},"creationtime":"t","language":"en","protocol_id":""},"application":"murojaat"}"#,
            #"{"channel":{"id":"c1"},"type":"ChannelStateChange","timestamp":"t"}"#,
            #"{"type":"ChannelVarset","value":"{\"type\":\"StasisStart\"}"}"#,
            #"{"bridge_type":"StasisStart","type":"BridgeCreated"}"#,
            #"{"type":"Stasis\u0053tart","timestamp":"t"}"#,
            #"{"type":"#, "", "null", "[]", #"{"type":42}"#, "{\"type\":\"" + String(repeating: "A", count: 100_000) + "\"}",
            #"{"type":"RESTResponse","request_id":"nobody","status_code":"two hundred"}"#,
            #"{"type":"RESTResponse","request_id":"nobody","status_code":204}"#,
            #"{"type":"PlaybackFinished","timestamp":"t","playback":{"id":"p1","media_uri":"sound:x","target_uri":"channel:c1","language":"uz","state":"done"}}"#,
        ]
        #expect(throws: Never.self) { try ARIEventMessage.decode(Data(frames[0].utf8)) }
        for frame in frames { connection.handle(frame) }
        // The escaped type is StasisStart too, but without a channel it is malformed: skipped.
        #expect(delivered.withLock { $0 } == ["StasisStart", "PlaybackFinished"])
        #expect(connection.framesReceived.load(ordering: .relaxed) == frames.count)
        #expect(connection.eventsDelivered.load(ordering: .relaxed) == 2)
    }
}
