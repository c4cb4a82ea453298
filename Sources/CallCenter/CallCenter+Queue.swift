import ARI
import Foundation

extension CallCenter {
    func enqueue(_ id: UUID, skill: Language?, reason: String) {
        guard var session = sessions[id], session.phase == .ivr else { return }
        cancelTimer(id)
        stopPrompts(id)
        session = sessions[id]!
        let now = Date()
        if session.record.language == nil { session.record.language = skill ?? .uz }
        session.phase = .queued
        session.record.ivrEndedAt = now
        session.record.queuedAt = now
        session.routableSince = .now
        session.ticket = lines.nextTicket()
        sessions[id] = session
        joinLine(id)
        save(id)
        note(id, "queued", ["reason": reason, "language": session.language.rawValue, "topic": session.record.topic ?? ""])
        publish(.callQueued(session.record, position: position(of: id)))
        dispatch()
        if case .queued = sessions[id]?.phase {
            play(id, [("queue-welcome", session.language)], then: .queueMusic)
        }
    }

    /// 1-based place among callers waiting for the same language.
    func position(of id: UUID) -> Int {
        guard let place = peek(id, { ($0.ticket, $0.language) }), let ticket = place.0 else { return 0 }
        return lines.ahead(of: ticket, language: place.1) + 1
    }

    /// Puts a waiting call (queued, or waiting for its callback) at its ticket's place in its language's line.
    func joinLine(_ id: UUID) {
        guard let place = peek(id, { ($0.ticket, $0.language) }), let ticket = place.0 else { return }
        lines.insert(id, ticket: ticket, language: place.1)
    }

    /// Takes the call out of line; its ticket stays with the call, so it can come back to the same place.
    func leaveLine(_ session: CallSession) {
        if let ticket = session.ticket { lines.remove(ticket: ticket, language: session.language) }
    }

    /// Reads a field of a call in place. `sessions[id]?.field` copied the whole session (its record, its
    /// lists) for each call looked at, which routing and queue positions do for every caller waiting.
    @inline(__always)
    func peek<T>(_ id: UUID, _ read: (inout CallSession) -> T) -> T? {
        guard let index = sessions.index(forKey: id) else { return nil }
        return read(&sessions.values[index])
    }

    /// Expected wait in whole minutes: callers ahead × average handling time ÷ operators with the skill.
    func expectedWaitMinutes(_ id: UUID) -> Int {
        guard let language = sessions[id]?.language else { return 1 }
        let staffed = agents.values.filter { $0.info.skills.contains(language) && $0.state != .offline && $0.state != .paused }.count
        let handling = handlingTimes.isEmpty ? settings.defaultHandlingSeconds : handlingTimes.reduce(0, +) / Double(handlingTimes.count)
        let seconds = Double(position(of: id)) * handling / Double(max(1, staffed))
        return max(1, Int((seconds / 60).rounded(.up)))
    }

    /// Between announcements the caller hears music on hold, never silence.
    func startQueueMusic(_ id: UUID) {
        guard var session = sessions[id], session.phase == .queued else { return }
        let channel = session.callerChannel
        if !session.musicOn {
            session.musicOn = true
            session.ops.send("moh", ARIClient.startMusicOnHoldRequest(channel: channel))
        }
        sessions[id] = session
        startTimer(id, seconds: settings.announcementIntervalSeconds) { $0.announce(id) }
    }

    func stopQueueMusic(_ id: UUID) {
        guard var session = sessions[id], session.musicOn else { return }
        session.musicOn = false
        let channel = session.callerChannel
        session.ops.send("stop moh", ARIClient.stopMusicOnHoldRequest(channel: channel), ignoringErrors: true)
        sessions[id] = session
    }

    /// Position, expected wait, useful information and — after the set wait — the callback offer.
    func announce(_ id: UUID) {
        guard var session = sessions[id], session.phase == .queued else { return }
        stopQueueMusic(id)
        session = sessions[id]!
        let language = session.language
        let position = position(of: id)
        let minutes = expectedWaitMinutes(id)
        let waited = Date().timeIntervalSince(session.record.queuedAt ?? Date())
        // One playback: the place in line and the expected wait as the app's own phrases in the caller's language
        // (Asterisk's `say` has no Uzbek), information, the callback offer.
        var media = [Prompt.media(SpokenNumbers.positionPrompt(position), language), Prompt.media(SpokenNumbers.waitPrompt(minutes), language),
                     Prompt.media("queue-info", language)]
        if waited >= settings.callbackOfferAfterSeconds && !session.record.callerNumber.isEmpty {
            media.append(Prompt.media("callback-offer", language))
            sessions[id]?.callbackOffered = true
        }
        play(id, media: media, language: language, then: .queueMusic)
        note(id, "announced", ["position": "\(position)", "minutes": "\(minutes)"])
    }

    func requestCallback(_ id: UUID) {
        guard var session = sessions[id], session.phase == .queued else { return }
        cancelTimer(id)
        stopPrompts(id)
        stopQueueMusic(id)
        session = sessions[id]!
        session.phase = .callbackWaiting
        session.record.outcome = .callbackRequested
        session.record.callbackNumber = session.record.callerNumber
        sessions[id] = session
        save(id)
        note(id, "callback_requested", ["number": session.record.callerNumber])
        play(id, [("callback-confirmed", session.language)], then: .hangUp)
        dispatch()
    }

    // MARK: routing

    /// Offers waiting calls, first come first served per language, to the longest-idle ready operator with the skill.
    /// Only the two lines' first callers are looked at: of those whose language has a ready operator, the one
    /// who joined first is offered to that language's longest-idle operator, until no such pair is left.
    func dispatch() {
        while !readyAgents.isEmpty, !lines.isEmpty {
            let found = longestIdle()
            var pick: (entry: WaitingLines.Entry, language: Language, agent: Int64)?
            if let head = lines.uz.first, let agent = found.uz { pick = (head, .uz, agent) }
            if let head = lines.ru.first, let agent = found.ru, pick.map({ head.ticket < $0.entry.ticket }) ?? true {
                pick = (head, .ru, agent)
            }
            guard let pick, let agent = agents[pick.agent] else { return }
            lines.remove(ticket: pick.entry.ticket, language: pick.language)
            let waiting = peek(pick.entry.id) { session -> Bool in
                switch session.phase {
                case .queued, .callbackWaiting: true
                default: false
                }
            }
            // Only waiting calls are in line; anything else found there is dropped rather than offered.
            guard waiting == true else { continue }
            offer(pick.entry.id, to: agent.info)
        }
    }

    /// For each language, the ready operator idle longest (ties go to the lower id).
    func longestIdle() -> (uz: Int64?, ru: Int64?) {
        var uz: (id: Int64, idleSince: Date)?, ru: (id: Int64, idleSince: Date)?
        for (agentId, ready) in readyAgents {
            if ready.speaksUzbek, uz.map({ ($0.idleSince, $0.id) > (ready.idleSince, agentId) }) ?? true { uz = (agentId, ready.idleSince) }
            if ready.speaksRussian, ru.map({ ($0.idleSince, $0.id) > (ready.idleSince, agentId) }) ?? true { ru = (agentId, ready.idleSince) }
        }
        return (uz?.id, ru?.id)
    }

    /// Keeps `readyAgents` in step with an operator's state.
    func indexAgent(_ operatorId: Int64) {
        if let agent = agents[operatorId], agent.state == .ready, phoneReachable(agent.info) {
            readyAgents[operatorId] = ReadyAgent(idleSince: agent.idleSince, speaksUzbek: agent.info.skills.contains(.uz),
                                                 speaksRussian: agent.info.skills.contains(.ru))
        } else {
            readyAgents[operatorId] = nil
        }
    }

    // MARK: operators' phones

    /// The endpoint an operator's calls are originated to ("PJSIP/101").
    func endpoint(of info: OperatorInfo) -> String { operatorEndpoint.joined(separator: info.extensionNumber) }

    /// False when every Asterisk that knows the operator's endpoint says it is offline (no registered contact: an
    /// originate would fail with "Allocation failed"). An endpoint no server lists is tried.
    func phoneReachable(_ info: OperatorInfo) -> Bool {
        let endpoint = endpoint(of: info)
        let knowing = endpointsKnown.filter { $0.value.contains(endpoint) }.map(\.key)
        return knowing.isEmpty || knowing.contains { !(endpointsOffline[$0]?.contains(endpoint) ?? false) }
    }

    /// Reads every server's endpoints now and every `endpointPollSeconds`.
    func pollEndpoints() {
        endpointPoll?.cancel()
        for (server, client) in clients {
            Task { [weak self] in
                guard let list = try? await client.endpoints() else { return }
                await self?.endpointsRead(list, server: server)
            }
        }
        endpointPoll = schedule(after: settings.endpointPollSeconds) { $0.pollEndpoints() }
    }

    func endpointsRead(_ list: [Endpoint], server: String) {
        let before = Dictionary(uniqueKeysWithValues: agents.map { ($0.key, phoneReachable($0.value.info)) })
        endpointsKnown[server] = Set(list.map { "\($0.technology)/\($0.resource)" })
        endpointsOffline[server] = Set(list.filter { $0.state == "offline" }.map { "\($0.technology)/\($0.resource)" })
        var cameBack = false
        for (operatorId, agent) in agents {
            let reachable = phoneReachable(agent.info)
            guard reachable != before[operatorId] else { continue }
            indexAgent(operatorId)
            publish(.phoneReachability(operatorId: operatorId, reachable: reachable))
            if reachable { cameBack = true }
        }
        if cameBack { dispatch() }
    }

    /// Whether each operator's phone is reachable, for the panel's first frame.
    public func phoneReachability(_ operatorId: Int64) -> Bool {
        agents[operatorId].map { phoneReachable($0.info) } ?? true
    }

    func offer(_ id: UUID, to agent: OperatorInfo) {
        guard var session = sessions[id] else { return }
        session.ringAttempts += 1
        let leg = "op-\(id.uuidString.prefix(8).lowercased())-\(session.ringAttempts)"
        let isCallback = session.phase == .callbackWaiting
        session.phase = .ringing(operatorId: agent.id, leg: leg)
        if isCallback { session.after = .nothing }
        sessions[id] = session
        channels[Self.key(session.server, leg)] = id
        setAgent(agent.id, .ringing, reason: nil, call: id)
        let endpoint = operatorEndpoint.joined(separator: agent.extensionNumber)
        let parameters = OriginateParameters(endpoint: endpoint, channelId: leg, appArgs: "operator,\(id.uuidString.lowercased())",
                                             callerId: session.record.callerNumber, timeout: settings.ringTimeoutSeconds)
        let since = max(session.routableSince, agents[agent.id]?.readySince ?? session.routableSince)
        // Sent at once, not behind the caller's prompt requests: the operator's phone should ring now.
        session.ops.sendNow("originate operator", session.ops.client.originateRequest(parameters),
                            onDone: LatencyRecorder.recording(latencies, .routing, since: since))
        note(id, "offered", ["operator": "\(agent.id)", "endpoint": endpoint, "callback": isCallback ? "yes" : "no"])
        publish(.callOffered(session.record, operatorId: agent.id))
    }

    /// The operator did not take the call: they are paused, the call keeps its place.
    func ringFailed(_ id: UUID, operatorId: Int64, reason: String) {
        guard var session = sessions[id] else { return }
        session.noAnswers += 1
        session.routableSince = .now
        session.phase = session.record.callbackNumber != nil ? .callbackWaiting : .queued
        sessions[id] = session
        joinLine(id)
        note(id, "operator_no_answer", ["operator": "\(operatorId)", "reason": reason])
        publish(.offerEnded(callId: id, operatorId: operatorId))
        setAgent(operatorId, .paused, reason: reason, call: nil)
        dispatch()
    }

    // MARK: agents

    public enum AgentStateError: Error, Equatable { case unknownOperator, busy }

    /// From the back office: ready, paused with a reason, or offline. Not while ringing or talking.
    public func setAgentState(_ operatorId: Int64, _ state: AgentState, reason: String? = nil) throws {
        guard let agent = agents[operatorId] else { throw AgentStateError.unknownOperator }
        guard [.ready, .paused, .offline].contains(state) else { throw AgentStateError.busy }
        guard ![.ringing, .onCall].contains(agent.state) else { throw AgentStateError.busy }
        agents[operatorId]?.timer?.cancel()
        setAgent(operatorId, state, reason: state == .paused ? (reason ?? "break") : nil, call: nil)
        if state == .ready { dispatch() }
    }

    func setAgent(_ operatorId: Int64, _ state: AgentState, reason: String?, call: UUID?) {
        guard var agent = agents[operatorId] else { return }
        let wasBusy = [.ringing, .onCall, .wrapUp].contains(agent.state)
        agent.info.state = state
        agent.info.pauseReason = reason
        agent.since = Date()
        agent.callId = call
        if state == .ready && (wasBusy || agent.idleSince == .distantPast) { agent.idleSince = Date() }
        if state == .ready { agent.readySince = .now }
        agents[operatorId] = agent
        indexAgent(operatorId)
        journal.append(.agentState(operatorId, state, reason, call, Date()))
        publish(.agentStateChanged(operatorId: operatorId, state: state, reason: reason))
    }

    public func agentSnapshot() -> [OperatorInfo] {
        agents.values.map(\.info).sorted { $0.id < $1.id }
    }

    public func callSnapshot() -> [CallRecord] {
        sessions.values.map(\.record).sorted { $0.startedAt < $1.startedAt }
    }

    /// Calls waiting for an operator, first come first (a call being rung is not among them).
    public func queueSnapshot() -> [UUID] { lines.all }

    /// Operators and calls as of one moment: taken in two steps, a call answered in between showed as
    /// talking while its operator still showed as ringing.
    public func liveSnapshot() -> (agents: [OperatorInfo], calls: [CallRecord]) {
        (agentSnapshot(), callSnapshot())
    }

    /// Calls the call flow holds (tests).
    var sessionCount: Int { sessions.count }
}
