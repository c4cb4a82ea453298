import Foundation

/// Typed access to one Asterisk's REST interface. Knows nothing of call centres.
public struct ARIClient: Sendable {
    public let transport: any ARITransport
    /// The Stasis application this client acts for (`app` of originate, snoop, subscriptions).
    public let application: String

    public init(transport: any ARITransport, application: String) {
        self.transport = transport
        self.application = application
    }

    public init(configuration: ARIServerConfiguration) {
        self.init(transport: HTTPARITransport(configuration: configuration), application: configuration.application)
    }

    func call<T: Decodable>(_ request: ARIRequest, as type: T.Type = T.self) async throws -> T {
        let response = try await transport.send(request)
        do {
            return try ARICoding.decoder().decode(T.self, from: response.body)
        } catch {
            throw ARIError.decoding("\(request.method) \(request.template): \(error)")
        }
    }

    func call(_ request: ARIRequest) async throws {
        _ = try await transport.send(request)
    }

    /// Sends a request built elsewhere; its answer's status is checked, its body not read.
    public func send(_ request: ARIRequest) async throws {
        _ = try await transport.send(request)
    }

    static func variablesBody(_ variables: [String: String]) -> Data? {
        guard !variables.isEmpty else { return nil }
        return try? JSONEncoder().encode(["variables": variables])
    }
}

extension Bool {
    var ariQuery: String { self ? "true" : "false" }
}

// MARK: - Asterisk

extension ARIClient {
    public func asteriskInfo(only: [String] = []) async throws -> AsteriskInfo {
        try await call(ARIRequest(.GET, "/asterisk/info", query: [("only", only.isEmpty ? nil : only.joined(separator: ","))]))
    }

    public func ping() async throws -> AsteriskPing {
        try await call(ARIRequest(.GET, "/asterisk/ping"))
    }

    public func modules() async throws -> [Module] {
        try await call(ARIRequest(.GET, "/asterisk/modules"))
    }

    public func module(_ name: String) async throws -> Module {
        try await call(ARIRequest(.GET, "/asterisk/modules/{moduleName}", path: ["moduleName": name]))
    }

    public func globalVariable(_ name: String) async throws -> String {
        let variable: Variable = try await call(ARIRequest(.GET, "/asterisk/variable", query: [("variable", name)]))
        return variable.value
    }

    public func setGlobalVariable(_ name: String, value: String?) async throws {
        try await call(ARIRequest(.POST, "/asterisk/variable", query: [("variable", name), ("value", value)]))
    }
}

// MARK: - Channels

/// Parameters of `POST /channels` (originate into the Stasis app).
public struct OriginateParameters: Sendable {
    public var endpoint: String
    /// Client-chosen id, so events for the channel can be routed before the answer arrives.
    public var channelId: String?
    public var otherChannelId: String?
    public var appArgs: String?
    public var callerId: String?
    /// Seconds to wait for an answer (Asterisk's default is 30).
    public var timeout: Int?
    public var variables: [String: String]
    public var originator: String?
    public var formats: String?

    public init(endpoint: String, channelId: String? = nil, otherChannelId: String? = nil, appArgs: String? = nil,
                callerId: String? = nil, timeout: Int? = nil, variables: [String: String] = [:],
                originator: String? = nil, formats: String? = nil) {
        self.endpoint = endpoint
        self.channelId = channelId
        self.otherChannelId = otherChannelId
        self.appArgs = appArgs
        self.callerId = callerId
        self.timeout = timeout
        self.variables = variables
        self.originator = originator
        self.formats = formats
    }
}

extension ARIClient {
    public func channels() async throws -> [Channel] {
        try await call(ARIRequest(.GET, "/channels"))
    }

    public func channel(_ id: String) async throws -> Channel {
        try await call(ARIRequest(.GET, "/channels/{channelId}", path: ["channelId": id]))
    }

    /// Originates a channel to `endpoint` that enters this Stasis application when answered.
    public func originate(_ p: OriginateParameters) async throws -> Channel {
        try await call(originateRequest(p))
    }

    public func originateRequest(_ p: OriginateParameters) -> ARIRequest {
        let query: [(String, String?)] = [
            ("endpoint", p.endpoint), ("app", application), ("appArgs", p.appArgs), ("callerId", p.callerId),
            ("timeout", p.timeout.map(String.init)), ("channelId", p.channelId), ("otherChannelId", p.otherChannelId),
            ("originator", p.originator), ("formats", p.formats),
        ]
        return ARIRequest(.POST, "/channels", query: query, body: Self.variablesBody(p.variables))
    }

    /// Originates into the dialplan instead of Stasis (e.g. a callback through `outbound-callback`).
    public func originateToDialplan(endpoint: String, context: String, extension exten: String, priority: Int = 1,
                                    callerId: String? = nil, timeout: Int? = nil, channelId: String? = nil,
                                    variables: [String: String] = [:]) async throws -> Channel {
        let query: [(String, String?)] = [
            ("endpoint", endpoint), ("context", context), ("extension", exten), ("priority", String(priority)),
            ("callerId", callerId), ("timeout", timeout.map(String.init)), ("channelId", channelId),
        ]
        return try await call(ARIRequest(.POST, "/channels", query: query, body: Self.variablesBody(variables)))
    }

    /// Hangs up; `reason` is one of ARI's names (normal, busy, congestion, no_answer, timeout, …).
    public func hangup(_ id: String, reason: String? = nil) async throws {
        try await call(Self.hangupRequest(id, reason: reason))
    }

    public static func hangupRequest(_ id: String, reason: String? = nil) -> ARIRequest {
        ARIRequest(.DELETE, "/channels/{channelId}", path: ["channelId": id], query: [("reason", reason)])
    }

    public func answer(_ id: String) async throws {
        try await call(Self.answerRequest(id))
    }

    public static func answerRequest(_ id: String) -> ARIRequest {
        ARIRequest(.POST, "/channels/{channelId}/answer", path: ["channelId": id])
    }

    public func ring(_ id: String) async throws {
        try await call(ARIRequest(.POST, "/channels/{channelId}/ring", path: ["channelId": id]))
    }

    public func ringStop(_ id: String) async throws {
        try await call(ARIRequest(.DELETE, "/channels/{channelId}/ring", path: ["channelId": id]))
    }

    /// Plays one or more media URIs in order (`sound:`, `recording:`, `number:`, `digits:`, `tone:`).
    @discardableResult
    public func play(channel id: String, media: [String], lang: String? = nil, playbackId: String? = nil) async throws -> Playback {
        try await call(Self.playRequest(channel: id, media: media, lang: lang, playbackId: playbackId))
    }

    public static func playRequest(channel id: String, media: [String], lang: String?, playbackId: String?) -> ARIRequest {
        ARIRequest(.POST, "/channels/{channelId}/play", path: ["channelId": id], query: [
            ("media", media.joined(separator: ",")), ("lang", lang), ("playbackId", playbackId),
        ])
    }

    @discardableResult
    public func record(channel id: String, name: String, format: String = "wav", maxDurationSeconds: Int? = nil,
                       maxSilenceSeconds: Int? = nil, ifExists: RecordingIfExists? = nil, beep: Bool? = nil,
                       terminateOn: String? = nil) async throws -> LiveRecording {
        try await call(ARIRequest(.POST, "/channels/{channelId}/record", path: ["channelId": id], query: [
            ("name", name), ("format", format), ("maxDurationSeconds", maxDurationSeconds.map(String.init)),
            ("maxSilenceSeconds", maxSilenceSeconds.map(String.init)), ("ifExists", ifExists?.rawValue),
            ("beep", beep?.ariQuery), ("terminateOn", terminateOn),
        ]))
    }

    /// Creates a snoop channel on `id` in this app (`spy`: what the supervisor hears, `whisper`: who hears them).
    public func snoop(channel id: String, spy: MediaDirection = .none, whisper: MediaDirection = .none,
                      snoopId: String? = nil, appArgs: String? = nil) async throws -> Channel {
        try await call(snoopRequest(channel: id, spy: spy, whisper: whisper, snoopId: snoopId, appArgs: appArgs))
    }

    public func snoopRequest(channel id: String, spy: MediaDirection = .none, whisper: MediaDirection = .none,
                             snoopId: String? = nil, appArgs: String? = nil) -> ARIRequest {
        ARIRequest(.POST, "/channels/{channelId}/snoop", path: ["channelId": id], query: [
            ("spy", spy.rawValue), ("whisper", whisper.rawValue), ("app", application), ("appArgs", appArgs),
            ("snoopId", snoopId),
        ])
    }

    public static func recordChannelRequest(channel id: String, name: String, format: String, ifExists: RecordingIfExists?) -> ARIRequest {
        ARIRequest(.POST, "/channels/{channelId}/record", path: ["channelId": id], query: [
            ("name", name), ("format", format), ("ifExists", ifExists?.rawValue),
        ])
    }

    public func sendDTMF(channel id: String, dtmf: String, before: Int? = nil, between: Int? = nil,
                         duration: Int? = nil, after: Int? = nil) async throws {
        try await call(ARIRequest(.POST, "/channels/{channelId}/dtmf", path: ["channelId": id], query: [
            ("dtmf", dtmf), ("before", before.map(String.init)), ("between", between.map(String.init)),
            ("duration", duration.map(String.init)), ("after", after.map(String.init)),
        ]))
    }

    public func mute(channel id: String, direction: MediaDirection = .both) async throws {
        try await call(ARIRequest(.POST, "/channels/{channelId}/mute", path: ["channelId": id], query: [("direction", direction.rawValue)]))
    }

    public func unmute(channel id: String, direction: MediaDirection = .both) async throws {
        try await call(ARIRequest(.DELETE, "/channels/{channelId}/mute", path: ["channelId": id], query: [("direction", direction.rawValue)]))
    }

    public func hold(channel id: String) async throws {
        try await call(ARIRequest(.POST, "/channels/{channelId}/hold", path: ["channelId": id]))
    }

    public func unhold(channel id: String) async throws {
        try await call(ARIRequest(.DELETE, "/channels/{channelId}/hold", path: ["channelId": id]))
    }

    public func startMusicOnHold(channel id: String, mohClass: String? = nil) async throws {
        try await call(Self.startMusicOnHoldRequest(channel: id, mohClass: mohClass))
    }

    public static func startMusicOnHoldRequest(channel id: String, mohClass: String? = nil) -> ARIRequest {
        ARIRequest(.POST, "/channels/{channelId}/moh", path: ["channelId": id], query: [("mohClass", mohClass)])
    }

    public func stopMusicOnHold(channel id: String) async throws {
        try await call(Self.stopMusicOnHoldRequest(channel: id))
    }

    public static func stopMusicOnHoldRequest(channel id: String) -> ARIRequest {
        ARIRequest(.DELETE, "/channels/{channelId}/moh", path: ["channelId": id])
    }

    public func variable(channel id: String, _ name: String) async throws -> String {
        let variable: Variable = try await call(ARIRequest(.GET, "/channels/{channelId}/variable", path: ["channelId": id], query: [("variable", name)]))
        return variable.value
    }

    public func setVariable(channel id: String, _ name: String, value: String?) async throws {
        try await call(ARIRequest(.POST, "/channels/{channelId}/variable", path: ["channelId": id], query: [("variable", name), ("value", value)]))
    }

    /// Leaves Stasis and goes on in the dialplan.
    public func continueInDialplan(channel id: String, context: String? = nil, extension exten: String? = nil,
                                   priority: Int? = nil, label: String? = nil) async throws {
        try await call(ARIRequest(.POST, "/channels/{channelId}/continue", path: ["channelId": id], query: [
            ("context", context), ("extension", exten), ("priority", priority.map(String.init)), ("label", label),
        ]))
    }

    /// Creates an external-media channel (RTP to `externalHost`, e.g. for speech analytics).
    public func externalMedia(channelId: String? = nil, externalHost: String, format: String = "ulaw",
                              encapsulation: String? = nil, transport: String? = nil, direction: String? = nil,
                              variables: [String: String] = [:]) async throws -> Channel {
        try await call(ARIRequest(.POST, "/channels/externalMedia", query: [
            ("channelId", channelId), ("app", application), ("external_host", externalHost),
            ("encapsulation", encapsulation), ("transport", transport), ("format", format), ("direction", direction),
        ], body: Self.variablesBody(variables)))
    }
}

// MARK: - Bridges

extension ARIClient {
    public func bridges() async throws -> [Bridge] {
        try await call(ARIRequest(.GET, "/bridges"))
    }

    public func bridge(_ id: String) async throws -> Bridge {
        try await call(ARIRequest(.GET, "/bridges/{bridgeId}", path: ["bridgeId": id]))
    }

    public func createBridge(types: [BridgeType] = [.mixing], bridgeId: String? = nil, name: String? = nil) async throws -> Bridge {
        try await call(Self.createBridgeRequest(types: types, bridgeId: bridgeId, name: name))
    }

    public static func createBridgeRequest(types: [BridgeType], bridgeId: String?, name: String?) -> ARIRequest {
        ARIRequest(.POST, "/bridges", query: [
            ("type", types.map(\.rawValue).joined(separator: ",")), ("bridgeId", bridgeId), ("name", name),
        ])
    }

    public func destroyBridge(_ id: String) async throws {
        try await call(Self.destroyBridgeRequest(id))
    }

    public static func destroyBridgeRequest(_ id: String) -> ARIRequest {
        ARIRequest(.DELETE, "/bridges/{bridgeId}", path: ["bridgeId": id])
    }

    public func addChannel(bridge id: String, channels: [String], role: String? = nil, absorbDTMF: Bool? = nil,
                           mute: Bool? = nil) async throws {
        try await call(Self.addChannelRequest(bridge: id, channels: channels, role: role, absorbDTMF: absorbDTMF, mute: mute))
    }

    public static func addChannelRequest(bridge id: String, channels: [String], role: String? = nil, absorbDTMF: Bool? = nil,
                                         mute: Bool? = nil) -> ARIRequest {
        ARIRequest(.POST, "/bridges/{bridgeId}/addChannel", path: ["bridgeId": id], query: [
            ("channel", channels.joined(separator: ",")), ("role", role), ("absorbDTMF", absorbDTMF?.ariQuery),
            ("mute", mute?.ariQuery),
        ])
    }

    public func removeChannel(bridge id: String, channels: [String]) async throws {
        try await call(ARIRequest(.POST, "/bridges/{bridgeId}/removeChannel", path: ["bridgeId": id], query: [
            ("channel", channels.joined(separator: ",")),
        ]))
    }

    @discardableResult
    public func play(bridge id: String, media: [String], lang: String? = nil, playbackId: String? = nil) async throws -> Playback {
        try await call(ARIRequest(.POST, "/bridges/{bridgeId}/play", path: ["bridgeId": id], query: [
            ("media", media.joined(separator: ",")), ("lang", lang), ("playbackId", playbackId),
        ]))
    }

    @discardableResult
    public func record(bridge id: String, name: String, format: String = "wav", maxDurationSeconds: Int? = nil,
                       maxSilenceSeconds: Int? = nil, ifExists: RecordingIfExists? = nil, beep: Bool? = nil,
                       terminateOn: String? = nil) async throws -> LiveRecording {
        try await call(Self.recordBridgeRequest(bridge: id, name: name, format: format, maxDurationSeconds: maxDurationSeconds,
                                                maxSilenceSeconds: maxSilenceSeconds, ifExists: ifExists, beep: beep, terminateOn: terminateOn))
    }

    public static func recordBridgeRequest(bridge id: String, name: String, format: String, maxDurationSeconds: Int? = nil,
                                    maxSilenceSeconds: Int? = nil, ifExists: RecordingIfExists?, beep: Bool? = nil,
                                    terminateOn: String? = nil) -> ARIRequest {
        ARIRequest(.POST, "/bridges/{bridgeId}/record", path: ["bridgeId": id], query: [
            ("name", name), ("format", format), ("maxDurationSeconds", maxDurationSeconds.map(String.init)),
            ("maxSilenceSeconds", maxSilenceSeconds.map(String.init)), ("ifExists", ifExists?.rawValue),
            ("beep", beep?.ariQuery), ("terminateOn", terminateOn),
        ])
    }

    public func startMusicOnHold(bridge id: String, mohClass: String? = nil) async throws {
        try await call(ARIRequest(.POST, "/bridges/{bridgeId}/moh", path: ["bridgeId": id], query: [("mohClass", mohClass)]))
    }

    public func stopMusicOnHold(bridge id: String) async throws {
        try await call(ARIRequest(.DELETE, "/bridges/{bridgeId}/moh", path: ["bridgeId": id]))
    }
}

// MARK: - Playbacks and recordings

extension ARIClient {
    public func playback(_ id: String) async throws -> Playback {
        try await call(ARIRequest(.GET, "/playbacks/{playbackId}", path: ["playbackId": id]))
    }

    public func stopPlayback(_ id: String) async throws {
        try await call(Self.stopPlaybackRequest(id))
    }

    public static func stopPlaybackRequest(_ id: String) -> ARIRequest {
        ARIRequest(.DELETE, "/playbacks/{playbackId}", path: ["playbackId": id])
    }

    public func controlPlayback(_ id: String, operation: PlaybackOperation) async throws {
        try await call(ARIRequest(.POST, "/playbacks/{playbackId}/control", path: ["playbackId": id], query: [("operation", operation.rawValue)]))
    }

    public func liveRecording(_ name: String) async throws -> LiveRecording {
        try await call(ARIRequest(.GET, "/recordings/live/{recordingName}", path: ["recordingName": name]))
    }

    public func stopRecording(_ name: String) async throws {
        try await call(ARIRequest(.POST, "/recordings/live/{recordingName}/stop", path: ["recordingName": name]))
    }

    /// Stops and discards the recording.
    public func cancelRecording(_ name: String) async throws {
        try await call(ARIRequest(.DELETE, "/recordings/live/{recordingName}", path: ["recordingName": name]))
    }

    public func pauseRecording(_ name: String) async throws {
        try await call(ARIRequest(.POST, "/recordings/live/{recordingName}/pause", path: ["recordingName": name]))
    }

    public func unpauseRecording(_ name: String) async throws {
        try await call(ARIRequest(.DELETE, "/recordings/live/{recordingName}/pause", path: ["recordingName": name]))
    }

    public func muteRecording(_ name: String) async throws {
        try await call(ARIRequest(.POST, "/recordings/live/{recordingName}/mute", path: ["recordingName": name]))
    }

    public func unmuteRecording(_ name: String) async throws {
        try await call(ARIRequest(.DELETE, "/recordings/live/{recordingName}/mute", path: ["recordingName": name]))
    }

    public func storedRecordings() async throws -> [StoredRecording] {
        try await call(ARIRequest(.GET, "/recordings/stored"))
    }

    public func storedRecording(_ name: String) async throws -> StoredRecording {
        try await call(ARIRequest(.GET, "/recordings/stored/{recordingName}", path: ["recordingName": name]))
    }

    /// The recording's bytes, streamed as Asterisk sends them.
    public func storedRecordingFile(_ name: String) async throws -> ARIStreamedResponse {
        try await transport.stream(ARIRequest(.GET, "/recordings/stored/{recordingName}/file", path: ["recordingName": name]))
    }

    /// Copies a stored recording's file into a new file at `path`; its size. A failed copy leaves no file.
    public func downloadStoredRecording(_ name: String, toFile path: String) async throws -> Int {
        try await transport.download(ARIRequest(.GET, "/recordings/stored/{recordingName}/file", path: ["recordingName": name]), toFile: path)
    }

    /// The same copy without a task for the caller: `completion` runs once when it ends, on the thread that
    /// finished it (for HTTP, the recording copies' loop).
    public func downloadStoredRecording(_ name: String, toFile path: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        transport.download(ARIRequest(.GET, "/recordings/stored/{recordingName}/file", path: ["recordingName": name]), toFile: path,
                           completion: completion)
    }

    public func deleteStoredRecording(_ name: String) async throws {
        try await call(ARIRequest(.DELETE, "/recordings/stored/{recordingName}", path: ["recordingName": name]))
    }

    public func copyStoredRecording(_ name: String, to destination: String) async throws -> StoredRecording {
        try await call(ARIRequest(.POST, "/recordings/stored/{recordingName}/copy", path: ["recordingName": name], query: [
            ("destinationRecordingName", destination),
        ]))
    }
}

// MARK: - Endpoints, applications, sounds

extension ARIClient {
    public func endpoints() async throws -> [Endpoint] {
        try await call(ARIRequest(.GET, "/endpoints"))
    }

    public func endpoints(technology: String) async throws -> [Endpoint] {
        try await call(ARIRequest(.GET, "/endpoints/{tech}", path: ["tech": technology]))
    }

    public func endpoint(technology: String, resource: String) async throws -> Endpoint {
        try await call(ARIRequest(.GET, "/endpoints/{tech}/{resource}", path: ["tech": technology, "resource": resource]))
    }

    public func applications() async throws -> [Application] {
        try await call(ARIRequest(.GET, "/applications"))
    }

    public func applicationDetails(_ name: String? = nil) async throws -> Application {
        try await call(ARIRequest(.GET, "/applications/{applicationName}", path: ["applicationName": name ?? application]))
    }

    /// Subscribes this app to a resource's events, e.g. `bridge:ID` (needed for BridgeDestroyed), `endpoint:PJSIP/101`.
    @discardableResult
    public func subscribe(eventSource: String) async throws -> Application {
        try await call(subscribeRequest(eventSource: eventSource))
    }

    public func subscribeRequest(eventSource: String) -> ARIRequest {
        ARIRequest(.POST, "/applications/{applicationName}/subscription", path: ["applicationName": application], query: [
            ("eventSource", eventSource),
        ])
    }

    /// Asks Asterisk to send this app only events of the `allowed` types and none of the `disallowed`
    /// (`PUT /applications/{name}/eventFilter`, Asterisk 13.26 and 16.3 on). An empty list leaves that side
    /// open; both empty clears the filter. The filter belongs to the application and outlives its socket.
    @discardableResult
    public func setEventFilter(allowed: [String], disallowed: [String] = []) async throws -> Application {
        func list(_ types: [String]) -> [[String: String]] { types.map { ["type": $0] } }
        let body = try JSONEncoder().encode(["allowed": list(allowed), "disallowed": list(disallowed)])
        return try await call(ARIRequest(.PUT, "/applications/{applicationName}/eventFilter",
                                         path: ["applicationName": application], body: body))
    }

    @discardableResult
    public func unsubscribe(eventSource: String) async throws -> Application {
        try await call(ARIRequest(.DELETE, "/applications/{applicationName}/subscription", path: ["applicationName": application], query: [
            ("eventSource", eventSource),
        ]))
    }

    public func sounds(lang: String? = nil, format: String? = nil) async throws -> [Sound] {
        try await call(ARIRequest(.GET, "/sounds", query: [("lang", lang), ("format", format)]))
    }

    public func sound(_ id: String) async throws -> Sound {
        try await call(ARIRequest(.GET, "/sounds/{soundId}", path: ["soundId": id]))
    }
}

// MARK: - Without reading the answer

/// The same requests as `play`, `originate`, `createBridge`, `record` and `subscribe`, for a caller that
/// learns the outcome from events: the answer's status is checked (errors throw as usual) but its body
/// is not decoded. The call flow sends these for every call; decoding their answers (a subscription's
/// answer lists every channel of the application) was a visible share of its CPU.
extension ARIClient {
    public func startPlayback(channel id: String, media: [String], lang: String? = nil, playbackId: String? = nil) async throws {
        try await call(Self.playRequest(channel: id, media: media, lang: lang, playbackId: playbackId))
    }

    public func originateOnly(_ parameters: OriginateParameters) async throws {
        try await call(originateRequest(parameters))
    }

    public func createBridgeOnly(types: [BridgeType] = [.mixing], bridgeId: String, name: String? = nil) async throws {
        try await call(Self.createBridgeRequest(types: types, bridgeId: bridgeId, name: name))
    }

    public func startRecording(bridge id: String, name: String, format: String = "wav", ifExists: RecordingIfExists? = nil) async throws {
        try await call(Self.recordBridgeRequest(bridge: id, name: name, format: format, ifExists: ifExists))
    }

    public func subscribeOnly(eventSource: String) async throws {
        try await call(subscribeRequest(eventSource: eventSource))
    }
}
