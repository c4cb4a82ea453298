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

    indirect enum Node {
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

    /// Strict JSON (RFC 8259) into `Node`s; nil on anything else.
    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func document() -> Node? {
            guard let root = value(depth: 0) else { return nil }
            skipSpace()
            return index == bytes.count ? root : nil
        }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func value(depth: Int) -> Node? {
            guard depth < 64 else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(Node.string)
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, Node)] = []
                skipSpace()
                if consume(UInt8(ascii: "}")) { return .object(members) }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard consume(UInt8(ascii: ":")), let item = value(depth: depth + 1) else { return nil }
                    members.append((key, item))
                    skipSpace()
                    if consume(UInt8(ascii: ",")) { continue }
                    return consume(UInt8(ascii: "}")) ? .object(members) : nil
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [Node] = []
                skipSpace()
                if consume(UInt8(ascii: "]")) { return .array(items) }
                while true {
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    skipSpace()
                    if consume(UInt8(ascii: ",")) { continue }
                    return consume(UInt8(ascii: "]")) ? .array(items) : nil
                }
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() -> Node? {
            let start = index
            func digits() -> Int {
                let from = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index - from
            }
            _ = consume(UInt8(ascii: "-"))
            if consume(UInt8(ascii: "0")) {
                if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { return nil }
            } else if digits() == 0 {
                return nil
            }
            if consume(UInt8(ascii: ".")), digits() == 0 { return nil }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                if digits() == 0 { return nil }
            }
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }

        /// A string without `\u` escapes (left to JSONDecoder) or raw control characters (invalid JSON).
        mutating func string() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
                if byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }

        mutating func escapedString(from start: Int) -> String? {
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    default: return nil // \u… and invalid escapes
                    }
                case 0..<0x20:
                    return nil
                default:
                    out.append(byte)
                }
            }
            return nil
        }
    }
}
