import Foundation

/// A direct decoder for the event types the call flow receives on every call (StasisStart, StasisEnd,
/// ChannelDestroyed, ChannelDtmfReceived, PlaybackFinished, Recording*), which Foundation's `JSONDecoder`
/// decoded at a visible share of the app's CPU. It answers only when it is sure: anything it does not
/// expect (another type, a missing or mistyped field, a duplicate key, a `\u` escape, malformed JSON)
/// returns nil and the message goes through `JSONDecoder`, which decides and reports errors. So a message
/// it decodes decodes to exactly what the Codable models give (tested on the recorded traces and fuzzed).
enum FastEventDecoder {
    static func decode(_ text: String) -> ARIEventMessage? {
        var text = text
        return text.withUTF8 { bytes -> ARIEventMessage? in
            var parser = Parser(bytes: bytes)
            guard let root = parser.document(), case .object(let members) = root else { return nil }
            return try? message(Object(members))
        }
    }

    struct Unsure: Error {}

    enum Node {
        case string(String)
        /// The number's text, checked against JSON's grammar.
        case number(String)
        case bool(Bool)
        case null
        case array([Node])
        case object([(String, Node)])
    }

    /// Members of one object; a key found twice makes the decoder unsure.
    struct Object {
        let members: [(String, Node)]
        init(_ members: [(String, Node)]) { self.members = members }

        func node(_ key: String) throws -> Node? {
            var found: Node?
            for (name, value) in members where name == key {
                guard found == nil else { throw Unsure() }
                found = value
            }
            return found
        }

        func string(_ key: String) throws -> String {
            guard case .string(let value)? = try node(key) else { throw Unsure() }
            return value
        }

        func optionalString(_ key: String) throws -> String? {
            switch try node(key) {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw Unsure()
            }
        }

        func int(_ key: String) throws -> Int {
            guard let value = try optionalInt(key) else { throw Unsure() }
            return value
        }

        func optionalInt(_ key: String) throws -> Int? {
            switch try node(key) {
            case nil, .null?: return nil
            case .number(let text)?:
                // Only plain integers; a fraction or exponent is left to JSONDecoder.
                guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let value = Int(text) else { throw Unsure() }
                return value
            default: throw Unsure()
            }
        }

        func object(_ key: String) throws -> Object {
            guard case .object(let members)? = try node(key) else { throw Unsure() }
            return Object(members)
        }

        func optionalObject(_ key: String) throws -> Object? {
            switch try node(key) {
            case nil, .null?: return nil
            case .object(let members)?: return Object(members)
            default: throw Unsure()
            }
        }
    }

    static func message(_ root: Object) throws -> ARIEventMessage {
        let type = try root.string("type")
        let event: ARIEvent
        switch type {
        case "StasisStart":
            guard case .array(let items)? = try root.node("args") else { throw Unsure() }
            let args = try items.map { item -> String in
                guard case .string(let value) = item else { throw Unsure() }
                return value
            }
            event = .stasisStart(StasisStart(args: args, channel: try channel(root.object("channel")),
                                             replaceChannel: try root.optionalObject("replace_channel").map(channel)))
        case "StasisEnd":
            event = .stasisEnd(ChannelEvent(channel: try channel(root.object("channel"))))
        case "ChannelDestroyed":
            event = .channelDestroyed(ChannelDestroyed(cause: try root.int("cause"), causeTxt: try root.string("cause_txt"),
                                                       techCause: try root.optionalInt("tech_cause"), channel: try channel(root.object("channel"))))
        case "ChannelDtmfReceived":
            event = .channelDtmfReceived(ChannelDtmfReceived(digit: try root.string("digit"), durationMs: try root.int("duration_ms"),
                                                             channel: try channel(root.object("channel"))))
        case "PlaybackFinished":
            event = .playbackFinished(PlaybackEvent(playback: try playback(root.object("playback"))))
        case "RecordingStarted":
            event = .recordingStarted(RecordingEvent(recording: try recording(root.object("recording"))))
        case "RecordingFinished":
            event = .recordingFinished(RecordingEvent(recording: try recording(root.object("recording"))))
        case "RecordingFailed":
            event = .recordingFailed(RecordingEvent(recording: try recording(root.object("recording"))))
        default:
            throw Unsure()
        }
        return ARIEventMessage(application: try root.optionalString("application") ?? "", timestamp: try root.optionalString("timestamp") ?? "",
                               asteriskId: try root.optionalString("asterisk_id"), event: event)
    }

    static func channel(_ o: Object) throws -> Channel {
        var variables: [String: String]?
        switch try o.node("channelvars") {
        case nil, .null?: variables = nil
        case .object(let members)?:
            var map: [String: String] = [:]
            for (name, value) in members {
                guard case .string(let text) = value, map[name] == nil else { throw Unsure() }
                map[name] = text
            }
            variables = map
        default: throw Unsure()
        }
        let caller = try o.object("caller"), connected = try o.object("connected"), dialplan = try o.object("dialplan")
        return Channel(
            id: try o.string("id"), protocolId: try o.string("protocol_id"), name: try o.string("name"), state: try o.string("state"),
            caller: CallerID(name: try caller.string("name"), number: try caller.string("number")),
            connected: CallerID(name: try connected.string("name"), number: try connected.string("number")),
            accountcode: try o.string("accountcode"),
            dialplan: DialplanCEP(context: try dialplan.string("context"), exten: try dialplan.string("exten"),
                                  priority: try dialplan.int("priority"), appName: try dialplan.string("app_name"),
                                  appData: try dialplan.string("app_data")),
            creationtime: try o.string("creationtime"), language: try o.string("language"), channelvars: variables,
            callerRdnis: try o.optionalString("caller_rdnis"), tenantid: try o.optionalString("tenantid"))
    }

    static func playback(_ o: Object) throws -> Playback {
        Playback(id: try o.string("id"), mediaUri: try o.string("media_uri"), nextMediaUri: try o.optionalString("next_media_uri"),
                 targetUri: try o.string("target_uri"), language: try o.optionalString("language"), state: try o.string("state"))
    }

    static func recording(_ o: Object) throws -> LiveRecording {
        LiveRecording(name: try o.string("name"), format: try o.string("format"), targetUri: try o.string("target_uri"),
                      state: try o.string("state"), duration: try o.optionalInt("duration"),
                      talkingDuration: try o.optionalInt("talking_duration"), silenceDuration: try o.optionalInt("silence_duration"),
                      cause: try o.optionalString("cause"))
    }

    /// Strict JSON (RFC 8259) into `Node`s; nil on anything else. Spaces, literals and strings are read by
    /// `FlatJSON.Reader`, strings without `\u` escapes (left to JSONDecoder).
    struct Parser {
        var reader: FlatJSON.Reader
        init(bytes: UnsafeBufferPointer<UInt8>) { reader = FlatJSON.Reader(bytes: bytes) }

        mutating func document() -> Node? {
            guard let root = value(depth: 0), reader.finished() else { return nil }
            return root
        }

        mutating func string() -> String? { reader.string(unicodeEscapes: false) }

        mutating func value(depth: Int) -> Node? {
            guard depth < 64 else { return nil }
            reader.skipSpace()
            guard reader.index < reader.bytes.count else { return nil }
            switch reader.bytes[reader.index] {
            case UInt8(ascii: "\""): return string().map(Node.string)
            case UInt8(ascii: "{"):
                reader.index += 1
                var members: [(String, Node)] = []
                members.reserveCapacity(8) // an ARI object has a few to a dozen members: fewer regrowths
                reader.skipSpace()
                if reader.consume(UInt8(ascii: "}")) { return .object(members) }
                while true {
                    reader.skipSpace()
                    guard let key = string() else { return nil }
                    reader.skipSpace()
                    guard reader.consume(UInt8(ascii: ":")), let item = value(depth: depth + 1) else { return nil }
                    members.append((key, item))
                    reader.skipSpace()
                    if reader.consume(UInt8(ascii: ",")) { continue }
                    return reader.consume(UInt8(ascii: "}")) ? .object(members) : nil
                }
            case UInt8(ascii: "["):
                reader.index += 1
                var items: [Node] = []
                reader.skipSpace()
                if reader.consume(UInt8(ascii: "]")) { return .array(items) }
                while true {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    reader.skipSpace()
                    if reader.consume(UInt8(ascii: ",")) { continue }
                    return reader.consume(UInt8(ascii: "]")) ? .array(items) : nil
                }
            case UInt8(ascii: "t"): return reader.literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return reader.literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return reader.literal("null") ? .null : nil
            default: return number()
            }
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (stricter than `FlatJSON.Reader.number`).
        mutating func number() -> Node? {
            let start = reader.index
            func digits() -> Int {
                let from = reader.index
                while reader.index < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index]) {
                    reader.index += 1
                }
                return reader.index - from
            }
            _ = reader.consume(UInt8(ascii: "-"))
            if reader.consume(UInt8(ascii: "0")) {
                if reader.index < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index]) { return nil }
            } else if digits() == 0 {
                return nil
            }
            if reader.consume(UInt8(ascii: ".")), digits() == 0 { return nil }
            if reader.consume(UInt8(ascii: "e")) || reader.consume(UInt8(ascii: "E")) {
                if !reader.consume(UInt8(ascii: "+")) { _ = reader.consume(UInt8(ascii: "-")) }
                if digits() == 0 { return nil }
            }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: reader.bytes[start..<reader.index]), as: UTF8.self))
        }
    }
}
