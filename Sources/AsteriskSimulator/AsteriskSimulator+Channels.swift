import ARI
import Foundation

public enum SimulatorError: Error, Equatable, CustomStringConvertible {
    /// No app is connected for the dialplan's `Stasis()`: the caller gets 603 Decline.
    case noApplication(String)
    case channelNotFound(String)
    public var description: String {
        switch self {
        case .noApplication(let app): "Stasis application \(app) is not connected (caller declined)"
        case .channelNotFound(let id): "channel \(id) not found"
        }
    }
}

extension AsteriskSimulator {
    // MARK: control: the outside world

    /// A citizen dials `dialled` from `caller`: the channel enters `Stasis(app,inbound,<dialled>)` in state Ring.
    @discardableResult
    public func placeCall(from caller: String, to dialled: String, app: String = "murojaat", callerName: String = "") throws -> String {
        guard sinks[app] != nil else { throw SimulatorError.noApplication(app) }
        let id = uniqueId()
        let channel = Channel(
            id: id, protocolId: UUID().uuidString.lowercased() + "@sim", name: String(format: "PJSIP/trunk-%08x", nextNumber()),
            state: "Ring", caller: CallerID(name: callerName, number: caller), connected: CallerID(),
            dialplan: DialplanCEP(context: "from-trunk", exten: dialled, priority: 2, appName: "Stasis",
                                  appData: "\(app),inbound,\(dialled)"),
            creationtime: now(), language: "en")
        channels[id] = SimChannel(channel: channel, origin: .inbound, app: app, inStasis: true)
        awaitingAnswer[id] = .now
        emit(.stasisStart(StasisStart(args: ["inbound", dialled], channel: channel)), to: [app])
        return id
    }

    /// The caller presses keys; each digit is a ChannelDtmfReceived of 280 ms, `gapMs` apart (simulated).
    public func pressDigits(_ digits: String, on id: String, gapMs: Int = 400) throws {
        guard channels[id] != nil else { throw SimulatorError.channelNotFound(id) }
        for (index, digit) in digits.enumerated() where "0123456789*#ABCD".contains(digit) {
            after(seconds: Double(index * gapMs) / 1000) { sim in sim.emitDTMF(digit: String(digit), channel: id) }
        }
    }

    func emitDTMF(digit: String, channel id: String) {
        guard let sim = channels[id], sim.channel.state == "Up" || sim.channel.state == "Ring" else { return }
        emit(.channelDtmfReceived(ChannelDtmfReceived(digit: digit, durationMs: 280, channel: sim.channel)),
             to: recipients(channel: id))
    }

    /// The far end hangs up (SIP BYE): ChannelHangupRequest without cause, then StasisEnd.
    public func remoteHangup(_ id: String) throws {
        guard channels[id] != nil else { throw SimulatorError.channelNotFound(id) }
        tearDown(id, requested: false, cause: 16, causeText: "Normal Clearing")
    }

    public func setPhone(_ resource: String, _ behaviour: PhoneBehaviour) {
        phones[resource] = behaviour
    }

    public func removePhone(_ resource: String) {
        phones[resource] = nil
    }

    public func channelIds() -> [String] { channels.keys.sorted() }

    public func channelSnapshot(_ id: String) -> Channel? { channels[id]?.channel }

    public func bridgeSnapshot(_ id: String) -> Bridge? { bridges[id]?.bridge }

    // MARK: teardown

    /// Hangs a channel up the way Asterisk reports it. `requested` is a `DELETE /channels/{id}`
    /// (cause 32, soft); otherwise the far end hung up (no cause, no soft).
    func tearDown(_ id: String, requested: Bool, cause: Int, causeText: String) {
        guard var sim = channels[id], !sim.hangingUp else { return }
        sim.hangingUp = true
        channels[id] = sim
        let apps = recipients(channel: id, bridge: sim.bridgeId)
        if requested && sim.channel.state == "Up" {
            for name in ["RTPAUDIOQOS", "RTPAUDIOQOSJITTER", "RTPAUDIOQOSLOSS", "RTPAUDIOQOSRTT", "RTPAUDIOQOSMES"] {
                emit(.channelVarset(ChannelVarset(variable: name, value: "", channel: sim.channel)), to: apps)
            }
        }
        emit(.channelHangupRequest(ChannelHangupRequest(cause: requested ? 32 : nil, soft: requested ? true : nil,
                                                        channel: sim.channel)), to: apps)
        failMedia(of: id)
        let finishing = sim.bridgeId.flatMap { leaveBridge(channel: id, bridge: $0) }
        // Snoop channels of this channel end with StasisEnd only; a recording on one ends with it (RecordingFinished).
        for (snoopId, snoop) in channels where snoop.snoopedChannelId == id {
            failMedia(of: snoopId)
            endStasis(snoopId)
            channels[snoopId] = nil
            channelGone(snoopId)
        }
        endStasis(id)
        if let finishing { finishRecording(finishing, state: "done") }
        if sim.origin != .inbound {
            let current = channels[id]?.channel ?? sim.channel
            emit(.channelDestroyed(ChannelDestroyed(cause: cause, causeTxt: causeText, channel: current)), to: apps)
        }
        channels[id] = nil
        awaitingAnswer[id] = nil
        channelGone(id)
    }

    func endStasis(_ id: String) {
        guard let sim = channels[id], sim.inStasis else { return }
        let apps = recipients(channel: id)
        channels[id]?.inStasis = false
        emit(.stasisEnd(ChannelEvent(channel: sim.channel)), to: apps)
        if sim.origin == .originated {
            emit(.channelVarset(ChannelVarset(variable: "STASISSTATUS", value: "SUCCESS", channel: sim.channel)), to: apps)
        }
    }

    func setState(_ id: String, _ state: String) {
        guard channels[id] != nil, channels[id]?.channel.state != state else { return }
        channels[id]?.channel.state = state
        if let channel = channels[id]?.channel {
            emit(.channelStateChange(ChannelEvent(channel: channel)), to: recipients(channel: id))
        }
    }

    // MARK: REST: channels

    func stasisChannel(_ params: SimulatorParameters) throws -> SimChannel {
        let id = params.path["channelId"] ?? ""
        guard let sim = channels[id], !sim.hangingUp else { throw SimulatorFailure(404, "Channel not found") }
        guard sim.inStasis else { throw SimulatorFailure(409, "Channel not in Stasis application") }
        return sim
    }

    func getChannel(_ params: SimulatorParameters) throws -> SimulatorResponse {
        guard let sim = channels[params.path["channelId"] ?? ""] else { throw SimulatorFailure(404, "Channel not found") }
        return .json(sim.channel)
    }

    func listChannels() -> SimulatorResponse {
        .json(channels.values.map(\.channel).sorted { $0.id < $1.id })
    }

    func answer(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try stasisChannel(params)
        if let raised = awaitingAnswer.removeValue(forKey: sim.channel.id) {
            let wait = ContinuousClock.now - raised
            answerWaits.append(Double(wait.components.seconds) * 1000 + Double(wait.components.attoseconds) / 1e15)
            if answerWaits.count >= 200_000 { answerWaits.removeFirst(100_000) } // now and then, not on every answer
        }
        setState(sim.channel.id, "Up")
        return .noContent
    }

    func ring(_ params: SimulatorParameters, on: Bool) throws -> SimulatorResponse {
        let sim = try stasisChannel(params)
        if on, sim.channel.state != "Up" { setState(sim.channel.id, "Ringing") }
        return .noContent
    }

    func hangup(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let id = params.path["channelId"] ?? ""
        guard let sim = channels[id], !sim.hangingUp else { throw SimulatorFailure(404, "Channel not found") }
        let reasons = ["normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
                       "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure", "answered_elsewhere"]
        if let reason = params.query["reason"], !reasons.contains(reason) {
            throw SimulatorFailure(400, "Invalid reason for hangup provided")
        }
        if params.query["reason"] != nil, params.query["reason_code"] != nil {
            throw SimulatorFailure(400, "The reason and reason_code can't both be specified")
        }
        // Asterisk answers 204 and the events follow (some may precede the answer).
        tearDown(sim.channel.id, requested: true, cause: 16, causeText: "Normal Clearing")
        return .noContent
    }

    /// `/dtmf`, `/mute`, `/hold`, `/moh`, `/silence`: accepted for a channel in Stasis, no events.
    func simpleChannelOperation(_ params: SimulatorParameters, requires parameter: String? = nil) throws -> SimulatorResponse {
        _ = try stasisChannel(params)
        if let parameter { _ = try params.required(parameter, message: "DTMF is required") }
        if let direction = params.query["direction"], !["both", "in", "out"].contains(direction) {
            throw SimulatorFailure(400, "Invalid direction specified")
        }
        return .noContent
    }

    func getVariable(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try stasisChannel(params)
        let name = try params.required("variable", message: "Variable name is required")
        if name == "CHANNEL(language)" { return .json(Variable(value: sim.channel.language)) }
        if name == "CALLERID(num)" { return .json(Variable(value: sim.channel.caller.number)) }
        guard let value = sim.variables[name] else { throw SimulatorFailure(404, "Provided variable was not found") }
        return .json(Variable(value: value))
    }

    func setVariable(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try stasisChannel(params)
        let name = try params.required("variable", message: "Variable name is required")
        let value = params.query["value"] ?? ""
        if name == "CHANNEL(language)" {
            channels[sim.channel.id]?.channel.language = value
        } else {
            channels[sim.channel.id]?.variables[name] = value
        }
        if params.bool("report_events") == true, let channel = channels[sim.channel.id]?.channel {
            emit(.channelVarset(ChannelVarset(variable: name, value: value, channel: channel)), to: recipients(channel: sim.channel.id))
        }
        return .noContent
    }

    func continueInDialplan(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try stasisChannel(params)
        endStasis(sim.channel.id)
        return .noContent
    }

    // MARK: originate

    func originate(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let endpoint = try params.required("endpoint", message: "Endpoint must be specified")
        let app = params.query["app"]
        if (app ?? "").isEmpty && (params.query["extension"] ?? "").isEmpty && (params.query["context"] ?? "").isEmpty {
            throw SimulatorFailure(400, "Application or extension must be specified")
        }
        let id = params.path["channelId"] ?? params.query["channelId"] ?? uniqueId()
        if channels[id] != nil || params.query["otherChannelId"].map({ channels[$0] != nil }) == true {
            throw SimulatorFailure(409, "Channel with given unique ID already exists")
        }
        let timeout = try params.int("timeout") ?? 30
        guard let (resource, behaviour) = resolveEndpoint(endpoint), behaviour.mode != .offline else {
            throw SimulatorFailure(response: SimulatorResponse(status: 500, body: try? JSONEncoder().encode(["error": "Allocation failed"])))
        }
        let callerId = Self.parseCallerId(params.query["callerId"] ?? "")
        let context = endpoint.contains("@") ? "from-trunk" : "operators"
        let channel = Channel(
            id: id, protocolId: UUID().uuidString.lowercased() + "@sim",
            name: String(format: "PJSIP/%@-%08x", resource.split(separator: "@").first.map(String.init) ?? resource, nextNumber()),
            state: "Down", caller: callerId, connected: callerId,
            dialplan: DialplanCEP(context: context, exten: "s", priority: 1, appName: "AppDial2", appData: "(Outgoing Line)"),
            creationtime: now(), language: "en")
        var sim = SimChannel(channel: channel, origin: .originated, app: app, inStasis: false)
        sim.variables = params.variables
        sim.phoneResource = resource
        channels[id] = sim
        let args = (params.query["appArgs"] ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let dialstring = String(endpoint.split(separator: "/", maxSplits: 1).last ?? "")
        startDial(id: id, dialstring: dialstring, behaviour: behaviour, timeout: timeout, args: params.query["appArgs"] == nil ? [] : args)
        return .json(channel)
    }

    /// `PJSIP/101` → a registered phone; `PJSIP/998901234567@trunk` → a number through the trunk.
    func resolveEndpoint(_ endpoint: String) -> (String, PhoneBehaviour)? {
        let parts = endpoint.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0].uppercased() == "PJSIP" else { return nil }
        let resource = parts[1]
        if resource.hasSuffix("@trunk") {
            let number = resource.dropLast("@trunk".count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "+" }) else { return nil }
            return (resource, phones[resource] ?? configuration.trunkBehaviour)
        }
        guard let behaviour = phones[resource] else { return nil }
        return (resource, behaviour)
    }

    static func parseCallerId(_ text: String) -> CallerID {
        // "Name <number>" or "number"
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return CallerID(name: name, number: String(text[text.index(after: open)..<close]))
        }
        return CallerID(name: "", number: text)
    }

    /// Dial → RINGING → answer (StasisStart), busy or no answer, as a real phone does.
    func startDial(id: String, dialstring: String, behaviour: PhoneBehaviour, timeout: Int, args: [String]) {
        guard let channel = channels[id]?.channel else { return }
        let apps = recipients(channel: id)
        emit(.dial(Dial(peer: channel, forward: "", dialstring: dialstring, dialstatus: "")), to: apps)
        after(seconds: 0.05) { sim in
            guard let current = sim.channels[id], !current.hangingUp else { return }
            switch behaviour.mode {
            case .busy:
                sim.destroyUnanswered(id, cause: 17, text: "User busy", techCause: 486)
                return
            case .offline:
                return
            case .answer, .noAnswer:
                break
            }
            let apps = sim.recipients(channel: id)
            sim.emit(.dial(Dial(peer: current.channel, forward: "", dialstring: dialstring, dialstatus: "RINGING")), to: apps)
            sim.setState(id, "Ringing")
            let answerAfter = Double(behaviour.answerAfterMs) / 1000
            if behaviour.mode == .answer && (timeout <= 0 || answerAfter < Double(timeout)) {
                sim.after(seconds: answerAfter) { sim in sim.answerOriginated(id, dialstring: dialstring, args: args, hangupAfterMs: behaviour.hangupAfterMs) }
            } else {
                sim.after(seconds: Double(timeout)) { sim in
                    sim.destroyUnanswered(id, cause: 19, text: "User alerting, no answer", techCause: 480)
                }
            }
        }
    }

    /// An unanswered originated channel: the only event is ChannelDestroyed.
    func destroyUnanswered(_ id: String, cause: Int, text: String, techCause: Int) {
        guard let sim = channels[id], !sim.hangingUp, sim.channel.state != "Up" else { return }
        let apps = recipients(channel: id)
        channels[id] = nil
        channelGone(id)
        emit(.channelDestroyed(ChannelDestroyed(cause: cause, causeTxt: text, techCause: techCause, channel: sim.channel)), to: apps)
    }

    func answerOriginated(_ id: String, dialstring: String, args: [String], hangupAfterMs: Int?) {
        guard let sim = channels[id], !sim.hangingUp else { return }
        setState(id, "Up")
        guard let channel = channels[id]?.channel else { return }
        let apps = recipients(channel: id)
        emit(.dial(Dial(peer: channel, forward: "", dialstring: dialstring, dialstatus: "ANSWER")), to: apps)
        guard let app = sim.app, sinks[app] != nil else {
            // Stasis() with no app: the channel fails and is hung up.
            tearDown(id, requested: false, cause: 16, causeText: "Normal Clearing")
            return
        }
        emit(.channelVarset(ChannelVarset(variable: "STASISSTATUS", value: "", channel: channel)), to: apps)
        channels[id]?.inStasis = true
        // From StasisStart on, Asterisk 22 shows the originated channel running Stasis(<app>,<args>).
        channels[id]?.channel.dialplan.appName = "Stasis"
        channels[id]?.channel.dialplan.appData = ([app] + args).joined(separator: ",")
        emit(.stasisStart(StasisStart(args: args, channel: channels[id]?.channel ?? channel)), to: [app])
        if let hangupAfterMs {
            after(seconds: Double(hangupAfterMs) / 1000) { sim in sim.tearDown(id, requested: false, cause: 16, causeText: "Normal Clearing") }
        }
    }

    // MARK: snoop and external media

    func snoop(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let target = try stasisChannel(params)
        let app = try params.required("app", message: "app parameter is required")
        let directions = ["none", "both", "out", "in"]
        let spy = params.query["spy"] ?? "none", whisper = params.query["whisper"] ?? "none"
        guard directions.contains(spy), directions.contains(whisper) else { throw SimulatorFailure(400, "Invalid direction specified") }
        let id = params.path["snoopId"] ?? params.query["snoopId"] ?? uniqueId()
        guard channels[id] == nil else { throw SimulatorFailure(409, "Channel with given unique ID already exists") }
        let args = (params.query["appArgs"] ?? "").split(separator: ",").map(String.init)
        // Asterisk 22 answers with the dialplan application still empty; from StasisStart on it is Stasis(<app>,<args>).
        let answer = Channel(
            id: id, protocolId: "", name: String(format: "Snoop/%@-%08x", target.channel.id, nextNumber()), state: "Up",
            caller: CallerID(), connected: CallerID(),
            dialplan: DialplanCEP(context: "default", exten: "s", priority: 1, appName: "", appData: ""),
            creationtime: now(), language: "en")
        var channel = answer
        channel.dialplan.appName = "Stasis"
        channel.dialplan.appData = ([app] + args).joined(separator: ",")
        var sim = SimChannel(channel: channel, origin: .snoop, app: app, inStasis: true)
        sim.snoopedChannelId = target.channel.id
        channels[id] = sim
        emit(.stasisStart(StasisStart(args: args, channel: channel)), to: [app])
        return .json(answer) // 200, not 201
    }

    func externalMedia(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let app = try params.required("app", message: "app cannot be empty")
        let host = try params.required("external_host", message: "external_host is required")
        _ = try params.required("format", message: "format is required")
        let id = params.query["channelId"] ?? uniqueId()
        guard channels[id] == nil else { throw SimulatorFailure(409, "Channel with given unique ID already exists") }
        let channel = Channel(
            id: id, protocolId: "", name: "UnicastRTP/\(host)-\(String(format: "%08x", nextNumber()))", state: "Up",
            dialplan: DialplanCEP(context: "default", exten: "s", priority: 1, appName: "Stasis", appData: app),
            creationtime: now(), language: "en")
        channels[id] = SimChannel(channel: channel, origin: .externalMedia, app: app, inStasis: true)
        emit(.stasisStart(StasisStart(args: [], channel: channel)), to: [app])
        return .json(channel)
    }
}
