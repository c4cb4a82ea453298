/// A SIP (or other technology) endpoint (ARI `Endpoint`).
public struct Endpoint: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case technology
        case resource
        case state
        case channelIds = "channel_ids"
    }
    public var technology: String
    public var resource: String
    /// unknown, offline, online
    public var state: String?
    public var channelIds: [String]
    public init(technology: String, resource: String, state: String? = nil, channelIds: [String] = []) {
        self.technology = technology
        self.resource = resource
        self.state = state
        self.channelIds = channelIds
    }
}

/// A device state (ARI `DeviceState`).
public struct DeviceState: Codable, Sendable, Equatable {
    public var name: String
    public var state: String
    public init(name: String, state: String) {
        self.name = name
        self.state = state
    }
}

/// A Stasis application's subscriptions (ARI `Application`).
public struct Application: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case name
        case channelIds = "channel_ids"
        case bridgeIds = "bridge_ids"
        case endpointIds = "endpoint_ids"
        case deviceNames = "device_names"
        case eventsAllowed = "events_allowed"
        case eventsDisallowed = "events_disallowed"
    }
    public var name: String
    public var channelIds: [String]
    public var bridgeIds: [String]
    public var endpointIds: [String]
    public var deviceNames: [String]
    public var eventsAllowed: [JSONValue]
    public var eventsDisallowed: [JSONValue]
    public init(name: String, channelIds: [String] = [], bridgeIds: [String] = [], endpointIds: [String] = [],
                deviceNames: [String] = [], eventsAllowed: [JSONValue] = [], eventsDisallowed: [JSONValue] = []) {
        self.name = name
        self.channelIds = channelIds
        self.bridgeIds = bridgeIds
        self.endpointIds = endpointIds
        self.deviceNames = deviceNames
        self.eventsAllowed = eventsAllowed
        self.eventsDisallowed = eventsDisallowed
    }
}

/// `GET /asterisk/info` (ARI `AsteriskInfo`); every part is optional, as `only=` may leave some out.
public struct AsteriskInfo: Codable, Sendable, Equatable {
    public struct BuildInfo: Codable, Sendable, Equatable {
        public var os: String
        public var kernel: String
        public var options: String
        public var machine: String
        public var date: String
        public var user: String
        public init(os: String, kernel: String, options: String, machine: String, date: String, user: String) {
            self.os = os
            self.kernel = kernel
            self.options = options
            self.machine = machine
            self.date = date
            self.user = user
        }
    }
    public struct SystemInfo: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case version
            case entityId = "entity_id"
        }
        public var version: String
        public var entityId: String
        public init(version: String, entityId: String) {
            self.version = version
            self.entityId = entityId
        }
    }
    public struct SetId: Codable, Sendable, Equatable {
        public var user: String
        public var group: String
        public init(user: String, group: String) {
            self.user = user
            self.group = group
        }
    }
    public struct ConfigInfo: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case name
            case defaultLanguage = "default_language"
            case maxChannels = "max_channels"
            case maxOpenFiles = "max_open_files"
            case maxLoad = "max_load"
            case setid
        }
        public var name: String
        public var defaultLanguage: String
        public var maxChannels: Int?
        public var maxOpenFiles: Int?
        public var maxLoad: Double?
        public var setid: SetId
        public init(name: String, defaultLanguage: String, maxChannels: Int? = nil, maxOpenFiles: Int? = nil, maxLoad: Double? = nil, setid: SetId) {
            self.name = name
            self.defaultLanguage = defaultLanguage
            self.maxChannels = maxChannels
            self.maxOpenFiles = maxOpenFiles
            self.maxLoad = maxLoad
            self.setid = setid
        }
    }
    public struct StatusInfo: Codable, Sendable, Equatable {
        enum CodingKeys: String, CodingKey {
            case startupTime = "startup_time"
            case lastReloadTime = "last_reload_time"
        }
        public var startupTime: String
        public var lastReloadTime: String
        public init(startupTime: String, lastReloadTime: String) {
            self.startupTime = startupTime
            self.lastReloadTime = lastReloadTime
        }
    }
    public var build: BuildInfo?
    public var system: SystemInfo?
    public var config: ConfigInfo?
    public var status: StatusInfo?
    public init(build: BuildInfo? = nil, system: SystemInfo? = nil, config: ConfigInfo? = nil, status: StatusInfo? = nil) {
        self.build = build
        self.system = system
        self.config = config
        self.status = status
    }
}

/// `GET /asterisk/ping` (ARI `AsteriskPing`).
public struct AsteriskPing: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case asteriskId = "asterisk_id"
        case ping
        case timestamp
    }
    public var asteriskId: String
    public var ping: String
    public var timestamp: String
    public init(asteriskId: String, ping: String = "pong", timestamp: String) {
        self.asteriskId = asteriskId
        self.ping = ping
        self.timestamp = timestamp
    }
}

/// A loaded module (ARI `Module`).
public struct Module: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case name
        case description
        case useCount = "use_count"
        case status
        case supportLevel = "support_level"
    }
    public var name: String
    public var description: String
    public var useCount: Int
    public var status: String
    public var supportLevel: String
    public init(name: String, description: String, useCount: Int = 0, status: String = "Running", supportLevel: String = "core") {
        self.name = name
        self.description = description
        self.useCount = useCount
        self.status = status
        self.supportLevel = supportLevel
    }
}

/// The value of one channel or global variable (ARI `Variable`).
public struct Variable: Codable, Sendable, Equatable {
    public var value: String
    public init(value: String) { self.value = value }
}
