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
            var scanner = Scanner(bytes: bytes)
            return try? scanner.message()
        }
    }

    struct Unsure: Error {}

    /// Reads the text once, front to back, straight into the models: each member's key is compared in place
    /// and its value read as the model's field, or checked and passed over. (Building a tree of the whole
    /// message first, then looking each field up in it, was about a tenth of the call flow's thread.)
    /// Strict JSON (RFC 8259): anything else throws `Unsure`.
    struct Scanner {
        var reader: FlatJSON.Reader
        init(bytes: UnsafeBufferPointer<UInt8>) { reader = FlatJSON.Reader(bytes: bytes) }

        var bytes: UnsafeBufferPointer<UInt8> { reader.bytes }

        // MARK: the message

        mutating func message() throws -> ARIEventMessage {
            var type: String?, timestamp: String?, application: String?, asteriskId: String?
            var args: [String]?, channel: Channel?, replaceChannel: Channel?, cause: Int?, causeTxt: String?, techCause: Int?
            var digit: String?, durationMs: Int?, playback: Playback?, recording: LiveRecording?
            var seen = Seen()
            try object { scanner, key in
                if key == "type" { try seen.first(0); type = try scanner.string() }
                else if key == "timestamp" { try seen.first(1); timestamp = try scanner.optionalString() }
                else if key == "application" { try seen.first(2); application = try scanner.optionalString() }
                else if key == "asterisk_id" { try seen.first(3); asteriskId = try scanner.optionalString() }
                else if key == "channel" { try seen.first(4); channel = try scanner.channel() }
                else if key == "args" { try seen.first(5); args = try scanner.strings() }
                else if key == "replace_channel" { try seen.first(6); replaceChannel = try scanner.isNull() ? nil : scanner.channel() }
                else if key == "cause" { try seen.first(7); cause = try scanner.optionalInt() }
                else if key == "cause_txt" { try seen.first(8); causeTxt = try scanner.optionalString() }
                else if key == "tech_cause" { try seen.first(9); techCause = try scanner.optionalInt() }
                else if key == "digit" { try seen.first(10); digit = try scanner.optionalString() }
                else if key == "duration_ms" { try seen.first(11); durationMs = try scanner.optionalInt() }
                else if key == "playback" { try seen.first(12); playback = try scanner.isNull() ? nil : scanner.playback() }
                else if key == "recording" { try seen.first(13); recording = try scanner.isNull() ? nil : scanner.recording() }
                else { try scanner.skip(depth: 1) }
            }
            guard reader.finished() else { throw Unsure() }
            func need<T>(_ value: T?) throws -> T {
                guard let value else { throw Unsure() }
                return value
            }
            let event: ARIEvent
            switch try need(type) {
            case "StasisStart":
                event = .stasisStart(StasisStart(args: try need(args), channel: try need(channel), replaceChannel: replaceChannel))
            case "StasisEnd":
                event = .stasisEnd(ChannelEvent(channel: try need(channel)))
            case "ChannelDestroyed":
                event = .channelDestroyed(ChannelDestroyed(cause: try need(cause), causeTxt: try need(causeTxt), techCause: techCause,
                                                           channel: try need(channel)))
            case "ChannelDtmfReceived":
                event = .channelDtmfReceived(ChannelDtmfReceived(digit: try need(digit), durationMs: try need(durationMs), channel: try need(channel)))
            case "PlaybackFinished":
                event = .playbackFinished(PlaybackEvent(playback: try need(playback)))
            case "RecordingStarted":
                event = .recordingStarted(RecordingEvent(recording: try need(recording)))
            case "RecordingFinished":
                event = .recordingFinished(RecordingEvent(recording: try need(recording)))
            case "RecordingFailed":
                event = .recordingFailed(RecordingEvent(recording: try need(recording)))
            default:
                throw Unsure()
            }
            return ARIEventMessage(application: application ?? "", timestamp: timestamp ?? "", asteriskId: asteriskId, event: event)
        }

        mutating func channel() throws -> Channel {
            var id: String?, protocolId: String?, name: String?, state: String?, caller: CallerID?, connected: CallerID?
            var accountcode: String?, dialplan: DialplanCEP?, creationtime: String?, language: String?
            var variables: [String: String]?, rdnis: String?, tenant: String?
            var seen = Seen()
            try object { scanner, key in
                if key == "id" { try seen.first(0); id = try scanner.string() }
                else if key == "name" { try seen.first(1); name = try scanner.string() }
                else if key == "state" { try seen.first(2); state = try scanner.string() }
                else if key == "protocol_id" { try seen.first(3); protocolId = try scanner.string() }
                else if key == "caller" { try seen.first(4); caller = try scanner.callerID() }
                else if key == "connected" { try seen.first(5); connected = try scanner.callerID() }
                else if key == "accountcode" { try seen.first(6); accountcode = try scanner.string() }
                else if key == "dialplan" { try seen.first(7); dialplan = try scanner.dialplan() }
                else if key == "creationtime" { try seen.first(8); creationtime = try scanner.string() }
                else if key == "language" { try seen.first(9); language = try scanner.string() }
                else if key == "channelvars" { try seen.first(10); variables = try scanner.isNull() ? nil : scanner.stringMap() }
                else if key == "caller_rdnis" { try seen.first(11); rdnis = try scanner.optionalString() }
                else if key == "tenantid" { try seen.first(12); tenant = try scanner.optionalString() }
                else { try scanner.skip(depth: 2) }
            }
            guard let id, let protocolId, let name, let state, let caller, let connected, let accountcode, let dialplan,
                  let creationtime, let language else { throw Unsure() }
            return Channel(id: id, protocolId: protocolId, name: name, state: state, caller: caller, connected: connected,
                           accountcode: accountcode, dialplan: dialplan, creationtime: creationtime, language: language,
                           channelvars: variables, callerRdnis: rdnis, tenantid: tenant)
        }

        mutating func callerID() throws -> CallerID {
            var name: String?, number: String?
            var seen = Seen()
            try object { scanner, key in
                if key == "name" { try seen.first(0); name = try scanner.string() }
                else if key == "number" { try seen.first(1); number = try scanner.string() }
                else { try scanner.skip(depth: 3) }
            }
            guard let name, let number else { throw Unsure() }
            return CallerID(name: name, number: number)
        }

        mutating func dialplan() throws -> DialplanCEP {
            var context: String?, exten: String?, priority: Int?, appName: String?, appData: String?
            var seen = Seen()
            try object { scanner, key in
                if key == "context" { try seen.first(0); context = try scanner.string() }
                else if key == "exten" { try seen.first(1); exten = try scanner.string() }
                else if key == "priority" { try seen.first(2); priority = try scanner.int() }
                else if key == "app_name" { try seen.first(3); appName = try scanner.string() }
                else if key == "app_data" { try seen.first(4); appData = try scanner.string() }
                else { try scanner.skip(depth: 3) }
            }
            guard let context, let exten, let priority, let appName, let appData else { throw Unsure() }
            return DialplanCEP(context: context, exten: exten, priority: priority, appName: appName, appData: appData)
        }

        mutating func playback() throws -> Playback {
            var id: String?, mediaUri: String?, nextMediaUri: String?, targetUri: String?, language: String?, state: String?
            var seen = Seen()
            try object { scanner, key in
                if key == "id" { try seen.first(0); id = try scanner.string() }
                else if key == "media_uri" { try seen.first(1); mediaUri = try scanner.string() }
                else if key == "next_media_uri" { try seen.first(2); nextMediaUri = try scanner.optionalString() }
                else if key == "target_uri" { try seen.first(3); targetUri = try scanner.string() }
                else if key == "language" { try seen.first(4); language = try scanner.optionalString() }
                else if key == "state" { try seen.first(5); state = try scanner.string() }
                else { try scanner.skip(depth: 2) }
            }
            guard let id, let mediaUri, let targetUri, let state else { throw Unsure() }
            return Playback(id: id, mediaUri: mediaUri, nextMediaUri: nextMediaUri, targetUri: targetUri, language: language, state: state)
        }

        mutating func recording() throws -> LiveRecording {
            var name: String?, format: String?, targetUri: String?, state: String?, duration: Int?, talking: Int?, silence: Int?
            var cause: String?
            var seen = Seen()
            try object { scanner, key in
                if key == "name" { try seen.first(0); name = try scanner.string() }
                else if key == "format" { try seen.first(1); format = try scanner.string() }
                else if key == "target_uri" { try seen.first(2); targetUri = try scanner.string() }
                else if key == "state" { try seen.first(3); state = try scanner.string() }
                else if key == "duration" { try seen.first(4); duration = try scanner.optionalInt() }
                else if key == "talking_duration" { try seen.first(5); talking = try scanner.optionalInt() }
                else if key == "silence_duration" { try seen.first(6); silence = try scanner.optionalInt() }
                else if key == "cause" { try seen.first(7); cause = try scanner.optionalString() }
                else { try scanner.skip(depth: 2) }
            }
            guard let name, let format, let targetUri, let state else { throw Unsure() }
            return LiveRecording(name: name, format: format, targetUri: targetUri, state: state, duration: duration,
                                 talkingDuration: talking, silenceDuration: silence, cause: cause)
        }

        // MARK: containers

        /// Which of an object's known members were read: a second one makes the decoder unsure.
        struct Seen {
            var bits: UInt32 = 0
            mutating func first(_ member: UInt32) throws {
                guard bits & (1 << member) == 0 else { throw Unsure() }
                bits |= 1 << member
            }
        }

        typealias Key = FlatJSON.Reader.Key

        /// Visits an object's members; `visit` must read or skip each value.
        mutating func object(_ visit: (inout Scanner, Key) throws -> Void) throws {
            reader.skipSpace()
            guard reader.consume(UInt8(ascii: "{")) else { throw Unsure() }
            reader.skipSpace()
            if reader.consume(UInt8(ascii: "}")) { return }
            while true {
                reader.skipSpace()
                let key = try self.key()
                reader.skipSpace()
                guard reader.consume(UInt8(ascii: ":")) else { throw Unsure() }
                reader.skipSpace()
                try visit(&self, key)
                reader.skipSpace()
                if reader.consume(UInt8(ascii: ",")) { continue }
                guard reader.consume(UInt8(ascii: "}")) else { throw Unsure() }
                return
            }
        }

        /// A member's name as its bytes; one with an escape is left to JSONDecoder.
        mutating func key() throws -> Key {
            guard let name = reader.plainString() else { throw Unsure() }
            return Key(bytes: name)
        }

        mutating func strings() throws -> [String] {
            guard reader.consume(UInt8(ascii: "[")) else { throw Unsure() }
            var items: [String] = []
            reader.skipSpace()
            if reader.consume(UInt8(ascii: "]")) { return items }
            while true {
                reader.skipSpace()
                items.append(try string())
                reader.skipSpace()
                if reader.consume(UInt8(ascii: ",")) { continue }
                guard reader.consume(UInt8(ascii: "]")) else { throw Unsure() }
                return items
            }
        }

        mutating func stringMap() throws -> [String: String] {
            var map: [String: String] = [:]
            try object { scanner, key in
                let name = String(decoding: key.bytes, as: UTF8.self)
                guard map[name] == nil else { throw Unsure() }
                map[name] = try scanner.string()
            }
            return map
        }

        // MARK: values

        /// `null` (consumed), or false with nothing consumed.
        mutating func isNull() -> Bool { reader.literal("null") }

        /// A string without `\u` escapes (left to JSONDecoder), its other escapes resolved.
        mutating func string() throws -> String {
            guard let text = reader.string(unicodeEscapes: false) else { throw Unsure() }
            return text
        }

        mutating func optionalString() throws -> String? {
            isNull() ? nil : try string()
        }

        /// A plain integer; a fraction or exponent is left to JSONDecoder, as is one out of range.
        mutating func int() throws -> Int {
            let start = reader.index
            guard try number() else { throw Unsure() }
            guard let value = Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<reader.index]), as: UTF8.self)) else {
                throw Unsure()
            }
            return value
        }

        mutating func optionalInt() throws -> Int? {
            isNull() ? nil : try int()
        }

        /// Checks one value and passes over it, building nothing.
        mutating func skip(depth: Int) throws {
            guard depth < 64, reader.index < bytes.count else { throw Unsure() }
            switch bytes[reader.index] {
            case UInt8(ascii: "\""):
                try skipString()
            case UInt8(ascii: "{"):
                try object { scanner, _ in try scanner.skip(depth: depth + 1) }
            case UInt8(ascii: "["):
                reader.index += 1
                reader.skipSpace()
                if reader.consume(UInt8(ascii: "]")) { return }
                while true {
                    reader.skipSpace()
                    try skip(depth: depth + 1)
                    reader.skipSpace()
                    if reader.consume(UInt8(ascii: ",")) { continue }
                    guard reader.consume(UInt8(ascii: "]")) else { throw Unsure() }
                    return
                }
            case UInt8(ascii: "t"): guard reader.literal("true") else { throw Unsure() }
            case UInt8(ascii: "f"): guard reader.literal("false") else { throw Unsure() }
            case UInt8(ascii: "n"): guard reader.literal("null") else { throw Unsure() }
            default: _ = try number()
            }
        }

        /// Passes over a string as `string()` would read it: simple escapes, no `\u`, no raw control characters.
        mutating func skipString() throws {
            guard reader.skipString(unicodeEscapes: false) else { throw Unsure() }
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, passed over; true when it is a plain integer.
        mutating func number() throws -> Bool {
            func digits() -> Int {
                let from = reader.index
                while reader.index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[reader.index]) {
                    reader.index += 1
                }
                return reader.index - from
            }
            var integer = true
            _ = reader.consume(UInt8(ascii: "-"))
            if reader.consume(UInt8(ascii: "0")) {
                if reader.index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[reader.index]) { throw Unsure() }
            } else if digits() == 0 {
                throw Unsure()
            }
            if reader.consume(UInt8(ascii: ".")) {
                integer = false
                if digits() == 0 { throw Unsure() }
            }
            if reader.consume(UInt8(ascii: "e")) || reader.consume(UInt8(ascii: "E")) {
                integer = false
                if !reader.consume(UInt8(ascii: "+")) { _ = reader.consume(UInt8(ascii: "-")) }
                if digits() == 0 { throw Unsure() }
            }
            return integer
        }
    }
}
