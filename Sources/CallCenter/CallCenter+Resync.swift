import ARI
import Foundation
import Synchronization

extension CallCenter {
    /// First connection to a server: calls left "in progress" by an earlier run are closed as lost.
    func startUp(_ server: String) async {
        guard let client = clients[server] else { return }
        // Asterisk's start time first, as the baseline a later reconnect compares with to tell a restart.
        if let startup = (try? await client.asteriskInfo(only: ["status"]))?.status?.startupTime { asteriskStartups[server] = startup }
        let live = (try? await client.channels()) ?? []
        let bridges = (try? await client.bridges()) ?? []
        let open = await Self.openCalls(journal.store, server: server, timeout: .seconds(2)) ?? []
        journal.append(.alert("ari_connected", "Connected to Asterisk \(server) with \(live.count) channels up", nil, Date()))
        lostCallsClosure?(server, Set(live.map(\.id)))
        if let endpoints = try? await client.endpoints() { endpointsRead(endpoints, server: server) }
        if endpointPoll == nil { endpointPoll = schedule(after: settings.endpointPollSeconds) { $0.pollEndpoints() } }
        resume(open, live: live, bridges: bridges, server: server)
        adopt(live, server: server)
        dispatch()
    }

    /// The calls a previous process left open, or nil when the store does not answer within `timeout` (the database
    /// is down: calls are then taken as new rather than held up).
    static func openCalls(_ store: any CallStore, server: String, timeout: Duration) async -> [CallRecord]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[CallRecord]?, Never>) in
            let once = ResumeOnce(continuation)
            let lookup = Task { once.resume(try? await store.openCalls(server: server)) }
            Task {
                try? await Task.sleep(for: timeout)
                lookup.cancel()
                once.resume(nil)
            }
        }
    }

    /// After murojaat itself restarted (a crash, kill -9, an upgrade): a call whose row is still open and whose
    /// caller's channel is still up goes on under its own id and row — never a second one. A conversation in its
    /// bridge goes on untouched (nothing is played into it), the operator is on the call, the recording goes on and
    /// is finished when the call ends; a caller who was waiting goes back in line in the order they first queued; a
    /// caller in the menus hears the language menu again. An operator's leg that belongs to no such conversation
    /// (it was ringing at the crash) is hung up, and its caller waits in line again.
    func resume(_ open: [CallRecord], live: [Channel], bridges: [Bridge], server: String) {
        guard let client = clients[server] else { return }
        let up = Set(live.map(\.id))
        var claimed: Set<String> = []
        for record in open.sorted(by: { ($0.queuedAt ?? .distantFuture, $0.startedAt) < ($1.queuedAt ?? .distantFuture, $1.startedAt) })
        where record.server == server && record.outcome == .inProgress && up.contains(record.channelId)
            && sessions[record.id] == nil && channels[Self.key(server, record.channelId)] == nil
            && !recentlyEnded.contains(Self.key(server, record.channelId)) {
            let id = record.id
            let ops = CallRequests(client: client, loop: eventLoop) { [weak self] label, error in
                self?.onFlowThread { $0.operationFailed(call: id, server: server, label: label, error: error) }
            }
            var session = CallSession(record: record, node: ivr.root, ops: ops)
            session.adopted = true
            channels[Self.key(server, record.channelId)] = id
            claimed.insert(record.channelId)
            if !record.callerNumber.isEmpty { rememberCaller(record.callerNumber, at: record.startedAt) }
            let bridgeId = id.uuidString.lowercased()
            if let bridge = bridges.first(where: { $0.id == bridgeId }), bridge.channels.contains(record.channelId),
               let leg = bridge.channels.first(where: { $0 != record.channelId && $0.hasPrefix("op-") && up.contains($0) }),
               let operatorId = record.operatorId, agents[operatorId] != nil, record.answeredAt != nil {
                session.phase = .bridged(operatorId: operatorId, leg: leg)
                session.bridgeId = bridgeId
                session.recordingName = bridgeId
                channels[Self.key(server, leg)] = id
                claimed.insert(leg)
                // The conversation's recorder goes on; its recording's end reaches the app through the channel.
                let recorderPrefix = "rec-\(id.uuidString.prefix(8).lowercased())-"
                if let recorder = live.first(where: { $0.id.hasPrefix(recorderPrefix) }) {
                    session.recorder = recorder.id
                    session.recordingAsked = true
                    claimed.insert(recorder.id)
                    ops.send("subscribe recorder", client.subscribeRequest(eventSource: "channel:\(recorder.id)"), ignoringErrors: true)
                    // The old process may have gone between making the recorder and asking it to record: a recording
                    // that is not live is started (appending, never overwriting what was stored).
                    let format = settings.recordingFormat, recorderId = recorder.id
                    ops.enqueue("record") { client in
                        if (try? await client.liveRecording(bridgeId)) == nil {
                            _ = try await client.record(channel: recorderId, name: bridgeId, format: format, ifExists: .append)
                        }
                    }
                }
                sessions[id] = session
                // The bridge's events reach an app subscribed to it.
                ops.send("subscribe bridge", client.subscribeRequest(eventSource: "bridge:\(bridgeId)"), ignoringErrors: true)
                pendingRecordings[bridgeId] = PendingRecording(callId: id, server: server)
                note(id, "resumed", ["phase": "bridged", "operator": "\(operatorId)"])
                setAgent(operatorId, .onCall, reason: nil, call: id)
                publish(.callAnswered(session.record, operatorId: operatorId))
            } else if record.queuedAt != nil {
                session.phase = .queued
                session.record.operatorId = nil
                session.ticket = lines.nextTicket()
                session.routableSince = .now
                sessions[id] = session
                joinLine(id)
                note(id, "resumed", ["phase": "queued"])
                publish(.callQueued(session.record, position: position(of: id)))
                startQueueMusic(id)
            } else {
                sessions[id] = session
                note(id, "resumed", ["phase": "ivr"])
                publish(.callStarted(session.record))
                enterNode(id, ivr.root)
            }
        }
        // Operators' legs of no resumed conversation (a phone still ringing for a caller the old process offered, or
        // left alone in its bridge when the caller hung up meanwhile) are hung up, and the calls' bridges of the old
        // process that no call goes on in are destroyed.
        var orphans = live.filter { ($0.id.hasPrefix("op-") || $0.id.hasPrefix("rec-")) && !claimed.contains($0.id) && channels[Self.key(server, $0.id)] == nil }
            .map { ARIClient.hangupRequest($0.id) }
        orphans += bridges.filter { UUID(uuidString: $0.id) != nil && sessions[UUID(uuidString: $0.id)!] == nil }
            .map { ARIClient.destroyBridgeRequest($0.id) }
        for request in orphans {
            Task { _ = try? await client.send(request) }
        }
        // Operators the old process left ringing, talking or wrapping up with no call now: ready again.
        // (This process's own wrap-ups run on a timer, and its ringing and talking operators have sessions.)
        for (operatorId, agent) in agents where [.ringing, .onCall, .wrapUp].contains(agent.state) && agent.timer == nil
            && !sessions.values.contains(where: { $0.operatorId == operatorId }) {
            setAgent(operatorId, .ready, reason: nil, call: nil)
        }
    }

    /// After the event socket came back: Asterisk dropped the events of the gap, so the channels are re-read.
    /// Calls whose channels are gone are closed as lost; calls still up go on.
    func resynchronise(_ server: String) async {
        guard let client = clients[server] else { return }
        guard let live = try? await client.channels() else { return }
        // Asterisk itself restarted in the gap (its start time moved): its channels died with it. Otherwise a channel
        // that is gone was hung up while the socket was down.
        // Either its start time differs from the one read at connect, or it started after the socket went down.
        let startup = (try? await client.asteriskInfo(only: ["status"]))?.status?.startupTime
        let startedAfterDrop = startup.flatMap(ARICoding.parseTimestamp).map { started in
            disconnectedAt[server].map { started > $0 } ?? false
        } ?? false
        let asteriskRestarted = startup != nil
            && ((asteriskStartups[server] != nil && startup != asteriskStartups[server]) || startedAfterDrop)
        if let startup { asteriskStartups[server] = startup }
        let up = Set(live.map(\.id))
        // A recorder whose StasisStart was lost in the gap: its recording is asked for now.
        for (id, session) in sessions where session.server == server && !session.recordingAsked
            && session.recorder.map(up.contains) == true { askRecording(id) }
        for (id, session) in sessions where session.server == server {
            if !up.contains(session.callerChannel) && session.phase != .callbackWaiting {
                // The list can be newer than events still queued behind this re-read (a hang-up right after
                // the reconnect): those get a moment to end the call as what it was.
                let grace = settings.resyncGraceSeconds
                Task { [weak self] in
                    try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
                    if asteriskRestarted { await self?.lost(id, reason: "asterisk_restarted") } else { await self?.endedUnseen(id) }
                }
            } else if let leg = session.operatorLeg, !up.contains(leg) {
                if case .ringing(let operatorId, _) = session.phase {
                    // The ringing phone's channel went in the gap (rang out, refused, or the operator picked up and
                    // hung up): nothing says the operator is away, so they stay available and the caller keeps the place.
                    channels[Self.key(server, leg)] = nil
                    ringLost(id, operatorId: operatorId)
                } else {
                    channels[Self.key(server, leg)] = nil
                    operatorHungUp(id, leg: leg)
                }
            }
        }
        adopt(live, server: server)
        dispatch()
    }

    /// Channels that entered Stasis while the socket was down: their StasisStart was never seen. The listing
    /// may be older than events handled while it was on its way: a caller whose call ended meanwhile is
    /// not taken up again.
    func adopt(_ live: [Channel], server: String) {
        for channel in live where channels[Self.key(server, channel.id)] == nil && !recentlyEnded.contains(Self.key(server, channel.id))
            && channel.dialplan.appName == "Stasis"
            && !channel.id.hasPrefix("op-") && !channel.id.hasPrefix("cb-") && !channel.id.hasPrefix("snp-") && !channel.id.hasPrefix("sup-")
            && !channel.id.hasPrefix("rec-") {
            let args = channel.dialplan.appData.split(separator: ",").map(String.init)
            let dialled = args.count > 2 && args[1] == "inbound" ? args[2] : channel.dialplan.exten
            newInboundCall(channel, dialled: dialled, server: server, adopted: true)
        }
    }

    /// The call cannot go on (Asterisk restarted, or its channel vanished before it was answered). An operator's leg
    /// still up is hung up — never left alone in a bridge — and the operator wraps up as after any conversation.
    func lost(_ id: UUID, reason: String = "channel_gone") {
        guard var session = sessions[id], session.phase != .ended else { return }
        let operatorId = session.operatorId
        let bridged: Bool = if case .bridged = session.phase { true } else { false }
        if let leg = session.operatorLeg {
            session.ops.send("hangup operator leg", ARIClient.hangupRequest(leg), ignoringErrors: true)
            channels[Self.key(session.server, leg)] = nil
        }
        session.record.outcome = .lost
        session.record.hangupSide = .system
        if let answered = session.record.answeredAt, session.record.talkSeconds == nil {
            // The real end is unknown (Asterisk went away): talk time up to when the loss was noticed.
            session.record.talkSeconds = Int(Date().timeIntervalSince(answered).rounded())
        }
        sessions[id] = session
        note(id, "lost", ["reason": reason])
        if bridged, let operatorId {
            finishTalk(id, operatorId: operatorId)
            return
        }
        end(id)
        if let operatorId { setAgent(operatorId, .ready, reason: nil, call: nil) }
        dispatch()
    }

    /// The caller's channel went while the events socket was down and Asterisk kept running: the caller hung up in
    /// the gap. The call ends as what it was at that moment (abandoned in the menus or the line, or answered), and the
    /// row's events say the end was not seen.
    func endedUnseen(_ id: UUID) {
        guard let session = sessions[id], session.phase != .ended else { return }
        note(id, "ended_unseen", ["reason": "hung up while the events socket was down"])
        callerHungUp(id)
    }

    /// The phone that was ringing for this caller went while the socket was down: the caller keeps the place, the
    /// operator stays available (not paused: nothing says they are away).
    func ringLost(_ id: UUID, operatorId: Int64) {
        guard var session = sessions[id] else { return }
        session.routableSince = .now
        session.phase = session.record.callbackNumber != nil ? .callbackWaiting : .queued
        sessions[id] = session
        joinLine(id)
        note(id, "offer_lost", ["operator": "\(operatorId)"])
        setAgent(operatorId, .ready, reason: nil, call: nil)
        publish(.offerEnded(callId: id, operatorId: operatorId))
        dispatch()
    }

    public func setLostCallsHandler(_ handler: @escaping @Sendable (String, Set<String>) -> Void) {
        lostCallsClosure = handler
    }
}

/// The last `capacity` keys inserted, for membership tests: a set with its insertion order.
struct RecentKeys<Key: Hashable> {
    let capacity: Int
    private var members: Set<Key> = []
    private var order: [Key] = []
    private var oldest = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func insert(_ key: Key) {
        guard members.insert(key).inserted else { return }
        if order.count < capacity {
            order.append(key)
        } else {
            members.remove(order[oldest])
            order[oldest] = key
            oldest = (oldest + 1) % capacity
        }
    }

    func contains(_ key: Key) -> Bool { members.contains(key) }
}

/// A continuation resumed by whichever of several tasks comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>
    init(_ continuation: CheckedContinuation<T, Never>) { self.continuation = Mutex(continuation) }
    func resume(_ value: T) { continuation.withLock { $0?.resume(returning: value); $0 = nil } }
}
