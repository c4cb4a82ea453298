import Foundation

/// One event from the `/ari/events` WebSocket.
public enum ARIEvent: Sendable, Equatable {
    case stasisStart(StasisStart)
    case stasisEnd(ChannelEvent)
    case channelCreated(ChannelEvent)
    case channelStateChange(ChannelEvent)
    case channelConnectedLine(ChannelEvent)
    case channelDtmfReceived(ChannelDtmfReceived)
    case channelHangupRequest(ChannelHangupRequest)
    case channelDestroyed(ChannelDestroyed)
    case channelEnteredBridge(ChannelEnteredBridge)
    case channelLeftBridge(ChannelLeftBridge)
    case channelVarset(ChannelVarset)
    case channelDialplan(ChannelDialplan)
    case channelCallerId(ChannelCallerId)
    case dial(Dial)
    case playbackStarted(PlaybackEvent)
    case playbackContinuing(PlaybackEvent)
    case playbackFinished(PlaybackEvent)
    case recordingStarted(RecordingEvent)
    case recordingFinished(RecordingEvent)
    case recordingFailed(RecordingEvent)
    case bridgeCreated(BridgeEvent)
    case bridgeDestroyed(BridgeEvent)
    case applicationReplaced(EmptyEvent)
    case deviceStateChanged(DeviceStateChanged)
    case endpointStateChange(EndpointStateChange)
    /// An event type this client does not model; `raw` is the whole JSON message.
    case unknown(type: String, raw: Data)

    /// The ARI `type` of every event this enum models, with how to decode it.
    static let decoders: [String: @Sendable (any Decoder) throws -> ARIEvent] = [
        "StasisStart": { .stasisStart(try .init(from: $0)) },
        "StasisEnd": { .stasisEnd(try .init(from: $0)) },
        "ChannelCreated": { .channelCreated(try .init(from: $0)) },
        "ChannelStateChange": { .channelStateChange(try .init(from: $0)) },
        "ChannelConnectedLine": { .channelConnectedLine(try .init(from: $0)) },
        "ChannelDtmfReceived": { .channelDtmfReceived(try .init(from: $0)) },
        "ChannelHangupRequest": { .channelHangupRequest(try .init(from: $0)) },
        "ChannelDestroyed": { .channelDestroyed(try .init(from: $0)) },
        "ChannelEnteredBridge": { .channelEnteredBridge(try .init(from: $0)) },
        "ChannelLeftBridge": { .channelLeftBridge(try .init(from: $0)) },
        "ChannelVarset": { .channelVarset(try .init(from: $0)) },
        "ChannelDialplan": { .channelDialplan(try .init(from: $0)) },
        "ChannelCallerId": { .channelCallerId(try .init(from: $0)) },
        "Dial": { .dial(try .init(from: $0)) },
        "PlaybackStarted": { .playbackStarted(try .init(from: $0)) },
        "PlaybackContinuing": { .playbackContinuing(try .init(from: $0)) },
        "PlaybackFinished": { .playbackFinished(try .init(from: $0)) },
        "RecordingStarted": { .recordingStarted(try .init(from: $0)) },
        "RecordingFinished": { .recordingFinished(try .init(from: $0)) },
        "RecordingFailed": { .recordingFailed(try .init(from: $0)) },
        "BridgeCreated": { .bridgeCreated(try .init(from: $0)) },
        "BridgeDestroyed": { .bridgeDestroyed(try .init(from: $0)) },
        "ApplicationReplaced": { .applicationReplaced(try .init(from: $0)) },
        "DeviceStateChanged": { .deviceStateChanged(try .init(from: $0)) },
        "EndpointStateChange": { .endpointStateChange(try .init(from: $0)) },
    ]

    public static var knownTypes: [String] { decoders.keys.sorted() }

    /// The ARI `type` name and the payload, for encoding.
    public var typeAndPayload: (type: String, payload: (any Encodable & Sendable)?) {
        switch self {
        case .stasisStart(let e): ("StasisStart", e)
        case .stasisEnd(let e): ("StasisEnd", e)
        case .channelCreated(let e): ("ChannelCreated", e)
        case .channelStateChange(let e): ("ChannelStateChange", e)
        case .channelConnectedLine(let e): ("ChannelConnectedLine", e)
        case .channelDtmfReceived(let e): ("ChannelDtmfReceived", e)
        case .channelHangupRequest(let e): ("ChannelHangupRequest", e)
        case .channelDestroyed(let e): ("ChannelDestroyed", e)
        case .channelEnteredBridge(let e): ("ChannelEnteredBridge", e)
        case .channelLeftBridge(let e): ("ChannelLeftBridge", e)
        case .channelVarset(let e): ("ChannelVarset", e)
        case .channelDialplan(let e): ("ChannelDialplan", e)
        case .channelCallerId(let e): ("ChannelCallerId", e)
        case .dial(let e): ("Dial", e)
        case .playbackStarted(let e): ("PlaybackStarted", e)
        case .playbackContinuing(let e): ("PlaybackContinuing", e)
        case .playbackFinished(let e): ("PlaybackFinished", e)
        case .recordingStarted(let e): ("RecordingStarted", e)
        case .recordingFinished(let e): ("RecordingFinished", e)
        case .recordingFailed(let e): ("RecordingFailed", e)
        case .bridgeCreated(let e): ("BridgeCreated", e)
        case .bridgeDestroyed(let e): ("BridgeDestroyed", e)
        case .applicationReplaced(let e): ("ApplicationReplaced", e)
        case .deviceStateChanged(let e): ("DeviceStateChanged", e)
        case .endpointStateChange(let e): ("EndpointStateChange", e)
        case .unknown(let type, _): (type, nil)
        }
    }

    public var type: String { typeAndPayload.type }

    /// The channels this event concerns, so routing it to its call is a lookup.
    public var channelIds: [String] {
        switch self {
        case .stasisStart(let e): [e.channel.id] + (e.replaceChannel.map { [$0.id] } ?? [])
        case .stasisEnd(let e), .channelCreated(let e), .channelStateChange(let e), .channelConnectedLine(let e): [e.channel.id]
        case .channelDtmfReceived(let e): [e.channel.id]
        case .channelHangupRequest(let e): [e.channel.id]
        case .channelDestroyed(let e): [e.channel.id]
        case .channelEnteredBridge(let e): e.channel.map { [$0.id] } ?? []
        case .channelLeftBridge(let e): [e.channel.id]
        case .channelVarset(let e): e.channel.map { [$0.id] } ?? []
        case .channelDialplan(let e): [e.channel.id]
        case .channelCallerId(let e): [e.channel.id]
        case .dial(let e): [e.peer.id] + (e.caller.map { [$0.id] } ?? [])
        default: []
        }
    }

    public var bridgeId: String? {
        switch self {
        case .channelEnteredBridge(let e): e.bridge.id
        case .channelLeftBridge(let e): e.bridge.id
        case .bridgeCreated(let e), .bridgeDestroyed(let e): e.bridge.id
        default: nil
        }
    }

    public var playback: Playback? {
        switch self {
        case .playbackStarted(let e), .playbackContinuing(let e), .playbackFinished(let e): e.playback
        default: nil
        }
    }

    public var recording: LiveRecording? {
        switch self {
        case .recordingStarted(let e), .recordingFinished(let e), .recordingFailed(let e): e.recording
        default: nil
        }
    }
}

/// An event with the fields every ARI message carries.
public struct ARIEventMessage: Codable, Sendable, Equatable {
    public var application: String
    public var timestamp: String
    public var asteriskId: String?
    public var event: ARIEvent

    public var type: String { event.type }

    enum HeaderKeys: String, CodingKey {
        case type, application, timestamp
        case asteriskId = "asterisk_id"
    }

    public init(application: String, timestamp: String, asteriskId: String? = nil, event: ARIEvent) {
        self.application = application
        self.timestamp = timestamp
        self.asteriskId = asteriskId
        self.event = event
    }

    public init(from decoder: any Decoder) throws {
        let header = try decoder.container(keyedBy: HeaderKeys.self)
        let type = try header.decode(String.self, forKey: .type)
        application = try header.decodeIfPresent(String.self, forKey: .application) ?? ""
        timestamp = try header.decodeIfPresent(String.self, forKey: .timestamp) ?? ""
        asteriskId = try header.decodeIfPresent(String.self, forKey: .asteriskId)
        guard let decode = ARIEvent.decoders[type] else {
            event = .unknown(type: type, raw: Data())
            return
        }
        event = try decode(decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var header = encoder.container(keyedBy: HeaderKeys.self)
        let (type, payload) = event.typeAndPayload
        try header.encode(type, forKey: .type)
        try header.encode(application, forKey: .application)
        try header.encode(timestamp, forKey: .timestamp)
        try header.encodeIfPresent(asteriskId, forKey: .asteriskId)
        try payload?.encode(to: encoder)
    }

    /// Decodes one WebSocket text frame. Unknown types become `.unknown` with the raw JSON kept;
    /// a malformed message throws `ARIError.decoding`.
    public static func decode(_ data: Data) throws -> ARIEventMessage {
        do {
            var message = try ARICoding.decoder().decode(ARIEventMessage.self, from: data)
            if case .unknown(let type, _) = message.event {
                message.event = .unknown(type: type, raw: data)
            }
            return message
        } catch {
            throw ARIError.decoding(String(describing: error))
        }
    }

    /// The message as Asterisk writes it on the events socket: `type` and `timestamp` first (packed with the
    /// event), then the event's own members, then `asterisk_id` (added by `app_send`) and `application` (added by
    /// `ari_websocket_send_event`): jansson keeps members in the order they were set.
    public func encoded() throws -> Data {
        let (type, payload) = event.typeAndPayload
        func quoted(_ value: String) throws -> String { String(decoding: try ARICoding.encoder().encode(value), as: UTF8.self) }
        var text = "{\"type\":" + (try quoted(type))
        text += ",\"timestamp\":" + (try quoted(timestamp))
        if let payload {
            let members = String(decoding: try ARICoding.encoder().encode(payload), as: UTF8.self)
            // An object's members without its braces ("{}" has none).
            guard members.hasPrefix("{"), members.hasSuffix("}") else { throw ARIError.decoding("an event's payload is not an object") }
            let inner = members.dropFirst().dropLast()
            if !inner.isEmpty { text += "," + inner }
        }
        if let asteriskId {
            text += ",\"asterisk_id\":" + (try quoted(asteriskId))
        }
        text += ",\"application\":" + (try quoted(application))
        text += "}"
        return Data(text.utf8)
    }
}
