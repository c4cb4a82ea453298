import ARI
import Foundation

/// Per-channel state the simulator keeps beside the ARI `Channel`.
struct SimChannel {
    enum Origin { case inbound, originated, snoop, externalMedia }
    var channel: Channel
    var origin: Origin
    /// The app that receives this channel's events (the Stasis app, or the app named at originate).
    var app: String?
    var inStasis: Bool
    var bridgeId: String?
    /// Media operations run one after another: playbacks and recordings.
    var mediaQueue: [MediaItem] = []
    var variables: [String: String] = [:]
    var hangingUp = false
    /// For snoop channels: the channel being spied on.
    var snoopedChannelId: String?
    var phoneResource: String?
}

enum MediaItem: Equatable {
    case playback(String)
    case recording(String)
}

struct SimPlayback {
    var playback: Playback
    /// Remaining media URIs after the current one.
    var remaining: [String]
    var channelId: String?
    var bridgeId: String?
    var generation = 0
}

struct SimRecording {
    var live: LiveRecording
    var channelId: String?
    var bridgeId: String?
    var startedAt: Date?
    var maxDurationSeconds: Int
}

struct SimBridge {
    var bridge: Bridge
    var recordingName: String?
}

/// A WebSocket client of one app.
final class EventSink: Sendable {
    let id: Int
    let app: String
    let stream: AsyncStream<String>
    let continuation: AsyncStream<String>.Continuation

    init(id: Int, app: String) {
        self.id = id
        self.app = app
        (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
    }
}

struct SimApplication {
    var name: String
    var subscriptions: Set<String> = []
}
