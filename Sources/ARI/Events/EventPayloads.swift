// Payloads of the ARI events the app uses, field for field as in Asterisk's events.json.

public struct StasisStart: Codable, Sendable, Equatable {
    public var args: [String]
    public var channel: Channel
    public var replaceChannel: Channel?
    enum CodingKeys: String, CodingKey {
        case args, channel
        case replaceChannel = "replace_channel"
    }
    public init(args: [String], channel: Channel, replaceChannel: Channel? = nil) {
        self.args = args
        self.channel = channel
        self.replaceChannel = replaceChannel
    }
}

/// Events that carry only a channel (StasisEnd, ChannelStateChange, ChannelCreated, ChannelConnectedLine).
public struct ChannelEvent: Codable, Sendable, Equatable {
    public var channel: Channel
    public init(channel: Channel) { self.channel = channel }
}

public struct ChannelDtmfReceived: Codable, Sendable, Equatable {
    public var digit: String
    public var durationMs: Int
    public var channel: Channel
    enum CodingKeys: String, CodingKey {
        case digit, channel
        case durationMs = "duration_ms"
    }
    public init(digit: String, durationMs: Int, channel: Channel) {
        self.digit = digit
        self.durationMs = durationMs
        self.channel = channel
    }
}

/// `cause` and `soft` are present for `DELETE /channels/{id}` (32, true) and absent for a SIP BYE.
public struct ChannelHangupRequest: Codable, Sendable, Equatable {
    public var cause: Int?
    public var techCause: Int?
    public var soft: Bool?
    public var channel: Channel
    enum CodingKeys: String, CodingKey {
        case cause, soft, channel
        case techCause = "tech_cause"
    }
    public init(cause: Int? = nil, techCause: Int? = nil, soft: Bool? = nil, channel: Channel) {
        self.cause = cause
        self.techCause = techCause
        self.soft = soft
        self.channel = channel
    }
}

public struct ChannelDestroyed: Codable, Sendable, Equatable {
    public var cause: Int
    public var causeTxt: String
    public var techCause: Int?
    public var channel: Channel
    enum CodingKeys: String, CodingKey {
        case cause, channel
        case causeTxt = "cause_txt"
        case techCause = "tech_cause"
    }
    public init(cause: Int, causeTxt: String, techCause: Int? = nil, channel: Channel) {
        self.cause = cause
        self.causeTxt = causeTxt
        self.techCause = techCause
        self.channel = channel
    }
}

public struct ChannelEnteredBridge: Codable, Sendable, Equatable {
    public var bridge: Bridge
    public var channel: Channel?
    public init(bridge: Bridge, channel: Channel?) {
        self.bridge = bridge
        self.channel = channel
    }
}

public struct ChannelLeftBridge: Codable, Sendable, Equatable {
    public var bridge: Bridge
    public var channel: Channel
    public init(bridge: Bridge, channel: Channel) {
        self.bridge = bridge
        self.channel = channel
    }
}

/// A variable changed; `channel` is absent for global variables.
public struct ChannelVarset: Codable, Sendable, Equatable {
    public var variable: String
    public var value: String
    public var channel: Channel?
    public init(variable: String, value: String, channel: Channel? = nil) {
        self.variable = variable
        self.value = value
        self.channel = channel
    }
}

public struct ChannelDialplan: Codable, Sendable, Equatable {
    public var channel: Channel
    public var dialplanApp: String
    public var dialplanAppData: String
    enum CodingKeys: String, CodingKey {
        case channel
        case dialplanApp = "dialplan_app"
        case dialplanAppData = "dialplan_app_data"
    }
    public init(channel: Channel, dialplanApp: String, dialplanAppData: String) {
        self.channel = channel
        self.dialplanApp = dialplanApp
        self.dialplanAppData = dialplanAppData
    }
}

public struct ChannelCallerId: Codable, Sendable, Equatable {
    public var callerPresentation: Int
    public var callerPresentationTxt: String
    public var channel: Channel
    enum CodingKeys: String, CodingKey {
        case channel
        case callerPresentation = "caller_presentation"
        case callerPresentationTxt = "caller_presentation_txt"
    }
    public init(callerPresentation: Int, callerPresentationTxt: String, channel: Channel) {
        self.callerPresentation = callerPresentation
        self.callerPresentationTxt = callerPresentationTxt
        self.channel = channel
    }
}

/// Progress of a dial: `dialstatus` is empty at the start, then RINGING, ANSWER, BUSY, NOANSWER, CANCEL, …
public struct Dial: Codable, Sendable, Equatable {
    public var caller: Channel?
    public var peer: Channel
    public var forward: String?
    public var forwarded: Channel?
    public var dialstring: String?
    public var dialstatus: String
    public init(caller: Channel? = nil, peer: Channel, forward: String? = nil, forwarded: Channel? = nil,
                dialstring: String? = nil, dialstatus: String) {
        self.caller = caller
        self.peer = peer
        self.forward = forward
        self.forwarded = forwarded
        self.dialstring = dialstring
        self.dialstatus = dialstatus
    }
}

public struct PlaybackEvent: Codable, Sendable, Equatable {
    public var playback: Playback
    public init(playback: Playback) { self.playback = playback }
}

public struct RecordingEvent: Codable, Sendable, Equatable {
    public var recording: LiveRecording
    public init(recording: LiveRecording) { self.recording = recording }
}

public struct BridgeEvent: Codable, Sendable, Equatable {
    public var bridge: Bridge
    public init(bridge: Bridge) { self.bridge = bridge }
}

public struct DeviceStateChanged: Codable, Sendable, Equatable {
    public var deviceState: DeviceState
    enum CodingKeys: String, CodingKey {
        case deviceState = "device_state"
    }
    public init(deviceState: DeviceState) { self.deviceState = deviceState }
}

public struct EndpointStateChange: Codable, Sendable, Equatable {
    public var endpoint: Endpoint
    public init(endpoint: Endpoint) { self.endpoint = endpoint }
}

/// Events without fields of their own (ApplicationReplaced).
public struct EmptyEvent: Codable, Sendable, Equatable {
    public init() {}
}
