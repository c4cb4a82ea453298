import ARI
import Foundation

extension CallCenter {
    /// Plays prompts (name, language) one after another as one playback; `then` runs when it finishes.
    /// Each prompt names its language's folder (`sound:uz/murojaat/greeting`): Asterisk looks a sound up
    /// under `<lang>/` first and then as given, so the greeting can say both languages in one playback, and
    /// a barge-in stops it with one request. `lang` still sets the language of `extra` media (numbers).
    func play(_ id: UUID, _ prompts: [(String, Language)], extra: [String] = [], then after: CallSession.AfterPrompts) {
        play(id, media: prompts.map { Prompt.media($0.0, $0.1) } + extra, language: prompts.first?.1, then: after)
    }

    /// Plays `media` (prompts' `sound:` URIs, numbers…) as one playback; `then` runs when it finishes.
    func play(_ id: UUID, media: [String], language: Language? = nil, then after: CallSession.AfterPrompts) {
        guard var session = sessions[id] else { return }
        if !media.isEmpty {
            playbackSequence += 1
            let playbackId = "pb-\(instanceTag)-\(playbackSequence)"
            session.playbacks.append(playbackId)
            playbacks[playbackId] = id
            let language = session.record.language ?? language ?? .uz
            // The first prompt after a digit is what the caller waits for (the benchmark's digit → prompt).
            let onDone = session.digitAt.flatMap { LatencyRecorder.recording(latencies, .prompt, since: $0) }
            session.digitAt = nil
            session.ops.send("play", ARIClient.playRequest(channel: session.callerChannel, media: media, lang: language.rawValue, playbackId: playbackId),
                             onDone: onDone)
        }
        session.after = after
        sessions[id] = session
        if media.isEmpty { promptsDone(id) }
    }

    /// Barge-in: a digit stops whatever is playing.
    func stopPrompts(_ id: UUID) {
        guard var session = sessions[id] else { return }
        for playbackId in session.playbacks {
            playbacks[playbackId] = nil
            session.ops.send("stop playback", ARIClient.stopPlaybackRequest(playbackId), ignoringErrors: true)
        }
        session.playbacks = []
        session.after = .nothing
        sessions[id] = session
    }

    func playbackFinished(_ playbackId: String) {
        guard let id = playbacks.removeValue(forKey: playbackId), var session = sessions[id] else { return }
        session.playbacks.removeAll { $0 == playbackId }
        sessions[id] = session
        if session.playbacks.isEmpty { promptsDone(id) }
    }

    func promptsDone(_ id: UUID) {
        guard var session = sessions[id] else { return }
        let after = session.after
        session.after = .nothing
        sessions[id] = session
        switch after {
        case .waitForDigit:
            let node = ivr.nodes[session.node]
            startTimer(id, seconds: node?.timeoutSeconds ?? settings.digitTimeoutSeconds) { $0.noInput(id) }
        case .returnToMenu:
            enterNode(id, session.node)
        case .queueMusic:
            startQueueMusic(id)
        case .hangUp:
            let channel = session.callerChannel
            session.ops.send("hangup after prompt", ARIClient.hangupRequest(channel), ignoringErrors: true)
        case .nothing:
            break
        }
    }

    func enterNode(_ id: UUID, _ code: String) {
        guard var session = sessions[id], session.phase == .ivr, let node = ivr.nodes[code] else { return }
        session.node = code
        sessions[id] = session
        let prompts: [(String, Language)] = node.prompts.count > 1
            ? Language.allCases.compactMap { language in node.prompts[language].map { ($0, language) } }
            : node.prompts.map { ($0.value, session.record.language ?? $0.key) }
        play(id, prompts, then: .waitForDigit)
    }

    func digit(_ digit: String, call id: UUID) {
        guard var session = sessions[id] else { return }
        if latencies != nil {
            session.digitAt = eventReceivedAt
            sessions[id] = session
        }
        switch session.phase {
        case .ivr:
            menuChoice(digit, call: id)
        case .queued:
            if digit == "1" && session.callbackOffered { requestCallback(id) }
        default:
            break // digits during the conversation belong to the people talking
        }
    }

    func menuChoice(_ digit: String, call id: UUID) {
        guard var session = sessions[id], let node = ivr.nodes[session.node] else { return }
        cancelTimer(id)
        stopPrompts(id)
        session = sessions[id]!
        session.record.ivrPath.append("\(node.code):\(digit)")
        note(id, "ivr_digit", ["node": node.code, "digit": digit])
        guard let action = node.actions[digit] else {
            sessions[id] = session
            failed(id, prompt: "invalid-choice")
            return
        }
        session.failures = 0
        sessions[id] = session
        switch action {
        case .submenu(let target, let language):
            if let language {
                sessions[id]?.record.language = language
                note(id, "language", ["language": language.rawValue])
            }
            save(id)
            enterNode(id, target)
        case .info(let prompt):
            save(id)
            play(id, [(prompt, session.language)], then: .returnToMenu)
        case .queue(let skill, let topic):
            sessions[id]?.record.topic = topic
            enqueue(id, skill: skill, reason: "menu")
        case .operatorQueue:
            enqueue(id, skill: nil, reason: "operator")
        case .repeatMenu:
            enterNode(id, node.code)
        case .back:
            enterNode(id, node.parent ?? ivr.root)
        }
    }

    func noInput(_ id: UUID) {
        guard sessions[id]?.phase == .ivr else { return }
        note(id, "ivr_timeout", ["node": sessions[id]!.node])
        failed(id, prompt: "no-input")
    }

    /// Wrong digit or silence: say so and repeat; after the last allowed failure, go to an operator.
    func failed(_ id: UUID, prompt: String) {
        guard var session = sessions[id] else { return }
        session.failures += 1
        sessions[id] = session
        let limit = ivr.nodes[session.node]?.maxFailures ?? settings.maxFailures
        if session.failures >= limit {
            enqueue(id, skill: nil, reason: "ivr_failures")
            return
        }
        let language = session.record.language
        let prompts: [(String, Language)] = language.map { [(prompt, $0)] } ?? [(prompt, .uz), (prompt, .ru)]
        play(id, prompts, then: .returnToMenu)
    }
}
