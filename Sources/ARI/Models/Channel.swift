/// Caller or connected-line identity of a channel (ARI `CallerID`).
public struct CallerID: Codable, Sendable, Equatable {
    public var name: String
    public var number: String
    public init(name: String = "", number: String = "") {
        self.name = name
        self.number = number
    }
}

/// Dialplan location of a channel (ARI `DialplanCEP`).
public struct DialplanCEP: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case context
        case exten
        case priority
        case appName = "app_name"
        case appData = "app_data"
    }
    public var context: String
    public var exten: String
    public var priority: Int
    public var appName: String
    public var appData: String
    public init(context: String, exten: String, priority: Int, appName: String = "", appData: String = "") {
        self.context = context
        self.exten = exten
        self.priority = priority
        self.appName = appName
        self.appData = appData
    }
}

/// A channel as ARI reports it (ARI `Channel`).
public struct Channel: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case id
        case protocolId = "protocol_id"
        case name
        case state
        case caller
        case connected
        case accountcode
        case dialplan
        case creationtime
        case language
        case channelvars
        case callerRdnis = "caller_rdnis"
        case tenantid
    }
    public var id: String
    public var protocolId: String
    public var name: String
    /// Down, Rsrved, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook, Pre-ring, Unknown
    public var state: String
    public var caller: CallerID
    public var connected: CallerID
    public var accountcode: String
    public var dialplan: DialplanCEP
    /// Asterisk's timestamp text, e.g. `2026-11-25T18:26:03.123+0500`.
    public var creationtime: String
    public var language: String
    public var channelvars: [String: String]?
    public var callerRdnis: String?
    public var tenantid: String?

    public init(
        id: String, protocolId: String = "", name: String, state: String,
        caller: CallerID = .init(), connected: CallerID = .init(), accountcode: String = "",
        dialplan: DialplanCEP, creationtime: String, language: String = "en",
        channelvars: [String: String]? = nil, callerRdnis: String? = nil, tenantid: String? = nil
    ) {
        self.id = id
        self.protocolId = protocolId
        self.name = name
        self.state = state
        self.caller = caller
        self.connected = connected
        self.accountcode = accountcode
        self.dialplan = dialplan
        self.creationtime = creationtime
        self.language = language
        self.channelvars = channelvars
        self.callerRdnis = callerRdnis
        self.tenantid = tenantid
    }
}
