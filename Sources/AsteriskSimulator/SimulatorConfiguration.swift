import Foundation

/// How a simulated operator phone (or a citizen being called back) answers an INVITE.
public struct PhoneBehaviour: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Rings, then answers after `answerAfterMs`.
        case answer
        /// Rings until the originate's timeout: ChannelDestroyed cause 19.
        case noAnswer
        /// Refuses at once: ChannelDestroyed cause 17.
        case busy
        /// Registered contact gone: originate answers 500 "Allocation failed".
        case offline
    }
    public var mode: Mode
    /// Simulated milliseconds of ringing before the answer.
    public var answerAfterMs: Int
    /// If set, the phone hangs up this many simulated milliseconds after answering.
    public var hangupAfterMs: Int?

    public init(mode: Mode = .answer, answerAfterMs: Int = 1000, hangupAfterMs: Int? = nil) {
        self.mode = mode
        self.answerAfterMs = answerAfterMs
        self.hangupAfterMs = hangupAfterMs
    }
}

public struct SimulatorConfiguration: Sendable {
    public var username: String
    public var password: String
    /// Real seconds per simulated second: 0.01 makes a 3 s prompt last 30 ms.
    public var timeScale: Double
    public var asteriskId: String
    public var version: String
    /// Where finished recordings are written as WAV files.
    public var recordingsDirectory: URL
    /// Extra sound files (`<dir>/<lang>/<name>.wav` or `<dir>/<name>.wav`) that `sound:` media may name.
    public var soundsDirectory: URL?
    /// Length of a sound whose file cannot be measured, in simulated seconds.
    public var defaultSoundSeconds: Double
    /// Phones that exist when the simulator starts (PJSIP resource → behaviour).
    public var phones: [String: PhoneBehaviour]
    /// Behaviour of numbers called through the trunk (`PJSIP/<number>@trunk`), e.g. callbacks.
    public var trunkBehaviour: PhoneBehaviour
    /// Answers `RESTRequest` frames on the events socket as Asterisk 20.14, 21.9, 22.4 and later do;
    /// false behaves as an older Asterisk, which ignores them.
    public var restOverWebSocket = true

    public init(username: String = "murojaat", password: String = "murojaat", timeScale: Double = 1,
                asteriskId: String = "52:54:00:12:34:56", version: String = "22.10.1",
                recordingsDirectory: URL = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-sim-recordings"),
                soundsDirectory: URL? = nil, defaultSoundSeconds: Double = 2,
                phones: [String: PhoneBehaviour] = [:], trunkBehaviour: PhoneBehaviour = .init()) {
        self.username = username
        self.password = password
        self.timeScale = timeScale
        self.asteriskId = asteriskId
        self.version = version
        self.recordingsDirectory = recordingsDirectory
        self.soundsDirectory = soundsDirectory
        self.defaultSoundSeconds = defaultSoundSeconds
        self.phones = phones
        self.trunkBehaviour = trunkBehaviour
    }
}
