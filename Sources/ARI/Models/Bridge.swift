/// A bridge as ARI reports it (ARI `Bridge`).
public struct Bridge: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case id
        case technology
        case bridgeType = "bridge_type"
        case bridgeClass = "bridge_class"
        case creator
        case name
        case channels
        case videoMode = "video_mode"
        case videoSourceId = "video_source_id"
        case creationtime
        case bridgevars
    }
    public var id: String
    public var technology: String
    /// mixing or holding
    public var bridgeType: String
    public var bridgeClass: String
    public var creator: String
    public var name: String
    public var channels: [String]
    public var videoMode: String?
    public var videoSourceId: String?
    public var creationtime: String
    public var bridgevars: [String: String]?

    public init(
        id: String, technology: String, bridgeType: String, bridgeClass: String = "stasis",
        creator: String = "Stasis", name: String = "", channels: [String] = [],
        videoMode: String? = "none", videoSourceId: String? = nil, creationtime: String,
        bridgevars: [String: String]? = nil
    ) {
        self.id = id
        self.technology = technology
        self.bridgeType = bridgeType
        self.bridgeClass = bridgeClass
        self.creator = creator
        self.name = name
        self.channels = channels
        self.videoMode = videoMode
        self.videoSourceId = videoSourceId
        self.creationtime = creationtime
        self.bridgevars = bridgevars
    }
}

/// Bridge types accepted by `POST /bridges` (comma-joined).
public enum BridgeType: String, Sendable, CaseIterable {
    case mixing, holding, dtmfEvents = "dtmf_events", proxyMedia = "proxy_media", videoSFU = "video_sfu", videoSingle = "video_single"
}

/// Role of a channel in a holding bridge (`participant` or `announcer`), free text for mixing bridges.
public enum BridgeRole: String, Sendable {
    case participant, announcer
}
