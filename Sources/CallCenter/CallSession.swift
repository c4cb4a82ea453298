import ARI
import Foundation
import struct NIOCore.Scheduled

/// The live state of one call inside the call flow.
struct CallSession {
    enum Phase: Equatable {
        case ivr
        case queued
        case ringing(operatorId: Int64, leg: String)
        case bridged(operatorId: Int64, leg: String)
        /// The caller asked to be called back and hung up; the place in line is kept.
        case callbackWaiting
        /// Calling the citizen back with the operator already on the line.
        case callingBack(operatorId: Int64, leg: String, citizenLeg: String)
        case ended
    }

    /// What to do once every outstanding playback has finished.
    enum AfterPrompts: Equatable {
        case waitForDigit
        case returnToMenu
        case queueMusic
        case hangUp
        case nothing
    }

    var record: CallRecord
    var phase: Phase = .ivr
    var node: String
    var failures = 0
    var playbacks: [String] = []
    var after: AfterPrompts = .nothing
    /// When the caller's last digit arrived, until the prompt it leads to is asked for (benchmark only).
    var digitAt: ContinuousClock.Instant?
    var timer: Scheduled<Void>?
    var ops: CallRequests
    var ringAttempts = 0
    var noAnswers = 0
    var callbackOffered = false
    /// The caller's place in the waiting lines, kept while an operator is rung (`WaitingLines`).
    var ticket: UInt64?
    var recordingName: String?
    /// The snoop channel recording the conversation (`connect`), hung up when the call ends.
    var recorder: String?
    /// Whether its recording was asked for (once: a second request would be refused and fail a working recording).
    var recordingAsked = false
    var bridgeId: String?
    var musicOn = false
    var monitors: [String] = []
    /// Taken from a channel listing (its StasisStart was never seen), not from an event.
    var adopted = false
    /// When the call became routable (queued, or back in line), for the routing latency.
    var routableSince = ContinuousClock.now

    var server: String { record.server }
    var callerChannel: String { record.channelId }
    var language: Language { record.language ?? .uz }

    var operatorId: Int64? {
        switch phase {
        case .ringing(let id, _), .bridged(let id, _), .callingBack(let id, _, _): id
        default: nil
        }
    }

    var operatorLeg: String? {
        switch phase {
        case .ringing(_, let leg), .bridged(_, let leg), .callingBack(_, let leg, _): leg
        default: nil
        }
    }
}

/// An operator as the router keeps them.
/// What routing compares of a ready operator.
struct ReadyAgent {
    var idleSince: Date
    var speaksUzbek: Bool
    var speaksRussian: Bool
}

struct Agent {
    var info: OperatorInfo
    var state: AgentState { info.state }
    var since = Date()
    /// For longest-idle routing: when the operator last became free.
    var idleSince = Date.distantPast
    var readySince = ContinuousClock.now
    var callId: UUID?
    var timer: Scheduled<Void>?
}

/// How a supervisor takes part in a live call.
public enum MonitorMode: String, Sendable, CaseIterable { case listen, whisper, barge }

/// A supervisor listening to, whispering to or joining a call.
struct Monitor {
    typealias Mode = MonitorMode
    var id: String
    var callId: UUID
    var mode: Mode
    var server: String
    var snoopChannel: String?
    var supervisorChannel: String
    var bridgeId: String?
}
