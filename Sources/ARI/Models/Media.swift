/// A playback of media to a channel or bridge (ARI `Playback`).
public struct Playback: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case id
        case mediaUri = "media_uri"
        case nextMediaUri = "next_media_uri"
        case targetUri = "target_uri"
        case language
        case state
    }
    public var id: String
    public var mediaUri: String
    public var nextMediaUri: String?
    public var targetUri: String
    public var language: String?
    /// queued, playing, continuing, done, failed
    public var state: String
    public init(id: String, mediaUri: String, nextMediaUri: String? = nil, targetUri: String, language: String? = nil, state: String) {
        self.id = id
        self.mediaUri = mediaUri
        self.nextMediaUri = nextMediaUri
        self.targetUri = targetUri
        self.language = language
        self.state = state
    }
}

/// Operations of `POST /playbacks/{id}/control`.
public enum PlaybackOperation: String, Sendable, CaseIterable {
    case restart, pause, unpause, reverse, forward
}

/// A recording in progress (ARI `LiveRecording`).
public struct LiveRecording: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey {
        case name
        case format
        case targetUri = "target_uri"
        case state
        case duration
        case talkingDuration = "talking_duration"
        case silenceDuration = "silence_duration"
        case cause
    }
    public var name: String
    public var format: String
    public var targetUri: String
    /// queued, recording, paused, done, failed, canceled
    public var state: String
    public var duration: Int?
    public var talkingDuration: Int?
    public var silenceDuration: Int?
    public var cause: String?
    public init(name: String, format: String, targetUri: String, state: String, duration: Int? = nil,
                talkingDuration: Int? = nil, silenceDuration: Int? = nil, cause: String? = nil) {
        self.name = name
        self.format = format
        self.targetUri = targetUri
        self.state = state
        self.duration = duration
        self.talkingDuration = talkingDuration
        self.silenceDuration = silenceDuration
        self.cause = cause
    }
}

/// A finished recording on Asterisk's disk (ARI `StoredRecording`).
public struct StoredRecording: Codable, Sendable, Equatable {
    public var name: String
    public var format: String
    public init(name: String, format: String) {
        self.name = name
        self.format = format
    }
}

/// What `/record` does when the name is taken.
public enum RecordingIfExists: String, Sendable {
    case fail, overwrite, append
}

/// Which direction `spy`/`whisper` of a snoop or `mute` apply to.
public enum MediaDirection: String, Sendable {
    case none, both, out, `in`
}

/// A sound file known to Asterisk (ARI `Sound`).
public struct Sound: Codable, Sendable, Equatable {
    public struct FormatLangPair: Codable, Sendable, Equatable {
        public var language: String
        public var format: String
        public init(language: String, format: String) {
            self.language = language
            self.format = format
        }
    }
    public var id: String
    public var text: String?
    public var formats: [FormatLangPair]
    public init(id: String, text: String? = nil, formats: [FormatLangPair]) {
        self.id = id
        self.text = text
        self.formats = formats
    }
}
