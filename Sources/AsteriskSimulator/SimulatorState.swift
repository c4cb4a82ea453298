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
    /// Event sources and their references: Asterisk counts subscriptions, each POST adding one and each
    /// DELETE taking one, and the source is left when none is left. Adding a channel of the app to a bridge
    /// subscribes the app to the bridge (two references per channel, as Asterisk 22.10 was seen to do); a
    /// channel leaving does not unsubscribe it.
    var subscriptions: [String: Int] = [:]

    func isSubscribed(_ source: String) -> Bool { subscriptions[source] != nil }

    mutating func subscribe(_ source: String, references: Int = 1) {
        subscriptions[source, default: 0] += references
    }

    /// False when the source was not subscribed to.
    mutating func unsubscribe(_ source: String) -> Bool {
        guard let references = subscriptions[source] else { return false }
        subscriptions[source] = references > 1 ? references - 1 : nil
        return true
    }
    /// `PUT /applications/{name}/eventFilter`: lists of `{"type": …}` objects, kept as given; nil when unset.
    var eventsAllowed: [JSONValue]?
    var eventsDisallowed: [JSONValue]?

    /// Asterisk's `stasis_app_event_allowed`: not disallowed, and allowed (an empty or unset list allows all).
    func allows(_ type: String) -> Bool {
        func matches(_ list: [JSONValue]?, empty: Bool) -> Bool {
            guard let list, !list.isEmpty else { return empty }
            return list.contains { entry in
                if case .object(let object) = entry, case .string(let name)? = object["type"] { return name == type }
                return false
            }
        }
        return !matches(eventsDisallowed, empty: false) && matches(eventsAllowed, empty: true)
    }
}
