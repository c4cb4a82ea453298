import Foundation

public enum AgentState: String, Sendable, Codable, CaseIterable {
    case offline, ready, ringing
    case onCall = "on_call"
    case wrapUp = "wrap_up"
    case paused
}

/// An operator as routing sees them.
public struct OperatorInfo: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var extensionNumber: String
    /// ARI endpoint, e.g. `PJSIP/101`.
    public var endpoint: String
    public var skills: Set<Language>
    public var state: AgentState
    public var pauseReason: String?

    public init(id: Int64, name: String, extensionNumber: String, endpoint: String, skills: Set<Language>,
                state: AgentState = .offline, pauseReason: String? = nil) {
        self.id = id
        self.name = name
        self.extensionNumber = extensionNumber
        self.endpoint = endpoint
        self.skills = skills
        self.state = state
        self.pauseReason = pauseReason
    }
}

public enum CallOutcome: String, Sendable, Codable {
    case inProgress = "in_progress"
    case answered
    case abandonedIVR = "abandoned_ivr"
    case abandonedQueue = "abandoned_queue"
    case operatorNoAnswer = "operator_no_answer"
    case callbackRequested = "callback_requested"
    case callbackDone = "callback_done"
    case lost
}

public enum HangupSide: String, Sendable, Codable {
    case caller, `operator`, system
}

/// One row of `calls`: the whole state of a call as stored, written again on every change.
public struct CallRecord: Sendable, Equatable {
    public var id: UUID
    public var direction: String
    public var server: String
    public var channelId: String
    public var callerNumber: String
    public var dialledNumber: String
    public var language: Language?
    public var ivrPath: [String]
    public var topic: String?
    public var startedAt: Date
    public var ivrEndedAt: Date?
    public var queuedAt: Date?
    public var answeredAt: Date?
    public var endedAt: Date?
    public var waitSeconds: Int?
    public var talkSeconds: Int?
    public var operatorId: Int64?
    public var outcome: CallOutcome
    public var hangupSide: HangupSide?
    public var repeated: Bool
    public var callbackNumber: String?

    public init(id: UUID = .random(), direction: String = "inbound", server: String, channelId: String, callerNumber: String,
                dialledNumber: String, startedAt: Date = Date()) {
        self.id = id
        self.direction = direction
        self.server = server
        self.channelId = channelId
        self.callerNumber = callerNumber
        self.dialledNumber = dialledNumber
        self.language = nil
        self.ivrPath = []
        self.topic = nil
        self.startedAt = startedAt
        self.outcome = .inProgress
        self.repeated = false
    }
}

public struct RecordingRecord: Sendable, Equatable {
    public enum State: String, Sendable { case recording, done, failed }
    public var callId: UUID
    public var name: String
    public var server: String
    public var format: String
    public var state: State
    public var error: String?
    public var durationSeconds: Int?
    public var sizeBytes: Int?
    public var storagePath: String?
    public var startedAt: Date
    public var finishedAt: Date?

    public init(callId: UUID, name: String, server: String, format: String, state: State, error: String? = nil, durationSeconds: Int? = nil,
                sizeBytes: Int? = nil, storagePath: String? = nil, startedAt: Date, finishedAt: Date? = nil) {
        self.callId = callId
        self.name = name
        self.server = server
        self.format = format
        self.state = state
        self.error = error
        self.durationSeconds = durationSeconds
        self.sizeBytes = sizeBytes
        self.storagePath = storagePath
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

/// Tunables of the call flow; times are real seconds.
public struct CallCenterSettings: Sendable {
    public var ringTimeoutSeconds = 15
    /// How often operators' phones (ARI endpoint state) are read: a phone that is offline is not offered calls.
    public var endpointPollSeconds: Double = 5
    /// After a recorded call ends, how long to wait for RecordingFinished before asking Asterisk for the stored file
    /// (and between later asks). The event is lost when it falls in a reconnect, or never sent when the bridge went first.
    public var recordingCheckSeconds: Double = 2
    public var wrapUpSeconds: Double = 30
    public var digitTimeoutSeconds: Double = 5
    public var maxFailures = 3
    /// Seconds between queue announcements (position, expected wait, information).
    public var announcementIntervalSeconds: Double = 30
    /// After this many seconds in the queue the caller is offered a callback.
    public var callbackOfferAfterSeconds: Double = 60
    public var repeatWindowSeconds: Double = 24 * 3600
    public var recordingFormat = "wav"
    /// Played instead of the menu on holidays or emergencies (a prompt name), then the call continues to the queue.
    public var announcement: String? = nil
    /// `PJSIP/{extension}`: how an operator's phone is reached.
    public var operatorEndpointTemplate = "PJSIP/{extension}"
    /// After a reconnect, a call whose channel is missing from Asterisk's list is closed as lost only if
    /// no hang-up event for it arrives within this time (events queued behind the re-read win).
    public var resyncGraceSeconds = 1.0
    /// `PJSIP/{number}@trunk`: how a citizen is called back.
    public var callbackEndpointTemplate = "PJSIP/{number}@trunk"
    /// Average handling time assumed before there is history, for the expected-wait announcement.
    public var defaultHandlingSeconds: Double = 180

    public init() {}
}
