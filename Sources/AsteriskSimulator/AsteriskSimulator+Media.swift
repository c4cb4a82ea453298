import ARI
import Foundation

extension AsteriskSimulator {
    // MARK: playbacks

    func play(_ params: SimulatorParameters, onBridge: Bool) throws -> SimulatorResponse {
        let target: String
        if onBridge {
            target = "bridge:" + (try existingBridge(params).bridge.id)
        } else {
            target = "channel:" + (try stasisChannel(params).channel.id)
        }
        let media = (params.query["media"] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        guard let first = media.first else { throw SimulatorFailure(500, "Failed to queue media for playback") }
        let schemes = ["sound:", "recording:", "number:", "digits:", "characters:", "tone:"]
        guard media.allSatisfy({ uri in schemes.contains { uri.hasPrefix($0) } }) else {
            throw SimulatorFailure(500, "Failed to queue media for playback")
        }
        let id = params.path["playbackId"] ?? params.query["playbackId"] ?? UUID().uuidString.lowercased()
        guard playbacks[id] == nil else { throw SimulatorFailure(409, "Playback with given id already exists") }
        let language = params.query["lang"] ?? (onBridge ? "en" : channels[String(target.dropFirst(8))]?.channel.language ?? "en")
        let playback = Playback(id: id, mediaUri: first, nextMediaUri: media.count > 1 ? media[1] : nil,
                                targetUri: target, language: language, state: "queued")
        var sim = SimPlayback(playback: playback, remaining: Array(media.dropFirst()))
        if onBridge {
            sim.bridgeId = String(target.dropFirst(7))
            playbacks[id] = sim
            startPlayback(id)
        } else {
            let channelId = String(target.dropFirst(8))
            sim.channelId = channelId
            playbacks[id] = sim
            enqueue(.playback(id), on: channelId)
        }
        return .json(playbacks[id]?.playback ?? playback, status: 201)
    }

    func playbackRecipients(_ sim: SimPlayback) -> Set<String> {
        if let channelId = sim.channelId { return recipients(channel: channelId) }
        if let bridgeId = sim.bridgeId {
            var apps = bridgeSubscribers(bridgeId)
            for id in bridges[bridgeId]?.bridge.channels ?? [] { apps.formUnion(recipients(channel: id)) }
            return apps
        }
        return []
    }

    func startPlayback(_ id: String) {
        guard var sim = playbacks[id] else { return }
        sim.playback.state = "playing"
        sim.generation += 1
        playbacks[id] = sim
        let apps = playbackRecipients(sim)
        emit(.playbackStarted(PlaybackEvent(playback: sim.playback)), to: apps)
        guard let seconds = soundLength(sim.playback.mediaUri, language: sim.playback.language ?? "en") else {
            // A sound that does not exist: 201, then started and finished `failed` at once.
            finishPlayback(id, state: "failed")
            return
        }
        let generation = sim.generation
        after(seconds: seconds) { simulator in simulator.advancePlayback(id, generation: generation) }
    }

    func advancePlayback(_ id: String, generation: Int) {
        guard var sim = playbacks[id], sim.generation == generation, sim.playback.state == "playing" else { return }
        guard !sim.remaining.isEmpty else {
            finishPlayback(id, state: "done")
            return
        }
        sim.playback.mediaUri = sim.remaining.removeFirst()
        sim.playback.nextMediaUri = sim.remaining.first
        sim.generation += 1
        playbacks[id] = sim
        emit(.playbackContinuing(PlaybackEvent(playback: sim.playback)), to: playbackRecipients(sim))
        let seconds = soundLength(sim.playback.mediaUri, language: sim.playback.language ?? "en") ?? 0
        let next = sim.generation
        after(seconds: seconds) { simulator in simulator.advancePlayback(id, generation: next) }
    }

    func finishPlayback(_ id: String, state: String) {
        guard var sim = playbacks.removeValue(forKey: id) else { return }
        sim.playback.state = state
        emit(.playbackFinished(PlaybackEvent(playback: sim.playback)), to: playbackRecipients(sim))
        if let channelId = sim.channelId { dequeue(.playback(id), on: channelId) }
    }

    func getPlayback(_ params: SimulatorParameters) throws -> SimulatorResponse {
        guard let sim = playbacks[params.path["playbackId"] ?? ""] else { throw SimulatorFailure(404, "Playback not found") }
        return .json(sim.playback)
    }

    func stopPlayback(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let id = params.path["playbackId"] ?? ""
        guard let sim = playbacks[id] else { throw SimulatorFailure(404, "Playback not found") }
        if sim.playback.state == "queued" {
            // Canceled before it started: Asterisk 22.10.1 still sends PlaybackFinished ("done"), with no
            // PlaybackStarted before it.
            playbacks[id] = nil
            if let channelId = sim.channelId { channels[channelId]?.mediaQueue.removeAll { $0 == .playback(id) } }
            var finished = sim.playback
            finished.state = "done"
            emit(.playbackFinished(PlaybackEvent(playback: finished)), to: playbackRecipients(sim))
        } else {
            finishPlayback(id, state: "done")
        }
        return .noContent
    }

    func controlPlayback(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let id = params.path["playbackId"] ?? ""
        let operation = try params.required("operation", message: "Missing parameter operation")
        guard var sim = playbacks[id] else { throw SimulatorFailure(404, "Playback not found") }
        guard let op = PlaybackOperation(rawValue: operation) else { throw SimulatorFailure(400, "Invalid operation \(operation)") }
        guard sim.playback.state == "playing" || sim.playback.state == "paused" else {
            throw SimulatorFailure(409, "Playback not in a state to accept operation")
        }
        switch op {
        case .pause:
            sim.playback.state = "paused"
            sim.generation += 1
            playbacks[id] = sim
        case .unpause, .restart:
            playbacks[id] = sim
            startPlayback(id)
        case .reverse, .forward:
            break
        }
        return .noContent
    }

    /// Simulated seconds of a sound, or nil if Asterisk would not find it.
    func soundLength(_ uri: String, language: String) -> Double? {
        if uri.hasPrefix("sound:") {
            let name = String(uri.dropFirst(6))
            if let url = soundFile(name, language: language) {
                return WAVFile.duration(of: url) ?? configuration.defaultSoundSeconds
            }
            return Self.builtInSounds.contains(name) ? configuration.defaultSoundSeconds : nil
        }
        if uri.hasPrefix("recording:") {
            let name = String(uri.dropFirst(10))
            return WAVFile.duration(of: storedURL(name))
        }
        if uri.hasPrefix("digits:") || uri.hasPrefix("number:") || uri.hasPrefix("characters:") {
            return 0.6 * Double(uri.split(separator: ":").last?.count ?? 1)
        }
        return configuration.defaultSoundSeconds // tone:
    }

    /// Sounds every Asterisk install has (core-sounds).
    static let builtInSounds: Set<String> = [
        "hello-world", "demo-congrats", "beep", "silence/1", "silence/2", "pls-hold-while-try", "queue-thankyou",
        "queue-youarenext", "queue-thereare", "queue-callswaiting", "queue-holdtime", "vm-goodbye", "goodbye",
        "pbx-invalid", "please-try-again", "agent-pass",
    ]

    func soundFile(_ name: String, language: String) -> URL? {
        guard let directory = configuration.soundsDirectory, !name.contains("..") else { return nil }
        for candidate in [directory.appendingPathComponent(language).appendingPathComponent(name + ".wav"),
                          directory.appendingPathComponent(name + ".wav")]
        where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate
        }
        return nil
    }

    func knownSounds() -> [Sound] {
        var sounds: [String: Set<String>] = [:]
        for name in Self.builtInSounds { sounds[name, default: []].insert("en") }
        if let directory = configuration.soundsDirectory,
           let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) {
            for case let url as URL in files where url.pathExtension == "wav" {
                var parts = url.path.dropFirst(directory.path.count).split(separator: "/").map(String.init)
                var language = "en"
                if let first = parts.first, first.count == 2, parts.count > 1 { language = first; parts.removeFirst() }
                let name = parts.joined(separator: "/").replacingOccurrences(of: ".wav", with: "")
                sounds[name, default: []].insert(language)
            }
        }
        return sounds.keys.sorted().map { name in
            Sound(id: name, formats: sounds[name, default: []].sorted().map { Sound.FormatLangPair(language: $0, format: "wav") })
        }
    }

    // MARK: channel media queue (play waits for a recording to finish, and vice versa)

    func enqueue(_ item: MediaItem, on channelId: String) {
        channels[channelId]?.mediaQueue.append(item)
        if channels[channelId]?.mediaQueue.count == 1 { startMedia(item) }
    }

    func dequeue(_ item: MediaItem, on channelId: String) {
        guard let queue = channels[channelId]?.mediaQueue, queue.first == item else {
            channels[channelId]?.mediaQueue.removeAll { $0 == item }
            return
        }
        channels[channelId]?.mediaQueue.removeFirst()
        if let next = channels[channelId]?.mediaQueue.first { startMedia(next) }
    }

    func startMedia(_ item: MediaItem) {
        switch item {
        case .playback(let id): startPlayback(id)
        case .recording(let name): startRecording(name)
        }
    }

    /// On hang-up: the playing item finishes `failed`, queued ones are dropped, recordings end.
    func failMedia(of channelId: String) {
        let queue = channels[channelId]?.mediaQueue ?? []
        channels[channelId]?.mediaQueue = []
        for item in queue {
            switch item {
            case .playback(let id):
                if playbacks[id]?.playback.state == "queued" { playbacks[id] = nil } else { finishPlayback(id, state: "failed") }
            case .recording(let name):
                finishRecording(name, state: "done")
            }
        }
    }

    // MARK: recordings

    func recordingFormats() -> Set<String> { ["wav", "gsm", "ulaw", "alaw", "sln", "g722", "wav16"] }

    func record(_ params: SimulatorParameters, onBridge: Bool) throws -> SimulatorResponse {
        let target: String
        if onBridge {
            target = "bridge:" + (try existingBridge(params).bridge.id)
        } else {
            target = "channel:" + (try stasisChannel(params).channel.id)
        }
        guard let name = params.query["name"], !name.isEmpty else { throw SimulatorFailure(500, "Error parsing request") }
        guard let format = params.query["format"], recordingFormats().contains(format) else {
            throw SimulatorFailure(422, "specified format is unknown on this system")
        }
        guard !name.contains(".."), !name.hasPrefix("/") else { throw SimulatorFailure(400, "Invalid recording name") }
        let ifExists = params.query["ifExists"] ?? "fail"
        guard ["fail", "overwrite", "append"].contains(ifExists) else { throw SimulatorFailure(400, "ifExists invalid") }
        if liveRecordings[name] != nil || (ifExists == "fail" && FileManager.default.fileExists(atPath: storedURL(name).path)) {
            throw SimulatorFailure(409, "Recording '\(name)' already exists and can not be overwritten")
        }
        let terminateOn = params.query["terminateOn"] ?? "none"
        guard ["none", "any", "*", "#"].contains(terminateOn) else { throw SimulatorFailure(400, "terminateOn invalid") }
        let live = LiveRecording(name: name, format: format, targetUri: target, state: "queued")
        var sim = SimRecording(live: live, maxDurationSeconds: try params.int("maxDurationSeconds") ?? 0)
        if onBridge {
            let bridgeId = String(target.dropFirst(7))
            sim.bridgeId = bridgeId
            liveRecordings[name] = sim
            bridges[bridgeId]?.recordingName = name
            startRecording(name)
        } else {
            let channelId = String(target.dropFirst(8))
            sim.channelId = channelId
            liveRecordings[name] = sim
            enqueue(.recording(name), on: channelId)
        }
        return .json(live, status: 201)
    }

    func recordingRecipients(_ sim: SimRecording) -> Set<String> {
        if let channelId = sim.channelId { return recipients(channel: channelId) }
        // A bridge recording's events reach only the apps subscribed to the bridge (Asterisk 22.10.1: none
        // without a subscription, even with the app's channels in the bridge). Adding a channel subscribes
        // its app (`addChannel`).
        if let bridgeId = sim.bridgeId { return bridgeSubscribers(bridgeId) }
        return []
    }

    func startRecording(_ name: String) {
        guard var sim = liveRecordings[name] else { return }
        sim.live.state = "recording"
        sim.startedAt = Date()
        liveRecordings[name] = sim
        emit(.recordingStarted(RecordingEvent(recording: sim.live)), to: recordingRecipients(sim))
        if sim.maxDurationSeconds > 0 {
            after(seconds: Double(sim.maxDurationSeconds)) { simulator in simulator.finishRecording(name, state: "done") }
        }
    }

    /// Ends a live recording; `done` writes the WAV file (the audio that arrived), `canceled` writes nothing.
    func finishRecording(_ name: String, state: String) {
        guard var sim = liveRecordings.removeValue(forKey: name) else { return }
        let apps = recordingRecipients(sim)
        if let bridgeId = sim.bridgeId, bridges[bridgeId]?.recordingName == name { bridges[bridgeId]?.recordingName = nil }
        let real = sim.startedAt.map { Date().timeIntervalSince($0) } ?? 0
        let simulated = timeScale > 0 ? real / timeScale : 0
        sim.live.state = state
        if state == "done" {
            sim.live.duration = Int(simulated.rounded())
            let file = WAVFile.tone(seconds: min(simulated, 3600))
            try? file.write(to: storedURL(name))
        }
        emit(.recordingFinished(RecordingEvent(recording: sim.live)), to: apps)
        if let channelId = sim.channelId { dequeue(.recording(name), on: channelId) }
    }

    func liveRecording(_ params: SimulatorParameters) throws -> SimRecording {
        guard let sim = liveRecordings[params.path["recordingName"] ?? ""] else { throw SimulatorFailure(404, "Recording not found") }
        return sim
    }

    func getLiveRecording(_ params: SimulatorParameters) throws -> SimulatorResponse {
        .json(try liveRecording(params).live)
    }

    func stopLiveRecording(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try liveRecording(params)
        finishRecording(sim.live.name, state: "done")
        return .noContent
    }

    func cancelLiveRecording(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try liveRecording(params)
        finishRecording(sim.live.name, state: "canceled")
        try? FileManager.default.removeItem(at: storedURL(sim.live.name))
        return .noContent
    }

    /// pause/unpause/mute/unmute: 409 unless the recording is in a state that allows it.
    func adjustLiveRecording(_ params: SimulatorParameters, pause: Bool?) throws -> SimulatorResponse {
        var sim = try liveRecording(params)
        if let pause {
            let from = pause ? "recording" : "paused"
            guard sim.live.state == from else { throw SimulatorFailure(409, "Recording not in session") }
            sim.live.state = pause ? "paused" : "recording"
            liveRecordings[sim.live.name] = sim
        } else {
            guard sim.live.state == "recording" || sim.live.state == "paused" else { throw SimulatorFailure(409, "Recording not in session") }
        }
        return .noContent
    }

    // MARK: stored recordings

    func storedURL(_ name: String) -> URL {
        configuration.recordingsDirectory.appendingPathComponent(name + ".wav")
    }

    func storedNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: configuration.recordingsDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".wav") }.map { String($0.dropLast(4)) }.sorted()
    }

    func storedRecording(_ params: SimulatorParameters) throws -> String {
        let name = params.path["recordingName"] ?? ""
        guard !name.isEmpty, !name.contains(".."), FileManager.default.fileExists(atPath: storedURL(name).path),
              liveRecordings[name] == nil
        else { throw SimulatorFailure(404, "Recording not found") }
        return name
    }

    func listStored() -> SimulatorResponse {
        .json(storedNames().map { StoredRecording(name: $0, format: "wav") })
    }

    func getStored(_ params: SimulatorParameters) throws -> SimulatorResponse {
        .json(StoredRecording(name: try storedRecording(params), format: "wav"))
    }

    func storedFile(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = try storedRecording(params)
        guard let data = try? Data(contentsOf: storedURL(name)) else { throw SimulatorFailure(403, "Recording file could not be opened") }
        return SimulatorResponse(status: 200, body: data, contentType: "audio/wav")
    }

    func deleteStored(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = try storedRecording(params)
        try? FileManager.default.removeItem(at: storedURL(name))
        return .noContent
    }

    func copyStored(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let name = try storedRecording(params)
        let destination = try params.required("destinationRecordingName", message: "Missing parameter destinationRecordingName")
        guard !destination.contains("..") else { throw SimulatorFailure(400, "Invalid destination") }
        guard !FileManager.default.fileExists(atPath: storedURL(destination).path) else {
            throw SimulatorFailure(409, "A recording with the same name already exists on the system")
        }
        try? FileManager.default.copyItem(at: storedURL(name), to: storedURL(destination))
        return .json(StoredRecording(name: destination, format: "wav"))
    }
}
