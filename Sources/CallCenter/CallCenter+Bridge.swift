import ARI
import Foundation

extension CallCenter {
    /// The operator picked up: caller and operator meet in a mixing bridge, recorded as one WAV named by the call id.
    func operatorAnswered(leg: String, call: UUID?, server: String) {
        guard let id = call, var session = sessions[id], case .ringing(let operatorId, let ringing) = session.phase, ringing == leg else {
            // The caller is gone or this leg was given up: release it.
            clients[server].map { client in Task { try? await client.hangup(leg) } }
            return
        }
        cancelTimer(id)
        stopPrompts(id)
        stopQueueMusic(id)
        session = sessions[id]!
        if session.record.callbackNumber != nil && session.record.outcome == .callbackRequested {
            callCitizenBack(id, operatorId: operatorId, leg: leg)
            return
        }
        session.phase = .bridged(operatorId: operatorId, leg: leg)
        connect(&session, id: id, operatorId: operatorId, legs: [session.callerChannel, leg], answeredAt: eventReceivedAt)
        sessions[id] = session
    }

    /// Bridge, add both sides, record; stamps the answer. The recording is a snoop on the caller's side hearing both
    /// directions (`legs[0]`), recorded once it enters the app (`recorderStarted`): a recorder inside the bridge made
    /// Asterisk mix every call's audio in a thread of its own — 85 % of its CPU at 300 recorded calls (without any
    /// recording 35 CPU-s per 1,000 calls instead of 244, measured with `bench asterisk`) — while a snoop only copies
    /// frames and the two parties' bridge stays a simple one.
    /// `answeredAt`: when the operator's answer arrived (the benchmark's answer → bridged).
    func connect(_ session: inout CallSession, id: UUID, operatorId: Int64, legs: [String], answeredAt: ContinuousClock.Instant? = nil) {
        let now = Date()
        leaveLine(session)
        session.ticket = nil
        session.record.answeredAt = now
        session.record.operatorId = operatorId
        if let queued = session.record.queuedAt { session.record.waitSeconds = Int(now.timeIntervalSince(queued).rounded()) }
        let bridgeId = id.uuidString.lowercased()
        let name = bridgeId
        session.bridgeId = bridgeId
        session.recordingName = name
        let format = settings.recordingFormat
        session.ops.send("create bridge", ARIClient.createBridgeRequest(types: [.mixing], bridgeId: bridgeId, name: "call-\(bridgeId)"))
        session.ops.send("add channels", ARIClient.addChannelRequest(bridge: bridgeId, channels: legs),
                         onDone: answeredAt.flatMap { LatencyRecorder.recording(latencies, .bridge, since: $0) })
        let recorder = "rec-\(id.uuidString.prefix(8).lowercased())-\(session.ringAttempts)"
        session.recorder = recorder
        session.ops.send("record", session.ops.client.snoopRequest(channel: legs[0], spy: .both, snoopId: recorder,
                                                                   appArgs: "recorder,\(id.uuidString.lowercased())"))
        journal.append(.call(session.record))
        // The recording's row as the request goes: a refusal or RecordingFailed turns it to failed, RecordingFinished
        // to done. RecordingStarted is not asked for (one frame less per call), and nothing waits on it.
        journal.append(.recording(RecordingRecord(callId: id, name: name, server: session.server, format: format,
                                                  state: .recording, startedAt: now)))
        pendingRecordings[name] = PendingRecording(callId: id, server: session.server)
        note(id, "recording_started", ["name": name])
        note(id, "answered", ["operator": "\(operatorId)", "wait": "\(session.record.waitSeconds ?? 0)"])
        setAgent(operatorId, .onCall, reason: nil, call: id)
        publish(.callAnswered(session.record, operatorId: operatorId))
    }

    /// The conversation's snoop entered the app: its recording starts, named by the call. A recorder of a call that
    /// is over (or of no call) is hung up.
    func recorderStarted(_ channel: String, call: UUID?, server: String) {
        guard let id = call, let session = sessions[id], session.phase != .ended, session.recorder == channel else {
            clients[server].map { client in Task { try? await client.hangup(channel) } }
            return
        }
        askRecording(id)
    }

    /// Starts the conversation's recording on its recorder, once (a duplicate StasisStart, or a recorder found again
    /// after a gap in the events, asks nothing more).
    func askRecording(_ id: UUID) {
        guard var session = sessions[id], !session.recordingAsked, let recorder = session.recorder, let name = session.recordingName else { return }
        session.recordingAsked = true
        sessions[id] = session
        session.ops.send("record", ARIClient.recordChannelRequest(channel: recorder, name: name, format: settings.recordingFormat, ifExists: .overwrite))
    }

    // MARK: callbacks

    /// The operator is on the line for a callback: now the citizen is called through the trunk.
    func callCitizenBack(_ id: UUID, operatorId: Int64, leg: String) {
        guard var session = sessions[id], let number = session.record.callbackNumber else { return }
        let citizen = "cb-\(id.uuidString.prefix(8).lowercased())-\(session.ringAttempts)"
        session.phase = .callingBack(operatorId: operatorId, leg: leg, citizenLeg: citizen)
        sessions[id] = session
        channels[Self.key(session.server, citizen)] = id
        setAgent(operatorId, .onCall, reason: "callback", call: id)
        let digits = number.filter(\.isNumber)
        let endpoint = settings.callbackEndpointTemplate.replacingOccurrences(of: "{number}", with: digits)
        let parameters = OriginateParameters(endpoint: endpoint, channelId: citizen, appArgs: "callback,\(id.uuidString.lowercased())",
                                             callerId: session.record.dialledNumber, timeout: 40)
        session.ops.send("originate citizen", session.ops.client.originateRequest(parameters))
        note(id, "callback_dialing", ["number": number, "operator": "\(operatorId)"])
    }

    func citizenAnswered(leg: String, call: UUID?, server: String) {
        guard let id = call, var session = sessions[id], case .callingBack(let operatorId, let operatorLeg, let citizen) = session.phase,
              citizen == leg
        else {
            clients[server].map { client in Task { try? await client.hangup(leg) } }
            return
        }
        session.record.outcome = .callbackDone
        session.phase = .bridged(operatorId: operatorId, leg: operatorLeg)
        // From here the citizen's new channel is the caller side of this call.
        session.record.channelId = leg
        connect(&session, id: id, operatorId: operatorId, legs: [leg, operatorLeg])
        sessions[id] = session
        note(id, "callback_connected", ["operator": "\(operatorId)"])
    }

    /// The citizen did not pick up: the operator is released and the callback waits for a later try.
    func callbackUnanswered(_ id: UUID, operatorId: Int64, leg: String) {
        guard var session = sessions[id] else { return }
        session.ops.send("hangup operator leg", ARIClient.hangupRequest(leg), ignoringErrors: true)
        channels[Self.key(session.server, leg)] = nil
        session.phase = .callbackWaiting
        // Try again after the others in line.
        leaveLine(session)
        session.ticket = session.ringAttempts < 3 ? lines.nextTicket() : nil
        sessions[id] = session
        note(id, "callback_unanswered", [:])
        setAgent(operatorId, .ready, reason: nil, call: nil)
        if session.ringAttempts < 3 {
            joinLine(id)
            startTimer(id, seconds: 60) { $0.dispatch() }
        } else {
            session.record.hangupSide = .system
            sessions[id] = session
            end(id)
        }
        dispatch()
    }

    // MARK: recordings

    func recordingChanged(_ recording: LiveRecording, server: String, state: RecordingRecord.State) {
        guard let id = UUID(uuidString: recording.name) else { return }
        if state != .recording {
            pendingRecordings[recording.name] = nil
            // Already finished from the stored copy (the event came late): copied once, not twice.
            if recoveredRecordings.contains(recording.name) { return }
        }
        switch state {
        case .recording:
            break // the row was written when the recording was asked for (`connect`)
        case .done:
            note(id, "recording_finished", ["name": recording.name, "duration": "\(recording.duration ?? 0)"])
            fetchRecording(recording, callId: id, server: server)
        case .failed:
            recordingFailed(id, name: recording.name, server: server, error: recording.cause ?? "failed")
        }
    }

    /// The call has ended and its recording's event has not come: ask Asterisk. A live recording is still being written
    /// (ask again later); a stored one is finished — copy it as RecordingFinished would; neither, after a few asks,
    /// is a failed recording.
    func checkRecording(_ name: String) {
        guard let pending = pendingRecordings[name], let client = clients[pending.server] else { return }
        Task { [weak self] in
            var live = false
            var stored: StoredRecording?
            if (try? await client.liveRecording(name)) != nil {
                live = true
            } else {
                stored = try? await client.storedRecording(name)
            }
            await self?.recordingChecked(name, live: live, stored: stored)
        }
    }

    func recordingChecked(_ name: String, live: Bool, stored: StoredRecording?) {
        guard var pending = pendingRecordings[name] else { return } // the event came meanwhile
        if let stored, !live {
            pendingRecordings[name] = nil
            recoveredRecordings.insert(name)
            logger.notice("RecordingFinished did not come; the stored recording is copied", metadata: ["recording": "\(name)"])
            note(pending.callId, "recording_finished", ["name": name, "source": "stored"])
            fetchRecording(LiveRecording(name: name, format: stored.format, targetUri: "", state: "done"), callId: pending.callId,
                           server: pending.server)
            return
        }
        pending.checks += 1
        guard pending.checks < 10 else {
            pendingRecordings[name] = nil
            recordingFailed(pending.callId, name: name, server: pending.server,
                            error: "no RecordingFinished and no stored recording on Asterisk")
            return
        }
        pendingRecordings[name] = pending
        _ = schedule(after: settings.recordingCheckSeconds) { $0.checkRecording(name) }
    }

    /// A failed recording never stops the call; supervisors get an alert.
    func recordingFailed(_ id: UUID, name: String, server: String, error: String) {
        pendingRecordings[name] = nil
        journal.append(.recording(RecordingRecord(callId: id, name: name, server: server, format: settings.recordingFormat,
                                                  state: .failed, error: error, startedAt: Date(), finishedAt: Date())))
        let message = "Recording of call \(id.uuidString.lowercased()) failed: \(error)"
        journal.append(.alert("recording_failed", message, id, Date()))
        publish(.alert(kind: "recording_failed", message: message))
    }

    /// Copies the finished file from Asterisk (so Asterisk may run elsewhere) and stores its size.
    func fetchRecording(_ recording: LiveRecording, callId: UUID, server: String) {
        guard let client = clients[server] else { return }
        let journal = journal
        // The name is the call's id (checked by the caller); the format comes from the event too and becomes
        // part of a file name, so anything but a plain extension is replaced by the configured one.
        let format = !recording.format.isEmpty && recording.format.utf8.count <= 8
            && recording.format.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) ? recording.format : settings.recordingFormat
        let record = RecordingRecord(callId: callId, name: recording.name, server: server, format: format, state: .done,
                                     durationSeconds: recording.duration, startedAt: Date(), finishedAt: Date())
        guard let directory = recordingsDirectory else {
            // Nothing to copy (no recordings directory): the row at once, without a task.
            journal.append(.recording(record))
            return
        }
        // Paths as text: Foundation's URL building was a visible share of each copy.
        let folder = directory.path + "/" + Self.localDay()
        let file = folder + "/" + recording.name + "." + format
        // Handed to the copies' loop, where it ends with the row: no task, no pool thread.
        copiesInFlight.add(1, ordering: .relaxed)
        let finish: @Sendable (Result<Int, any Error>) -> Void = { [record, self] result in
            var record = record
            switch result {
            case .success(let size):
                record.sizeBytes = size
                record.storagePath = file
                if record.durationSeconds == nil || record.durationSeconds == 0, size > 44 {
                    record.durationSeconds = (size - 44) / 16000
                }
            case .failure(let error):
                record.error = "copy from Asterisk failed: \(error)"
            }
            journal.append(.recording(record))
            // Releasing: whoever reads 0 (acquiring) also sees the row appended above.
            self.copiesInFlight.subtract(1, ordering: .releasing)
        }
        client.downloadStoredRecording(recording.name, toFile: file) { result in
            // The day's folder is made by the first copy that finds it missing, not checked for every copy. Only
            // that folder: the recordings folder itself was made at start, and if it is gone (an unmounted
            // volume) the copy fails rather than filling the disk under the mount point.
            if case .failure(let failure as DownloadFile.Failure) = result, failure.isMissingFolder {
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
                } catch where FileManager.default.fileExists(atPath: folder) {
                    // Another copy that found it missing at the same moment made it first.
                } catch {
                    finish(.failure(error))
                    return
                }
                client.downloadStoredRecording(recording.name, toFile: file, completion: finish)
                return
            }
            finish(result)
        }
    }

    /// Waits until every recording copy handed over so far has ended and its row is in the journal, or
    /// `timeout` passed (shutdown, before the journal's last write; tests, before removing their folders).
    /// True when none is left.
    public nonisolated func finishCopies(timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while copiesInFlight.load(ordering: .acquiring) > 0 {
            // Cancelled, the sleep would return at once: no spinning until the deadline.
            guard clock.now < deadline, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Today in local time as `yyyy-MM-dd`, the recordings' folder: from the C library (an
    /// `ISO8601DateFormatter` made for each recording was a visible share of copying it).
    static func localDay(_ date: Date = Date()) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900, month = Int(parts.tm_mon) + 1, day = Int(parts.tm_mday)
        return "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }
}

/// A recording asked for whose end has not been heard of.
struct PendingRecording: Sendable {
    var callId: UUID
    var server: String
    var checks = 0
}
