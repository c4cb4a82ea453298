import ARI
import AsteriskSimulator
@testable import CallCenter
import Foundation
import Synchronization
import TestSupport
import Testing

/// Every telephony scenario written once and run twice: against the simulator and against a real Asterisk 22 with real
/// SIP calls (sipp), with the same assertions.
@Suite("Telephony scenarios on the simulator and on a real Asterisk", .serialized)
struct PeerScenarioTests {
    /// Where the local copy of a recording is.
    static func file(_ recording: RecordingRecord, _ h: PeerHarness) -> URL? {
        guard let path = recording.storagePath else { return nil }
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : h.recordings.appendingPathComponent(path)
    }

    @Test("1. Happy path: IVR → queue → operator answers → conversation recorded → caller hangs up",
          arguments: Peer.allCases, Route.allCases)
    func happyPath(_ peer: Peer, _ route: Route) async throws {
        try await PeerHarness.run(peer, scenario: "happy path over \(route)", route: route) { h in
            try await h.ready(1)
            let number = "998901110001"
            let caller = try await h.call(number, [.pause(300), .digit("1"), .pause(500), .digit("1"), .pause(1500), .talk,
                                                   .pause(2500), .hangup])
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            let id = try #require(h.callId(number))
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .answered)
            #expect(call.language == .uz && call.topic == "registration")
            #expect(call.operatorId == 1 && call.hangupSide == .caller)
            #expect(call.ivrPath == ["root:1", "menu-uz:1"])
            #expect(call.answeredAt != nil && (call.talkSeconds ?? 0) >= 1 && call.waitSeconds != nil)
            // The operator wraps up, then is ready again.
            try await h.until("operator 1 wraps up") { await h.agentState(1) != .onCall }
            try await h.until("operator 1 is ready after wrap-up") { await h.agentState(1) == .ready }
            // The recording is finished, copied, and holds the conversation (not silence).
            try await h.until("the recording is copied", timeout: .seconds(15)) {
                let recording = await h.store.recordings[id.uuidString.lowercased()]
                return recording?.state == .done && recording?.storagePath != nil
            }
            let recording = try #require(await h.store.recordings[id.uuidString.lowercased()])
            #expect(recording.error == nil)
            let file = try #require(Self.file(recording, h))
            let data = try Data(contentsOf: file)
            #expect(data.count > 8000, "a recording of seconds of talk has more than \(data.count) bytes")
            #expect(WAV.rms(data) > 100, "the recording is silent (RMS \(WAV.rms(data)))")
            let kinds = await h.store.eventKinds(id)
            #expect(kinds.starts(with: ["started", "ivr_digit", "language", "ivr_digit", "queued"]), "\(kinds)")
            #expect(kinds.contains("answered") && kinds.contains("recording_started") && kinds.contains("recording_finished"), "\(kinds)")
            try await h.nothingLeft()
        }
    }

    @Test("2. IVR: language, repeat, information, back, wrong digit, 0 for an operator", arguments: Peer.allCases)
    func ivrEveryAction(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "IVR actions") { h in
            let number = "998901110002"
            let caller = try await h.call(number, [.pause(300), .digit("2"), .pause(500), .digit("#"), .pause(500), .digit("8"), .pause(1200),
                                                   .digit("*"), .pause(500), .digit("7"), .pause(900), .digit("1"), .pause(500), .digit("0"),
                                                   .pause(1500), .hangup])
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.ivrPath == ["root:2", "menu-ru:#", "menu-ru:8", "menu-ru:*", "root:7", "root:1", "menu-uz:0"])
            #expect(call.language == .uz && call.outcome == .abandonedQueue && call.hangupSide == .caller)
            let kinds = await h.store.eventKinds(call.id)
            #expect(kinds.contains("queued"), "\(kinds)")
            try await h.nothingLeft()
        }
    }

    @Test("2. IVR: silence three times goes to the queue", arguments: Peer.allCases)
    func ivrSilence(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "IVR silence") { h in
            let number = "998901110003"
            let caller = try await h.call(number, [.pause(14_000), .hangup])
            try await h.until("queued after three timeouts", timeout: .seconds(14)) {
                guard let id = h.callId(number) else { return false }
                return await h.center.queueSnapshot().contains(id)
            }
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .abandonedQueue)
            #expect(await h.store.eventKinds(call.id).filter { $0 == "ivr_timeout" }.count == 3)
            try await h.nothingLeft()
        }
    }

    enum Failure: String, CaseIterable, Sendable { case ringsOut, busy }

    @Test("4. The operator's phone rings out or is busy: the operator is paused with that reason, the call keeps its place",
          arguments: Peer.allCases, Failure.allCases)
    func phoneFailures(_ peer: Peer, _ failure: Failure) async throws {
        let phones: [String: PhoneMode] = failure == .ringsOut ? ["101": .noAnswer] : ["101": .busy]
        try await PeerHarness.run(peer, scenario: "phone \(failure)", phones: phones) { h in
            try await h.ready(1)
            let number = "998901110004"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(6000), .hangup])
            try await h.until("operator 1 is paused", timeout: .seconds(8)) { await h.agentState(1) == .paused }
            let reason = await h.center.agentSnapshot().first { $0.id == 1 }?.pauseReason
            #expect(reason == (failure == .ringsOut ? "no_answer" : "busy"))
            let id = try #require(h.callId(number))
            #expect(await h.center.queueSnapshot().contains(id), "the call keeps its place")
            try await h.until("the panel is told the offer ended") { h.seen.items.withLock { $0.contains(.offerEnded(callId: id, operatorId: 1)) } }
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .operatorNoAnswer && call.operatorId == nil)
            #expect(await h.store.eventKinds(call.id).contains("operator_no_answer"))
            try await h.nothingLeft()
        }
    }

    @Test("4. An operator whose phone is not registered is not offered calls (ARI endpoint state) until it is",
          arguments: Peer.allCases)
    func offlinePhoneIsNotOffered(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "phone not registered", phones: [:]) { h in
            try await h.ready(1)
            try await h.until("the phone is seen offline") { await !h.center.phoneReachability(1) }
            try await h.until("the panel is told the phone is offline") {
                h.seen.items.withLock { $0.contains(.phoneReachability(operatorId: 1, reachable: false)) }
            }
            let number = "998901110014"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(7000), .hangup])
            let id = try await { () async throws -> UUID in
                try await h.until("the caller waits in line") {
                    guard let id = h.callId(number) else { return false }
                    return await h.center.queueSnapshot().contains(id)
                }
                return h.callId(number)!
            }()
            try await Task.sleep(for: .seconds(1))
            #expect(await h.agentState(1) == .ready, "not offered, not paused")
            #expect(!(await h.store.eventKinds(id).contains("offered")))
            // The phone registers: the next reading of the endpoints offers the waiting caller to it.
            try await h.setPhone("101", .answer(afterMs: 300))
            try await h.until("operator 1 takes the call", timeout: .seconds(8)) { await h.agentState(1) == .onCall }
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .answered && call.operatorId == 1)
            try await h.nothingLeft()
        }
    }

    enum HangupPhase: String, CaseIterable, Sendable { case ivr, queue, ringing, talking }

    @Test("5. The caller hangs up in the IVR, in the queue, while the operator's phone rings, during the call",
          arguments: Peer.allCases, HangupPhase.allCases)
    func callerHangsUp(_ peer: Peer, _ phase: HangupPhase) async throws {
        try await PeerHarness.run(peer, scenario: "hang-up in \(phase)", phones: ["101": .answer(afterMs: phase == .ringing ? 8000 : 300)]) { h in
            if phase != .queue { try await h.ready(1) }
            let number = "998901110005"
            let steps: [CallerStep] = switch phase {
            case .ivr: [.pause(700), .hangup]
            case .queue, .ringing: [.pause(300), .digit("0"), .pause(1500), .hangup]
            case .talking: [.pause(300), .digit("0"), .pause(1500), .talk, .pause(1500), .hangup]
            }
            let caller = try await h.call(number, steps)
            if phase == .ringing { try await h.until("operator 1's phone rings") { await h.agentState(1) == .ringing } }
            #expect(await caller.finished())
            let call = try await h.ended(number)
            let outcome: CallOutcome = switch phase { case .ivr: .abandonedIVR; case .queue, .ringing: .abandonedQueue; case .talking: .answered }
            #expect(call.outcome == outcome && call.hangupSide == .caller)
            // The operator whose phone rang is free again at once, not paused; after a conversation, after wrap-up.
            if phase != .queue {
                try await h.until("operator 1 is ready again") { await h.agentState(1) == .ready }
            }
            try await h.nothingLeft()
        }
    }

    @Test("9. 30 simultaneous callers and 5 phones: every call has its row and its recording, nothing stuck",
          arguments: Peer.allCases)
    func thirtyCallers(_ peer: Peer) async throws {
        var phones: [String: PhoneMode] = [:]
        for ext in RealAsterisk.phoneExtensions { phones[ext] = .answerAndHangUp(afterMs: 200, hangupAfterMs: 1200) }
        try await PeerHarness.run(peer, scenario: "30 callers, 5 phones", phones: phones) { h in
            try await h.ready(1, 2, 3, 4, 5)
            let numbers = (0..<30).map { "99890200\(String(format: "%04d", $0))" }
            var callers: [PlacedCall] = []
            for number in numbers {
                callers.append(try await h.call(number, [.pause(300), .digit("0"), .talk]))
            }
            for caller in callers { #expect(await caller.finished(timeout: 90)) }
            for number in numbers {
                let call = try await h.ended(number, timeout: .seconds(30))
                #expect(call.outcome == .answered && call.hangupSide == .operator, "\(number): \(call.outcome)")
            }
            try await h.until("every call's recording is copied", timeout: .seconds(30)) {
                var done = 0
                for number in numbers {
                    if let id = h.callId(number), let r = await h.store.recordings[id.uuidString.lowercased()], r.state == .done, r.storagePath != nil {
                        done += 1
                    }
                }
                return done == numbers.count
            }
            try await h.until("every operator is ready") {
                await h.center.agentSnapshot().allSatisfy { $0.state == .ready }
            }
            try await h.nothingLeft()
        }
    }

    @Test("7. murojaat killed during a bridged call and started again: the call goes on untouched and is completed",
          arguments: Peer.allCases)
    func restartDuringConversation(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "restart while talking") { h in
            try await h.ready(1)
            let number = "998901110007"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(1000), .talk, .pause(5000), .hangup])
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            let id = try #require(h.callId(number))
            try await h.until("the answer is stored") { await h.store.calls[id]?.answeredAt != nil }
            let answeredAt = try #require(await h.store.calls[id]?.answeredAt)
            let h2 = try await h.restart()
            try await h2.until("the conversation is taken up again") {
                if case .bridged(1, _)? = await h2.center.sessions[id]?.phase { return true }
                return false
            }
            #expect(await h2.agentState(1) == .onCall)
            #expect(await h2.center.sessions[id]?.playbacks.isEmpty == true, "something was played into the conversation")
            #expect(await caller.finished())
            let call = try await h2.ended(number)
            #expect(call.id == id && call.outcome == .answered && call.hangupSide == .caller && call.operatorId == 1)
            #expect(call.answeredAt == answeredAt && (call.talkSeconds ?? 0) >= 4, "talk \(call.talkSeconds ?? -1) s")
            #expect(await h2.store.calls.values.filter { $0.callerNumber == number }.count == 1, "a second row for the same call")
            let kinds = await h2.store.eventKinds(id)
            #expect(kinds.contains("resumed") && !kinds.contains("lost"), "\(kinds)")
            try await h2.until("the recording is copied", timeout: .seconds(20)) {
                let recording = await h2.store.recordings[id.uuidString.lowercased()]
                return recording?.state == .done && recording?.storagePath != nil
            }
            try await h2.until("operator 1 is ready after wrap-up") { await h2.agentState(1) == .ready }
            try await h2.nothingLeft()
        }
    }

    @Test("3. Queue with nobody ready: place and wait spoken in the caller's language, callback offered and accepted, the citizen called back through the trunk",
          arguments: Peer.allCases)
    func queueAnnouncementsAndCallback(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "queue announcements and callback") { h in
            try h.answerCallbacks()
            let number = "998901110003"
            // Russian, appeals; then "1" once the callback has been offered.
            let caller = try await h.call(number, [.pause(300), .digit("2"), .pause(500), .digit("3"), .pause(5500), .digit("1")])
            try await h.until("the callback is requested", timeout: .seconds(12)) {
                guard let id = h.callId(number) else { return false }
                return await h.store.eventKinds(id).contains("callback_requested")
            }
            #expect(await caller.finished())
            let played = try await h.played()
            #expect(played.contains("ru/murojaat/queue-position-1"), "\(played)")
            #expect(played.contains("ru/murojaat/queue-wait-3"), "\(played)")
            #expect(played.contains("ru/murojaat/callback-offer") && played.contains("ru/murojaat/callback-confirmed"), "\(played)")
            #expect(!played.contains { $0.hasPrefix("uz/murojaat/queue-") }, "an Uzbek announcement to a Russian caller")
            // The place comes up: the operator is rung first, then the citizen through the trunk.
            try await h.ready(2)
            let call = try await h.ended(number, timeout: .seconds(20))
            #expect(call.outcome == .callbackDone && call.operatorId == 2 && call.callbackNumber == number)
            try await h.until("operator 2 is ready again") { await h.agentState(2) == .ready }
            try await h.nothingLeft()
        }
    }

    @Test("8. Asterisk stopped and started while idle, and killed and started with live calls: reconnect, the calls that died closed as lost with the reason, the next call served",
          arguments: Peer.allCases)
    func asteriskRestarts(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "Asterisk restart", phones: ["101": .answer(afterMs: 300)], throughProxy: true) { h in
            try await h.ready(1)
            try await h.restartAsterisk(crash: false)
            try await h.setPhone("101", .answer(afterMs: 300))
            let talking = "998901110008", waiting = "998901110018"
            let first = try await h.call(talking, [.pause(300), .digit("0"), .talk, .pause(30_000), .hangup])
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            let second = try await h.call(waiting, [.pause(300), .digit("0"), .pause(30_000), .hangup])
            try await h.until("the second caller waits in line") {
                guard let id = h.callId(waiting) else { return false }
                return await h.center.queueSnapshot().contains(id)
            }
            try await h.restartAsterisk()
            let a = try await h.ended(talking, timeout: .seconds(20))
            let b = try await h.ended(waiting, timeout: .seconds(20))
            #expect(a.outcome == .lost && a.hangupSide == .system && a.talkSeconds != nil)
            #expect(b.outcome == .lost && b.hangupSide == .system)
            #expect(await h.store.eventData(a.id, "lost")?["reason"] == "asterisk_restarted")
            #expect(await h.store.eventData(b.id, "lost")?["reason"] == "asterisk_restarted")
            first.stop()
            second.stop()
            try await h.until("operator 1 is ready again", timeout: .seconds(10)) { await h.agentState(1) == .ready }
            // The next caller is served.
            try await h.setPhone("101", .answer(afterMs: 300))
            let next = "998901110028"
            let third = try await h.call(next, [.pause(300), .digit("0"), .pause(1500), .talk, .pause(1000), .hangup])
            #expect(await third.finished())
            let c = try await h.ended(next)
            #expect(c.outcome == .answered && c.operatorId == 1)
            try await h.nothingLeft()
        }
    }

    @Test("6. Listen, whisper and barge to a supervisor's phone: the supervisor joins through a snoop (listen, whisper) or the call's own bridge (barge), and everything ends with the call",
          arguments: Peer.allCases, MonitorMode.allCases)
    func supervisorMonitors(_ peer: Peer, _ mode: MonitorMode) async throws {
        try await PeerHarness.run(peer, scenario: "monitor \(mode)", phones: ["101": .answer(afterMs: 300), "105": .answer(afterMs: 200)]) { h in
            try await h.ready(1)
            let number = "998901110006"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(1200), .talk, .pause(5000), .hangup])
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            let id = try #require(h.callId(number))
            let monitor = try await h.center.monitor(call: id, supervisorEndpoint: "PJSIP/105", mode: mode)
            #expect(monitor.hasPrefix("mon-"))
            let client = ARIClient(configuration: h.direct)
            try await h.until("the supervisor's phone is in", timeout: .seconds(8)) {
                let bridges = try await client.bridges()
                switch mode {
                case .barge:
                    return bridges.first { $0.id == id.uuidString.lowercased() }?.channels.contains { $0.hasPrefix("sup-") } == true
                case .listen, .whisper:
                    return bridges.contains { bridge in
                        bridge.channels.contains { $0.hasPrefix("sup-") } && bridge.channels.contains { $0.hasPrefix("snp-") }
                    }
                }
            }
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .answered)
            try await h.nothingLeft()
        }
    }

    @Test("11. The caller hangs up while the events socket is down: the call ends as answered (not lost), the operator's leg is hung up, the operator wraps up",
          arguments: Peer.allCases)
    func callerHangsUpInAReconnectGap(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "hang-up in a reconnect gap", throughProxy: true) { h in
            try await h.ready(1)
            let number = "998901110012"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(1500), .talk, .pause(2500), .hangup])
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            try await h.dropConnection(for: 5)
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .answered && call.hangupSide == .caller && call.operatorId == 1 && call.talkSeconds != nil)
            let kinds = await h.store.eventKinds(call.id)
            #expect(kinds.contains("ended_unseen") && !kinds.contains("lost"), "\(kinds)")
            try await h.until("operator 1 is ready after wrap-up") { await h.agentState(1) == .ready }
            try await h.nothingLeft()
        }
    }

    @Test("11. The events socket drops while the operator's phone rings: the operator is not paused, the caller is served",
          arguments: Peer.allCases)
    func socketDropWhileRinging(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "socket drop while ringing", phones: ["101": .answer(afterMs: 2500)],
                                  throughProxy: true) { h in
            try await h.ready(1)
            let number = "998901110015"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(9000), .talk, .pause(1500), .hangup])
            try await h.until("operator 1's phone rings") { await h.agentState(1) == .ringing }
            try await h.dropConnection(for: 1)
            // Whether the ring survived the gap or was offered again, the operator is never paused for it.
            let paused = Mutex(false)
            try await h.until("operator 1 is on the call", timeout: .seconds(12)) {
                let state = await h.agentState(1)
                if state == .paused { paused.withLock { $0 = true } }
                return state == .onCall
            }
            #expect(!paused.withLock { $0 }, "operator 1 was paused for a ring the network lost")
            #expect(await caller.finished())
            let call = try await h.ended(number)
            #expect(call.outcome == .answered && call.operatorId == 1 && call.hangupSide == .caller)
            #expect(!(await h.store.eventKinds(call.id).contains("operator_no_answer")))
            try await h.until("operator 1 is ready after wrap-up") { await h.agentState(1) == .ready }
            try await h.nothingLeft()
        }
    }

    @Test("7. murojaat killed with a caller in the menus and one waiting in line, and started again: both go on under their own rows (menu again, place in line kept) and are served",
          arguments: Peer.allCases)
    func restartWithCallersInTheMenusAndInLine(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "restart with callers in the menus and in line") { h in
            let menus = "998901110017", waiting = "998901110027"
            // The waiting caller presses 0; the other presses nothing until well after the restart, then 1 (Uzbek) and 0.
            let second = try await h.call(waiting, [.pause(300), .digit("0"), .pause(9000), .hangup])
            let first = try await h.call(menus, [.pause(4500), .digit("1"), .pause(600), .digit("0"), .pause(4000), .hangup])
            try await h.until("the second caller waits in line") {
                guard let id = h.callId(waiting) else { return false }
                return await h.center.queueSnapshot().contains(id)
            }
            try await h.until("the first caller is in the menus") { h.callId(menus) != nil }
            let (menusId, waitingId) = (h.callId(menus)!, h.callId(waiting)!)
            let h2 = try await h.restart()
            try await h2.until("both calls are taken up again") {
                let resumed = await h2.center.sessions[menusId] != nil
                let queue = await h2.center.queueSnapshot()
                return resumed && queue.contains(waitingId)
            }
            #expect(await h2.center.sessions[menusId]?.phase == .ivr)
            // An operator comes: the caller who waited longest is served first, then the other.
            try await h2.ready(1)
            try await h2.until("operator 1 takes the waiting caller") {
                if case .bridged(1, _)? = await h2.center.sessions[waitingId]?.phase { return true }
                return false
            }
            #expect(await second.finished())
            #expect(await first.finished())
            let a = try await h2.ended(waiting), b = try await h2.ended(menus)
            #expect(a.id == waitingId && a.outcome == .answered && a.operatorId == 1)
            #expect(b.id == menusId && b.ivrPath.contains("root:1"))
            #expect(await h2.store.calls.count == 2, "a second row for a call")
            #expect(await h2.store.eventData(menusId, "resumed")?["phase"] == "ivr")
            #expect(await h2.store.eventData(waitingId, "resumed")?["phase"] == "queued")
            try await h2.nothingLeft()
        }
    }

    @Test("7. The caller hangs up while murojaat is down during a conversation: on start the call is closed as lost, the operator's leg left alone in the bridge is hung up, the operator is free",
          arguments: Peer.allCases)
    func callerLeavesWhileMurojaatIsDown(_ peer: Peer) async throws {
        try await PeerHarness.run(peer, scenario: "caller leaves while murojaat is down") { h in
            try await h.ready(1)
            let number = "998901110037"
            let caller = try await h.call(number, [.pause(300), .digit("0"), .pause(1200), .talk, .pause(1500), .hangup])
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            let id = try #require(h.callId(number))
            let h2 = try await h.restart(down: .seconds(3))
            #expect(await caller.finished())
            try await h2.until("the call is closed") { await h2.store.calls[id]?.endedAt != nil }
            #expect(await h2.store.calls[id]?.outcome == .lost)
            #expect(await h2.center.sessions[id] == nil, "a call whose caller is gone is not taken up again")
            try await h2.nothingLeft()
            try await h2.until("the old call's bridge is gone") {
                try await !ARIClient(configuration: h2.direct).bridges().contains { $0.id == id.uuidString.lowercased() }
            }
            try await h2.until("operator 1 is ready") { await h2.agentState(1) == .ready }
        }
    }
}
