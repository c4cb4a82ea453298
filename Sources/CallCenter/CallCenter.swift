import ARI
import Foundation
import Logging
import Synchronization
import protocol NIOCore.EventLoop
import struct NIOCore.Scheduled
import struct NIOCore.TimeAmount
import class NIOPosix.MultiThreadedEventLoopGroup

/// The Stasis application: drives every call from StasisStart to hang-up — IVR, queue, routing to
/// operators, bridge and recording, monitoring — and keeps the agents' states. It never waits on
/// the database (writes go through the journal) nor on Asterisk's answers (per-call request queues).
public actor CallCenter {
    public nonisolated let settings: CallCenterSettings
    /// The operator endpoint template split at `{extension}`, joined with the extension for each offer
    /// (Foundation's replacingOccurrences was a visible share of routing).
    nonisolated let operatorEndpoint: [String]
    public nonisolated let events: CallCenterEvents
    let journal: CallJournal
    let logger: Logger
    var clients: [String: ARIClient] = [:]
    var ivr: IVRTree
    var sessions: [UUID: CallSession] = [:]
    /// `server/channel` → call, for the caller, operator, callback and monitoring channels.
    var channels: [ChannelKey: UUID] = [:]
    var playbacks: [String: UUID] = [:]
    var lines = WaitingLines()
    var agents: [Int64: Agent] = [:]
    /// The ready operators with what routing compares, kept beside `agents` so that routing does not copy
    /// every operator's record for every waiting call.
    var readyAgents: [Int64: ReadyAgent] = [:]
    var monitors: [String: Monitor] = [:]
    var recentCallers: [String: Date] = [:]
    /// `recentCallers` is pruned of numbers older than the repeat window when it reaches this size (then
    /// twice what is left): 24/7 at 150,000 calls a day it otherwise grew by every new number for ever.
    var recentCallersPruneAt = 10_000
    var handlingTimes: [Double] = []
    var disconnected: Set<String> = []
    /// `server/channel` of callers whose calls ended lately, oldest first: a channel listing read before a
    /// hang-up but looked at after it must not bring the call back (`adopt`).
    var recentlyEnded = RecentKeys<ChannelKey>(capacity: 5_000)
    /// Playback ids are `pb-<instanceTag>-<n>`: unique on the server without a random UUID (a system call)
    /// per prompt, and unlike the ids of an earlier run of the app.
    var playbackSequence = 0
    nonisolated let instanceTag = String(UInt64.random(in: 0..<(1 << 48)), radix: 36)
    var recordingsDirectory: URL?
    /// Recordings asked for whose RecordingFinished (or RecordingFailed) has not come yet, by name.
    var pendingRecordings: [String: PendingRecording] = [:]
    /// Each server's start time as last read: a different one after a reconnect means Asterisk restarted.
    var asteriskStartups: [String: String] = [:]
    /// When each server's events socket went down (the first of a run of failed reconnects).
    var disconnectedAt: [String: Date] = [:]
    /// Per server, the endpoints it lists and those it says are offline ("PJSIP/101"), from the last reading.
    var endpointsKnown: [String: Set<String>] = [:]
    var endpointsOffline: [String: Set<String>] = [:]
    var endpointPoll: Scheduled<Void>?
    /// Recordings finished from Asterisk's stored copy because their event did not come: a late event is ignored.
    var recoveredRecordings = RecentKeys<String>(capacity: 5_000)
    /// Recording copies handed over whose rows are not in the journal yet (`finishCopies`).
    nonisolated let copiesInFlight = Atomic<Int>(0)
    /// When the event being handled reached the call flow, or may have reached its socket when events are read
    /// in batches (the benchmark's StasisStart → answer).
    var eventReceivedAt = ContinuousClock.now
    /// Given by the benchmark; nil in production.
    public nonisolated let latencies: LatencyRecorder?
    /// Events published and not yet given to listeners: they go together when the loop gets to the flush (`publish`).
    var pendingEvents: [CallCenterEvent] = []
    /// Closes rows a previous run left in progress (set by the wiring, which knows the store).
    var lostCallsClosure: (@Sendable (String, Set<String>) -> Void)?

    /// The call flow runs on a thread of its own (an event loop used as the actor's executor), not in the
    /// shared cooperative pool: a web page, a report or the wallboard's JSON being built there (two threads
    /// on two cores) otherwise held up calls for tens of milliseconds.
    nonisolated let executor: any SerialExecutor
    /// The loop the actor runs on. An events socket on the same loop hands events over without a thread hop
    /// (`attach`), and the call's requests are written into that socket directly (`CallRequests`).
    public nonisolated let eventLoop: any EventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    /// Named `calls-…` (in `top -H`, `perf` and the benchmark's CPU by thread).
    static let callFlowThread = MultiThreadedEventLoopGroup._makePerpetualGroup(threadNamePrefix: "calls-", numberOfThreads: 1)

    public init(settings: CallCenterSettings, journal: CallJournal, events: CallCenterEvents = CallCenterEvents(),
                ivr: IVRTree = .standard, recordingsDirectory: URL? = nil, latencies: LatencyRecorder? = nil,
                eventLoop: (any EventLoop)? = nil, logger: Logger = Logger(label: "murojaat.calls")) {
        let loop = eventLoop ?? Self.callFlowThread.next()
        self.eventLoop = loop
        executor = loop.executor
        self.latencies = latencies
        self.settings = settings
        operatorEndpoint = settings.operatorEndpointTemplate.components(separatedBy: "{extension}")
        self.journal = journal
        self.events = events
        self.ivr = ivr
        self.recordingsDirectory = recordingsDirectory
        // Made once, here; a copy later makes only the day's folder inside it (`fetchRecording`).
        if let recordingsDirectory {
            try? FileManager.default.createDirectory(at: recordingsDirectory, withIntermediateDirectories: true)
        }
        self.logger = logger
    }

    public func addServer(_ name: String, client: ARIClient) {
        clients[name] = client
    }

    public func loadOperators(_ operators: [OperatorInfo]) {
        for info in operators {
            if var agent = agents[info.id] {
                let state = agent.info.state
                agent.info = info
                agent.info.state = state
                agents[info.id] = agent
            } else {
                agents[info.id] = Agent(info: info)
            }
            indexAgent(info.id)
        }
    }

    public func setIVR(_ tree: IVRTree) { ivr = tree }

    /// Takes `connection`'s events directly: on this actor's loop each one is handled where it was read;
    /// from anywhere else it is handed to the loop, in order. Create the connection with `eventLoop`.
    public nonisolated func attach(_ connection: ARIEventConnection) {
        connection.setConsumer { [weak self] item in self?.deliver(item) }
    }

    /// One event of a socket `attach`ed (or wired by the caller) to this call flow.
    public nonisolated func deliver(_ item: ARIConnectionEvent) {
        onFlowThread { $0.receive(item) }
    }

    /// Runs `body` on the actor: at once when already on its loop, else queued there (in order).
    nonisolated func onFlowThread(_ body: @escaping @Sendable (isolated CallCenter) -> Void) {
        if eventLoop.inEventLoop {
            assumeIsolated(body)
        } else {
            eventLoop.execute { self.assumeIsolated(body) }
        }
    }

    func receive(_ item: ARIConnectionEvent) {
        switch item {
        case .event(let server, let message):
            eventReceivedAt = .now
            handle(message.event, server: server)
        case .connected, .disconnected:
            Task { await self.handle(item) }
        }
    }

    /// Publishes `event` with the others of the same turn of the call flow's loop: a step makes several (a call
    /// offered and its operator ringing), handed to listeners together as soon as the step is done — never
    /// held back to wait for more.
    func publish(_ event: CallCenterEvent) {
        guard events.hasListeners else { return } // nobody listens, nothing is kept
        if pendingEvents.isEmpty {
            eventLoop.execute { self.assumeIsolated { $0.flushEvents() } }
        }
        pendingEvents.append(event)
    }

    func flushEvents() {
        let batch = pendingEvents
        pendingEvents = []
        events.handOver(batch)
    }

    /// A channel on a server. (As `"server/channel"` text it cost a new string for every lookup.)
    struct ChannelKey: Hashable, Sendable {
        let server: String
        let channel: String
    }

    static func key(_ server: String, _ channel: String) -> ChannelKey { ChannelKey(server: server, channel: channel) }

    // MARK: events from Asterisk

    public func handle(_ item: ARIConnectionEvent) async {
        switch item {
        case .connected(let server):
            filterEvents(server)
            if disconnected.remove(server) != nil { await resynchronise(server) } else { await startUp(server) }
        case .disconnected(let server, _):
            if disconnected.insert(server).inserted { disconnectedAt[server] = Date() }
        case .event:
            receive(item)
        }
    }

    /// The event types the call flow acts on; the event socket may drop the rest unread.
    public static let handledEventTypes: Set<String> = [
        "StasisStart", "StasisEnd", "ChannelDestroyed", "ChannelDtmfReceived", "PlaybackFinished",
        "RecordingFinished", "RecordingFailed",
    ]

    /// The filter set on Asterisk: the handled events and the answers to requests sent over the events socket.
    /// Asterisk 22.10 filters `RESTResponse` frames like events: left out, every answer over the socket is lost
    /// (the request is carried out, the caller waits for its time-out).
    public static let filteredEventTypes: Set<String> = handledEventTypes.union(["RESTResponse"])

    /// Asks the server to send only the events the call flow acts on: the others (channel state and
    /// variable changes, bridge membership, playback starts…) were more than half of every call's frames,
    /// each one written, read and scanned only to be dropped. Asterisk keeps the filter with the application,
    /// so it is set again on every connect (after a restart it is gone). Until it applies, and on an Asterisk
    /// that refuses it, the event socket drops those events itself.
    func filterEvents(_ server: String) {
        guard let client = clients[server] else { return }
        let logger = self.logger
        Task {
            do {
                try await client.setEventFilter(allowed: Self.filteredEventTypes.sorted())
            } catch {
                logger.notice("Asterisk did not take the event filter; unwanted events are dropped on arrival",
                              metadata: ["server": "\(server)", "error": "\(error)"])
            }
        }
    }

    func handle(_ event: ARIEvent, server: String) {
        switch event {
        case .stasisStart(let start):
            stasisStart(start, server: server)
        case .stasisEnd(let end):
            channelLeft(end.channel.id, server: server)
        case .channelDestroyed(let destroyed):
            channelDestroyed(destroyed, server: server)
        case .channelDtmfReceived(let dtmf):
            guard let id = channels[Self.key(server, dtmf.channel.id)], sessions[id]?.callerChannel == dtmf.channel.id else { return }
            digit(dtmf.digit, call: id)
        case .playbackFinished(let finished):
            playbackFinished(finished.playback.id)
        case .recordingFinished(let e):
            recordingChanged(e.recording, server: server, state: .done)
        case .recordingFailed(let e):
            recordingChanged(e.recording, server: server, state: .failed)
        default:
            break
        }
    }

    func stasisStart(_ start: StasisStart, server: String) {
        let channel = start.channel
        let role = start.args.first ?? ""
        let reference = start.args.count > 1 ? start.args[1] : ""
        switch role {
        case "operator":
            operatorAnswered(leg: channel.id, call: UUID(uuidString: reference), server: server)
        case "callback":
            citizenAnswered(leg: channel.id, call: UUID(uuidString: reference), server: server)
        case "supervisor":
            supervisorAnswered(channel: channel.id, monitor: reference, server: server)
        case "snoop":
            break // held by its monitor
        case "recorder":
            recorderStarted(channel.id, call: UUID(uuidString: reference), server: server)
        default:
            guard channels[Self.key(server, channel.id)] == nil else { return } // duplicate StasisStart
            let dialled = role == "inbound" && start.args.count > 1 ? start.args[1] : channel.dialplan.exten
            newInboundCall(channel, dialled: dialled, server: server)
        }
    }

    // MARK: call life

    func rememberCaller(_ number: String, at now: Date) {
        recentCallers[number] = now
        guard recentCallers.count >= recentCallersPruneAt else { return }
        let window = settings.repeatWindowSeconds
        recentCallers = recentCallers.filter { now.timeIntervalSince($0.value) < window }
        recentCallersPruneAt = max(10_000, recentCallers.count * 2)
    }

    func newInboundCall(_ channel: Channel, dialled: String, server: String, adopted: Bool = false) {
        guard let client = clients[server] else { return }
        var record = CallRecord(server: server, channelId: channel.id, callerNumber: channel.caller.number, dialledNumber: dialled)
        let now = Date()
        if let last = recentCallers[record.callerNumber], now.timeIntervalSince(last) < settings.repeatWindowSeconds, !record.callerNumber.isEmpty {
            record.repeated = true
        }
        if !record.callerNumber.isEmpty { rememberCaller(record.callerNumber, at: now) }
        let id = record.id
        let ops = CallRequests(client: client, loop: eventLoop) { [weak self] label, error in
            self?.onFlowThread { $0.operationFailed(call: id, server: server, label: label, error: error) }
        }
        var session = CallSession(record: record, node: ivr.root, ops: ops)
        session.adopted = adopted
        sessions[id] = session
        channels[Self.key(server, channel.id)] = id
        journal.append(.call(record))
        note(id, "started", ["caller": record.callerNumber, "dialled": dialled, "channel": channel.id])
        publish(.callStarted(record))
        let channelId = channel.id
        ops.send("answer", ARIClient.answerRequest(channelId), onDone: LatencyRecorder.recording(latencies, .answer, since: eventReceivedAt))
        // Greeting in both languages from the first second, then the language menu.
        play(id, [("greeting", .uz), ("greeting", .ru)] + (settings.announcement.map { [($0, .uz), ($0, .ru)] } ?? []), then: .returnToMenu)
    }

    /// A channel of ours left Stasis (hung up, or continued in the dialplan).
    func channelLeft(_ channelId: String, server: String) {
        let key = Self.key(server, channelId)
        guard let id = channels[key], let session = sessions[id] else {
            if let monitor = monitors.values.first(where: { $0.server == server && ($0.supervisorChannel == channelId || $0.snoopChannel == channelId) }) {
                endMonitor(monitor.id)
            }
            return
        }
        channels[key] = nil
        if channelId == session.callerChannel && session.record.callbackNumber != nil && session.record.answeredAt == nil {
            // The caller who asked for a callback hung up (or its StasisEnd came late): the place in line stays.
            return
        }
        if channelId == session.callerChannel {
            callerHungUp(id)
        } else if channelId == session.operatorLeg {
            operatorHungUp(id, leg: channelId)
        } else if case .callingBack(_, _, let citizen) = session.phase, citizen == channelId {
            callerHungUp(id)
        }
    }

    func channelDestroyed(_ destroyed: ChannelDestroyed, server: String) {
        // An originated leg that never answered: the only event is ChannelDestroyed (cause 19 no answer, 17 busy).
        let key = Self.key(server, destroyed.channel.id)
        guard let id = channels[key], let session = sessions[id] else { return }
        if case .ringing(let operatorId, let leg) = session.phase, leg == destroyed.channel.id {
            channels[key] = nil
            let reason = destroyed.cause == 17 ? "busy" : destroyed.cause == 19 ? "no_answer" : "unreachable"
            ringFailed(id, operatorId: operatorId, reason: reason)
        } else if case .callingBack(let operatorId, let leg, let citizen) = session.phase, citizen == destroyed.channel.id {
            channels[key] = nil
            callbackUnanswered(id, operatorId: operatorId, leg: leg)
        }
    }

    func callerHungUp(_ id: UUID) {
        guard var session = sessions[id] else { return }
        cancelTimer(id)
        let now = Date()
        // An operator rung for this caller is free again: the next caller in line is offered to them at once.
        var freedOperator = false
        switch session.phase {
        case .ivr:
            session.record.outcome = .abandonedIVR
        case .queued:
            session.record.outcome = session.noAnswers > 0 ? .operatorNoAnswer : .abandonedQueue
        case .ringing(let operatorId, let leg):
            let server = session.server
            session.ops.send("hangup operator leg", ARIClient.hangupRequest(leg), ignoringErrors: true)
            channels[Self.key(server, leg)] = nil
            session.record.outcome = session.noAnswers > 0 ? .operatorNoAnswer : .abandonedQueue
            publish(.offerEnded(callId: id, operatorId: operatorId))
            setAgent(operatorId, .ready, reason: nil, call: nil)
            freedOperator = true
        case .bridged(let operatorId, let leg), .callingBack(let operatorId, let leg, _):
            session.ops.send("hangup operator leg", ARIClient.hangupRequest(leg), ignoringErrors: true)
            channels[Self.key(session.server, leg)] = nil
            if session.record.outcome != .callbackDone { session.record.outcome = .answered }
            session.record.hangupSide = .caller
            if case .callingBack = session.phase, session.record.answeredAt == nil {
                session.record.outcome = .callbackRequested
            }
            sessions[id] = session
            finishTalk(id, operatorId: operatorId)
            return
        case .callbackWaiting:
            // The caller hung up after asking for a callback: the place in line stays.
            sessions[id] = session
            return
        case .ended:
            return
        }
        if session.record.queuedAt != nil {
            session.record.waitSeconds = Int(now.timeIntervalSince(session.record.queuedAt!).rounded())
        }
        session.record.hangupSide = .caller
        sessions[id] = session
        end(id)
        if freedOperator { dispatch() }
    }

    func operatorHungUp(_ id: UUID, leg: String) {
        guard var session = sessions[id] else { return }
        switch session.phase {
        case .bridged(let operatorId, _), .callingBack(let operatorId, _, _):
            let caller = session.callerChannel
            if case .callingBack(_, _, let citizen) = session.phase {
                session.ops.send("hangup citizen", ARIClient.hangupRequest(citizen), ignoringErrors: true)
                if session.record.answeredAt == nil { session.record.outcome = .callbackRequested }
            } else {
                session.ops.send("hangup caller", ARIClient.hangupRequest(caller), ignoringErrors: true)
                session.record.outcome = .answered
            }
            channels[Self.key(session.server, caller)] = nil
            session.record.hangupSide = .operator
            sessions[id] = session
            finishTalk(id, operatorId: operatorId)
        default:
            break
        }
    }

    func finishTalk(_ id: UUID, operatorId: Int64) {
        guard var session = sessions[id] else { return }
        let now = Date()
        if let answered = session.record.answeredAt {
            let talk = now.timeIntervalSince(answered)
            session.record.talkSeconds = Int(talk.rounded())
            handlingTimes.append(talk + settings.wrapUpSeconds)
            if handlingTimes.count > 200 { handlingTimes.removeFirst() }
        }
        sessions[id] = session
        end(id)
        setAgent(operatorId, .wrapUp, reason: nil, call: id)
        let delay = settings.wrapUpSeconds
        agents[operatorId]?.timer?.cancel()
        agents[operatorId]?.timer = schedule(after: delay) { $0.wrapUpOver(operatorId) }
    }

    func wrapUpOver(_ operatorId: Int64) {
        guard agents[operatorId]?.state == .wrapUp else { return }
        setAgent(operatorId, .ready, reason: nil, call: nil)
        dispatch()
    }

    /// Closes the call: the row gets its outcome, the bridge goes, the request queue ends.
    func end(_ id: UUID) {
        guard var session = sessions[id], session.phase != .ended else { return }
        cancelTimer(id)
        session.phase = .ended
        session.record.endedAt = Date()
        if session.record.ivrEndedAt == nil { session.record.ivrEndedAt = session.record.endedAt }
        if let recorder = session.recorder {
            // Its recording ends with it (RecordingFinished follows).
            session.ops.send("hang up recorder", ARIClient.hangupRequest(recorder), ignoringErrors: true)
        }
        if let bridge = session.bridgeId {
            session.ops.send("destroy bridge", ARIClient.destroyBridgeRequest(bridge), ignoringErrors: true)
        }
        if let name = session.recordingName, pendingRecordings[name] != nil {
            _ = schedule(after: settings.recordingCheckSeconds) { $0.checkRecording(name) }
        }
        for playback in session.playbacks { playbacks[playback] = nil }
        leaveLine(session)
        for monitor in session.monitors { endMonitor(monitor) }
        // The call's channels: the caller's, and the operator and callback legs, named by attempt
        // (`offer`, `callCitizenBack`). Only these, rather than a scan of every call's channels.
        let prefix = id.uuidString.prefix(8).lowercased()
        var keys = [Self.key(session.server, session.callerChannel)]
        if session.ringAttempts > 0 {
            for attempt in 1...session.ringAttempts {
                keys.append(Self.key(session.server, "op-\(prefix)-\(attempt)"))
                keys.append(Self.key(session.server, "cb-\(prefix)-\(attempt)"))
            }
        }
        for key in keys where channels[key] == id { channels[key] = nil }
        recentlyEnded.insert(keys[0])
        sessions[id] = nil
        journal.append(.call(session.record))
        note(id, "ended", ["outcome": session.record.outcome.rawValue, "side": session.record.hangupSide?.rawValue ?? ""])
        publish(.callEnded(session.record))
    }

    // MARK: helpers

    func note(_ id: UUID, _ kind: String, _ data: [String: String] = [:]) {
        journal.append(.event(id, Date(), kind, data))
    }

    func save(_ id: UUID) {
        if let record = sessions[id]?.record { journal.append(.call(record)) }
    }

    func cancelTimer(_ id: UUID) {
        sessions[id]?.timer?.cancel()
        sessions[id]?.timer = nil
    }

    func startTimer(_ id: UUID, seconds: Double, _ action: @escaping @Sendable (isolated CallCenter) -> Void) {
        cancelTimer(id)
        sessions[id]?.timer = schedule(after: seconds, action)
    }

    /// A timer on the actor's own loop: it fires there (no task, no thread hop), and a cancel, made on the
    /// same loop, can never race with the firing.
    func schedule(after seconds: Double, _ action: @escaping @Sendable (isolated CallCenter) -> Void) -> Scheduled<Void> {
        eventLoop.scheduleTask(in: .nanoseconds(Int64(max(0, seconds) * 1_000_000_000))) { [weak self] in
            self?.assumeIsolated(action)
        }
    }

    func operationFailed(call id: UUID, server: String, label: String, error: any Error) {
        if label == "record" {
            // Whether the call is still up or not (a 404: it ended first), the row written when the recording was
            // asked for must not stay "recording".
            recordingFailed(id, name: id.uuidString.lowercased(), server: server, error: "\(error)")
            return
        }
        // "add channels" refused (a side hung up meanwhile): the recorder's own requests tell whether it records.
        // A channel that is already gone answers 404; the events tell the rest. Except for a call adopted from
        // a channel listing: if its channel is gone before the answer, no event will ever end it.
        if case ARIError.notFound = error {
            // A call whose channel is already gone when it is answered (a StasisStart for a channel that no longer
            // exists, or one adopted from a listing): no event will end it, so it ends now.
            if label == "answer", let session = sessions[id], session.phase == .ivr {
                if session.adopted { lost(id) } else { callerHungUp(id) }
            }
            return
        }
        logger.warning("ARI request failed", metadata: ["call": "\(id)", "request": "\(label)", "error": "\(error)"])
        guard let session = sessions[id] else { return }
        if label == "originate operator", case .ringing(let operatorId, let leg) = session.phase {
            channels[Self.key(session.server, leg)] = nil
            // The network between us and Asterisk failed, not the phone: the caller keeps the place and the operator
            // stays available (a leg Asterisk made anyway belongs to no call and is hung up when it shows).
            if case ARIError.transport = error {
                ringLost(id, operatorId: operatorId)
            } else {
                ringFailed(id, operatorId: operatorId, reason: "unreachable")
            }
        } else if label == "originate citizen", case .callingBack(let operatorId, let leg, _) = session.phase {
            callbackUnanswered(id, operatorId: operatorId, leg: leg)
        }
    }
}
