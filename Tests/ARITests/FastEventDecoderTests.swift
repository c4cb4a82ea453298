@testable import ARI
import Foundation
import Synchronization
import Testing

/// The direct decoder of the call flow's eight event types must give exactly what the Codable models give,
/// and must step aside (nil, so JSONDecoder decides) whenever it is not sure.
@Suite("Fast event decoder agrees with the Codable models")
struct FastEventDecoderTests {
    static func channel(_ id: String, vars: [String: String]? = nil, rdnis: String? = nil) -> Channel {
        Channel(id: id, protocolId: "a84d@10.0.0.5", name: "PJSIP/trunk-0000002a", state: "Up",
                caller: CallerID(name: "Абдуллаев \"Ali\" \\ O'g'li", number: "+998901234567"),
                connected: CallerID(name: "", number: "1000"), accountcode: "",
                dialplan: DialplanCEP(context: "murojaat-inbound", exten: "1000", priority: 2, appName: "Stasis", appData: "murojaat,inbound,1000"),
                creationtime: "2026-11-25T18:26:03.123+0500", language: "uz", channelvars: vars, callerRdnis: rdnis, tenantid: nil)
    }

    static let events: [ARIEvent] = [
        .stasisStart(StasisStart(args: ["inbound", "1000"], channel: channel("1764094563.42"))),
        .stasisStart(StasisStart(args: [], channel: channel("c2", vars: ["MUROJAAT_CALL": "x/y\nz", "EMPTY": ""], rdnis: "71"),
                                 replaceChannel: channel("c1"))),
        .stasisEnd(ChannelEvent(channel: channel("c3"))),
        .channelDestroyed(ChannelDestroyed(cause: 16, causeTxt: "Normal Clearing", channel: channel("c4"))),
        .channelDestroyed(ChannelDestroyed(cause: -1, causeTxt: "", techCause: 487, channel: channel("c4"))),
        .channelDtmfReceived(ChannelDtmfReceived(digit: "#", durationMs: 120, channel: channel("c5"))),
        .playbackFinished(PlaybackEvent(playback: Playback(id: "pb-1", mediaUri: "sound:murojaat/greeting", targetUri: "channel:c5", language: "ru", state: "done"))),
        .playbackFinished(PlaybackEvent(playback: Playback(id: "pb-2", mediaUri: "sound:a", nextMediaUri: "sound:b", targetUri: "channel:c5", state: "failed"))),
        .recordingStarted(RecordingEvent(recording: LiveRecording(name: "call-1", format: "wav", targetUri: "bridge:b1", state: "recording"))),
        .recordingFinished(RecordingEvent(recording: LiveRecording(name: "call-1", format: "wav", targetUri: "bridge:b1", state: "done",
                                                                   duration: 61, talkingDuration: 40, silenceDuration: 21))),
        .recordingFailed(RecordingEvent(recording: LiveRecording(name: "call-2", format: "wav", targetUri: "bridge:b2", state: "failed", cause: "disk full"))),
    ]

    static func samples() throws -> [String] {
        var texts: [String] = []
        for event in events {
            let message = ARIEventMessage(application: "murojaat", timestamp: "2026-11-25T18:26:03.123+0500", asteriskId: "52:54:00:12:34:56", event: event)
            let data = try message.encoded()
            texts.append(String(decoding: data, as: UTF8.self))
            // Asterisk's own spacing, and members in another order.
            let object = try JSONSerialization.jsonObject(with: data)
            texts.append(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]), as: UTF8.self))
        }
        return texts
    }

    static func slow(_ text: String) -> ARIEventMessage? { try? ARIEventMessage.decode(Data(text.utf8)) }

    /// Events are written in Asterisk's member order: type and timestamp, the event's members, asterisk_id,
    /// application (jansson keeps insertion order; `app_send` and `ari_websocket_send_event` append the last two).
    @Test func eventsAreWrittenInAsterisksMemberOrder() throws {
        for event in Self.events {
            let message = ARIEventMessage(application: "murojaat", timestamp: "2026-11-25T18:26:03.123+0500", asteriskId: "52:54:00:12:34:56", event: event)
            let text = String(decoding: try message.encoded(), as: UTF8.self)
            #expect(text.hasPrefix("{\"type\":\"\(event.type)\",\"timestamp\":\"2026-11-25T18:26:03.123+0500\""), "\(text.prefix(80))")
            #expect(text.hasSuffix(",\"asterisk_id\":\"52:54:00:12:34:56\",\"application\":\"murojaat\"}"), "\(text.suffix(80))")
            #expect(try ARIEventMessage.decode(Data(text.utf8)) == message)
        }
        let bare = ARIEventMessage(application: "a\"b", timestamp: "t", event: .unknown(type: "Custom", raw: Data()))
        #expect(String(decoding: try bare.encoded(), as: UTF8.self) == #"{"type":"Custom","timestamp":"t","application":"a\"b"}"#)
    }

    @Test func theEightTypesDecodeAsTheModelsDo() throws {
        let texts = try Self.samples()
        #expect(texts.count == Self.events.count * 2)
        for text in texts {
            let fast = try #require(FastEventDecoder.decode(text), "not decoded: \(text.prefix(120))")
            #expect(fast == Self.slow(text))
        }
    }

    @Test func stepsAsideWhenNotSure() throws {
        let base = String(decoding: try ARIEventMessage(application: "murojaat", timestamp: "t",
                                                        event: .channelDtmfReceived(ChannelDtmfReceived(digit: "1", durationMs: 100, channel: Self.channel("c")))).encoded(),
                          as: UTF8.self)
        #expect(FastEventDecoder.decode(base) != nil)
        let unsure = [
            base.replacingOccurrences(of: "\"duration_ms\":100", with: "\"duration_ms\":100.0"),   // an integer written as a fraction
            base.replacingOccurrences(of: "\"duration_ms\":100", with: "\"duration_ms\":1e2"),
            base.replacingOccurrences(of: "\"duration_ms\":100", with: "\"duration_ms\":\"100\""), // mistyped
            base.replacingOccurrences(of: "\"digit\":\"1\"", with: "\"digit\":\"\\u0031\""),       // \u escapes are left to JSONDecoder
            base.replacingOccurrences(of: "\"digit\":\"1\"", with: "\"digit\":\"1\",\"digit\":\"2\""), // a duplicate key
            base.replacingOccurrences(of: "\"digit\":\"1\",", with: ""),                            // a missing field
            base.replacingOccurrences(of: "\"type\":\"ChannelDtmfReceived\"", with: "\"type\":\"ChannelVarset\""), // another type
            base + "x", "[" + base + "]", String(base.dropLast()), "",
            base.replacingOccurrences(of: "\"digit\":\"1\"", with: "\"digit\":\"1\u{01}\""),        // a raw control character
            base.replacingOccurrences(of: "\"duration_ms\":100", with: "\"duration_ms\":0100"),     // not JSON
            base.replacingOccurrences(of: "\"duration_ms\":100", with: "\"duration_ms\":99999999999999999999"),
        ]
        for text in unsure {
            #expect(FastEventDecoder.decode(text) == nil, "decoded: \(text.prefix(200))")
        }
        // Members the models do not know, of every kind and at every level, are checked and passed over.
        let extra = #""x1":{"a":[1,-0.5e+3,true,false,null,{"b":"c\\\"\/\n"}],"d":{}},"x2":[],"x3":-0,"#
        let extended = base.replacingOccurrences(of: "\"digit\":", with: extra + "\"digit\":")
            .replacingOccurrences(of: "\"caller\":{", with: "\"caller\":{\"extra\":[[[]]],")
            .replacingOccurrences(of: "\"dialplan\":{", with: "\"dialplan\":{\"extra\":{\"e\":1.5},")
        let decoded = try #require(FastEventDecoder.decode(extended), "not decoded: \(extended.prefix(300))")
        #expect(decoded == Self.slow(extended) && decoded == FastEventDecoder.decode(base))
        for unsureExtra in [#""x1":"\u0041","#, #""x1":[1,],"#, #""x1":01,"#, #""x1":tru,"#, #""x1":{"a"},"#,
                            "\"x1\":" + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + ","] {
            let text = base.replacingOccurrences(of: "\"digit\":", with: unsureExtra + "\"digit\":")
            #expect(FastEventDecoder.decode(text) == nil, "decoded: \(text.prefix(200))")
        }
        // Duplicates inside the nested objects, too.
        for (member, twice) in [("\"number\":", "\"number\":\"1\",\"number\":"), ("\"context\":", "\"context\":\"x\",\"context\":"),
                                ("\"id\":\"c\"", "\"id\":\"c\",\"id\":\"c\"")] {
            let text = base.replacingOccurrences(of: member, with: twice)
            #expect(text != base && FastEventDecoder.decode(text) == nil, "decoded: \(text.prefix(300))")
        }
        let variables = String(decoding: try ARIEventMessage(application: "a", timestamp: "t", event: .stasisEnd(ChannelEvent(channel: Self.channel("c", vars: ["A": "1"])))).encoded(), as: UTF8.self)
        #expect(FastEventDecoder.decode(variables) != nil)
        #expect(FastEventDecoder.decode(variables.replacingOccurrences(of: "\"A\":\"1\"", with: "\"A\":\"1\",\"A\":\"2\"")) == nil)
        // Spaces around the object and a null replace_channel read as JSONDecoder reads them.
        let start = String(decoding: try ARIEventMessage(application: "a", timestamp: "t", event: .stasisStart(StasisStart(args: ["inbound", "1000"], channel: Self.channel("c")))).encoded(), as: UTF8.self)
        for text in [" \n\t" + start + " \r\n", start.replacingOccurrences(of: "\"args\":", with: "\"replace_channel\":null,\"args\":")] {
            let fast = try #require(FastEventDecoder.decode(text), "not decoded: \(text.prefix(200))")
            #expect(fast == Self.slow(text))
        }
        // Optional fields given as null are nil, as with decodeIfPresent.
        let nulls = base.replacingOccurrences(of: "\"asterisk_id\":\"", with: "\"x\":\"").replacingOccurrences(of: "\"application\":\"murojaat\"", with: "\"application\":null")
        #expect(FastEventDecoder.decode(nulls) == Self.slow(nulls))
    }

    /// Random damage to valid messages: whenever the fast decoder still answers, JSONDecoder must agree.
    @Test func neverAnswersDifferentlyFromJSONDecoder() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("{}[]\":,0123456789-.eE+ \\/nultrfa\u{01}ЖbΩ".utf8)
        var answered = 0
        for text in try Self.samples() {
            for _ in 0..<300 {
                var bytes = Array(text.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let at = Int.random(in: 0..<bytes.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0: bytes.remove(at: at)
                    case 1: bytes.insert(alphabet.randomElement(using: &generator)!, at: at)
                    default: bytes[at] = alphabet.randomElement(using: &generator)!
                    }
                    if bytes.isEmpty { break }
                }
                let damaged = String(decoding: bytes, as: UTF8.self)
                if let fast = FastEventDecoder.decode(damaged) {
                    answered += 1
                    #expect(fast == Self.slow(damaged), "differs: \(damaged.prefix(300))")
                }
            }
        }
        #expect(answered > 0) // some damage lands in values and stays valid
    }
}

@Suite("Events handed to a consumer")
struct EventConsumerTests {
    /// A consumer closure kept directly in a Mutex was wrapped in one more thunk on every read: the release
    /// build overflowed the event loop's stack after about 50,000 events.
    @Test func aQuarterMillionEventsReachTheConsumerWithoutGrowingTheStack() {
        let connection = ARIEventConnection(configuration: ARIServerConfiguration(baseURL: "http://127.0.0.1:9/ari", username: "u", password: "p"))
        let count = Mutex(0)
        connection.setConsumer { _ in count.withLock { $0 += 1 } }
        for _ in 0..<250_000 { connection.emit(.connected(server: "ast1")) }
        #expect(count.withLock { $0 } == 250_000)
    }
}
