import ARI
import AsteriskSimulator
@testable import CallCenter
import Foundation
import TestSupport
import Testing

@Suite("Call flow over the simulator: IVR, queue, routing, bridge, recording")
struct CallFlowTests {
    @Test(arguments: Route.allCases)
    func uzbekCallerReachesAnOperatorIsRecordedAndTheOperatorWrapsUp(_ route: Route) async throws {
        try await Harness.run(route: route) { h in
            try await h.ready(1)
            let channel = try await h.dial()
            try await h.press("1", on: channel)      // O'zbek
            try await Task.sleep(for: .milliseconds(80))
            try await h.press("1", on: channel)      // registration
            try await h.until("operator 1 is on the call") { await h.agentState(1) == .onCall }
            let id = try #require(h.callId(channel))
            try await h.until("the bridge is recorded") { await h.store.recordings[id.uuidString.lowercased()] != nil }
            try await Task.sleep(for: .milliseconds(150))
            try await h.sim.remoteHangup(channel)
            let call = try await h.ended(channel)
            #expect(call.outcome == .answered)
            #expect(call.language == .uz && call.topic == "registration")
            #expect(call.operatorId == 1 && call.hangupSide == .caller)
            #expect(call.answeredAt != nil && call.talkSeconds != nil && call.waitSeconds != nil)
            #expect(call.ivrPath == ["root:1", "menu-uz:1"])
            try await h.until("the recording is copied") {
                let recording = await h.store.recordings[id.uuidString.lowercased()]
                return recording?.state == .done && recording?.sizeBytes != nil
            }
            let recording = try #require(await h.store.recordings[id.uuidString.lowercased()])
            #expect((recording.sizeBytes ?? 0) > 44)
            let stored = try #require(recording.storagePath)
            #expect(stored.hasSuffix("/\(CallCenter.localDay())/\(id.uuidString.lowercased()).wav"))
            // A finished recording whose format is a path: copied again under the configured extension, never outside its folder.
            await h.center.handle(.event(server: h.ari.name, ARIEventMessage(application: "murojaat", timestamp: "", event: .recordingFinished(
                RecordingEvent(recording: LiveRecording(name: id.uuidString.lowercased(), format: "../../../x", targetUri: "bridge:x", state: "done"))))))
            try await h.until("the second copy") { await h.requests("GET", containing: "/recordings/stored/").count == 2 }
            _ = await h.journal.flush()
            try await Task.sleep(for: .milliseconds(100))
            _ = await h.journal.flush()
            let again = await h.store.recordings[id.uuidString.lowercased()]
            #expect(again?.storagePath == stored && again?.format == "wav" && again?.error == nil)
            let afterCall = await h.agentState(1)
            #expect(afterCall == .wrapUp || afterCall == .ready)
            // On connect the call flow asked Asterisk for only the events it acts on.
            #expect(await h.requests("PUT", containing: "/eventFilter").map(\.status) == [200])
            let filter = try await ARIClient(configuration: h.ari).applicationDetails()
            #expect(Set(filter.eventsAllowed.compactMap { if case .object(let o) = $0, case .string(let t)? = o["type"] { t } else { nil } })
                    == CallCenter.filteredEventTypes)
            try await h.until("wrap-up ends") { await h.agentState(1) == .ready }
            #expect(await h.center.channels.isEmpty) // the ended call left no channel behind
            let originate = await h.requests("POST", containing: "/channels")
            #expect(originate.contains { $0.query["endpoint"] == "PJSIP/101" && $0.query["callerId"] == "+998901234567" && $0.query["timeout"] == "1" })
            let kinds = await h.store.eventKinds(id)
            #expect(kinds.starts(with: ["started", "ivr_digit", "language", "ivr_digit", "queued"]))
            #expect(kinds.contains("answered") && kinds.contains("recording_started") && kinds.last == "recording_finished" || kinds.contains("ended"))
        }
    }

    @Test func russianCallersGoOnlyToOperatorsWhoSpeakRussian() async throws {
        try await Harness.run { h in
            try await h.ready(1, 2)
            let channel = try await h.dial("+998935551122")
            try await h.press("2", on: channel)
            try await Task.sleep(for: .milliseconds(80))
            try await h.press("3", on: channel)
            try await h.until("operator 2 answers") { await h.agentState(2) == .onCall }
            #expect(await h.agentState(1) == .ready)
            try await h.sim.remoteHangup(channel)
            let call = try await h.ended(channel)
            #expect(call.language == .ru && call.topic == "appeal" && call.operatorId == 2)
        }
    }

    @Test func zeroReachesAnOperatorFromTheFirstMenu() async throws {
        try await Harness.run { h in
            try await h.ready(3)
            let channel = try await h.dial()
            try await h.press("0", on: channel)
            try await h.until("operator 3 answers") { await h.agentState(3) == .onCall }
            try await h.sim.remoteHangup(channel)
            let call = try await h.ended(channel)
            #expect(call.outcome == .answered && call.operatorId == 3 && call.topic == nil)
        }
    }

    @Test func wrongDigitsThreeTimesGoToTheQueue() async throws {
        try await Harness.run { h in
            let channel = try await h.dial()
            for _ in 0..<3 {
                try await h.press("7", on: channel)
                try await Task.sleep(for: .milliseconds(60))
            }
            let id = try #require(h.callId(channel))
            try await h.until("queued after three wrong digits") { await h.center.queueSnapshot().contains(id) }
            try await h.sim.remoteHangup(channel)
            let call = try await h.ended(channel)
            #expect(call.outcome == .abandonedQueue)
            #expect(call.ivrPath == ["root:7", "root:7", "root:7"])
            // Requests of an ended call may still be on their way to Asterisk.
            try await h.until("the wrong choices were announced") {
                await h.played("invalid-choice") >= 2
            }
        }
    }

    @Test func silenceIsRepeatedThenQueued() async throws {
        try await Harness.run { h in
            let channel = try await h.dial()
            let id = try #require(h.callId(channel))
            try await h.until("queued after three timeouts", timeout: .seconds(8)) { await h.center.queueSnapshot().contains(id) }
            #expect(await h.played("no-input") >= 2)
            try await h.sim.remoteHangup(channel)
            _ = try await h.ended(channel)
            #expect(await h.store.eventKinds(id).filter { $0 == "ivr_timeout" }.count == 3)
        }
    }

    @Test func informationBranchBackAndRepeat() async throws {
        try await Harness.run { h in
            let channel = try await h.dial()
            try await h.press("1", on: channel)
            try await h.until("the Uzbek menu plays") { await h.menus("uz") >= 1 }
            try await h.press("8", on: channel)       // general information, then back to the menu
            try await h.until("the menu plays again after the information") { await h.menus("uz") >= 2 }
            try await h.press("#", on: channel)       // repeat
            try await h.until("the menu is repeated") { await h.menus("uz") >= 3 }
            try await h.press("*", on: channel)       // back to the language menu
            try await h.until("back at the language menu") { await h.node(channel) == "root" }
            try await h.press("2", on: channel)       // Русский
            try await h.until("the Russian menu plays") { await h.menus("ru") >= 1 }
            try await h.sim.remoteHangup(channel)
            let call = try await h.ended(channel)
            #expect(call.outcome == .abandonedIVR)
            #expect(call.ivrPath == ["root:1", "menu-uz:8", "menu-uz:#", "menu-uz:*", "root:2"])
            #expect(call.language == .ru)
            let plays = await h.requests("POST", containing: "/play")
            #expect(await h.played("info-general", "uz") == 1)
            // The greeting says both languages in one playback, each prompt from its language's folder.
            #expect(plays.first?.query["media"] == "sound:uz/murojaat/greeting,sound:ru/murojaat/greeting")
        }
    }

    @Test(arguments: Route.allCases)
    func anOperatorWhoDoesNotAnswerIsPausedAndTheNextOneIsCalled(_ route: Route) async throws {
        try await Harness.run(phones: ["101": .init(mode: .noAnswer), "103": .init(answerAfterMs: 200)], route: route) { h in
            try await h.ready(1)
            try await Task.sleep(for: .milliseconds(20))
            try await h.ready(3)
            let channel = try await h.dial()
            try await h.press("0", on: channel)
            try await h.until("operator 1 is paused for not answering", timeout: .seconds(6)) { await h.agentState(1) == .paused }
            let paused = await h.center.agentSnapshot().first { $0.id == 1 }
            #expect(paused?.pauseReason == "no_answer")
            try await h.until("operator 3 answers") { await h.agentState(3) == .onCall }
            try await h.sim.remoteHangup(channel)
            let call = try await h.ended(channel)
            #expect(call.outcome == .answered && call.operatorId == 3)
            #expect(await h.store.eventKinds(call.id).contains("operator_no_answer"))
            try await h.until("no channel of the call is left") { await h.center.channels.isEmpty }
        }
    }

    /// First come first served per language; a caller whose operator does not answer gets its place back, ahead
    /// of those who came later, and an operator is given the earliest caller in a language they speak.
    @Test func callersKeepTheirPlacesPerLanguageThroughARingWithoutAnswer() async throws {
        try await Harness.run(phones: ["101": .init(mode: .noAnswer), "102": .init(answerAfterMs: 300), "103": .init(answerAfterMs: 300)]) { h in
            let (first, a) = try await h.dialAndQueue("+998901000001")
            let (second, b) = try await h.dialAndQueue("+998901000002")
            #expect(await h.center.queueSnapshot() == [a, b])
            let third = try await h.dial("+998901000003")
            try await h.press("2", on: third)
            try await Task.sleep(for: .milliseconds(80))
            try await h.press("3", on: third)
            let c = try #require(h.callId(third))
            try await h.until("the Russian caller waits") { await h.center.queueSnapshot() == [a, b, c] }
            #expect(await [h.center.position(of: a), h.center.position(of: b), h.center.position(of: c)] == [1, 2, 1])

            // Operator 1 (Uzbek) is rung for the first caller and does not answer: the caller is back in front.
            try await h.ready(1)
            try await h.until("operator 1 rings") { await h.agentState(1) == .ringing }
            #expect(await h.center.queueSnapshot() == [b, c])
            #expect(await h.center.position(of: b) == 1)
            try await h.until("operator 1 is paused for not answering", timeout: .seconds(6)) { await h.agentState(1) == .paused }
            #expect(await h.center.queueSnapshot() == [a, b, c])
            #expect(await h.center.position(of: a) == 1)

            // Operator 2 speaks Russian only: the third caller, not the first two.
            try await h.ready(2)
            try await h.until("operator 2 talks to the third caller") {
                let state = await h.agentState(2)
                return await h.center.sessions[c]?.operatorId == 2 && state == .onCall
            }
            #expect(await h.center.queueSnapshot() == [a, b])
            // Operator 3 speaks both: the first caller, who kept the place.
            try await h.ready(3)
            try await h.until("operator 3 talks to the first caller") {
                let state = await h.agentState(3)
                return await h.center.sessions[a]?.operatorId == 3 && state == .onCall
            }
            #expect(await h.center.queueSnapshot() == [b])
            for channel in [first, second, third] { try await h.sim.remoteHangup(channel) }
            #expect(try await h.ended(first).operatorId == 3)
            #expect(try await h.ended(second).outcome == .abandonedQueue)
            #expect(try await h.ended(third).operatorId == 2)
            #expect(await h.center.queueSnapshot().isEmpty)
        }
    }

    /// A caller who hangs up while the operator's phone rings frees the operator for the next caller at once, not
    /// at the next unrelated routing event.
    @Test func aCallerWhoHangsUpWhileTheOperatorRingsFreesTheOperatorForTheNext() async throws {
        // The phone rings for up to 1 s of real time (100 simulated seconds at the harness's 0.01 scale): long enough for
        // the caller to hang up while it rings on a loaded machine, where a 10 ms ring ended first and paused the operator.
        var settings = Harness.settings()
        settings.ringTimeoutSeconds = 100
        try await Harness.run(phones: ["101": .init(mode: .noAnswer), "102": .init(answerAfterMs: 300), "103": .init(answerAfterMs: 300)],
                              settings: settings) { h in
            let (first, a) = try await h.dialAndQueue("+998901000011")
            let (second, b) = try await h.dialAndQueue("+998901000012")
            #expect(await h.center.queueSnapshot() == [a, b])
            try await h.ready(1)
            try await h.until("operator 1 rings for the first caller") { await h.center.sessions[a]?.operatorId == 1 }
            try await h.sim.remoteHangup(first)
            // (Phone 101 does not answer, so its ringing for the second caller may be over in a few milliseconds: the
            // offer is read from the call's events.)
            try await h.until("operator 1 rings for the second caller") { await h.store.eventData(b, "offered")?["operator"] == "1" }
            #expect(try await h.ended(first).outcome == .abandonedQueue)
            try await h.sim.remoteHangup(second)
            _ = try await h.ended(second)
        }
    }

    @Test func longestIdleOperatorIsCalledFirst() async throws {
        try await Harness.run { h in
            try await h.ready(3)
            try await Task.sleep(for: .milliseconds(30))
            try await h.ready(1)
            let channel = try await h.dial()
            try await h.press("0", on: channel)
            try await h.until("operator 3 (idle longest) rings") {
                let state = await h.agentState(3)
                return state == .ringing || state == .onCall
            }
            #expect(await h.agentState(1) == .ready)
            try await h.sim.remoteHangup(channel)
            _ = try await h.ended(channel)
        }
    }

    @Test func abandonInIVRAndInQueue() async throws {
        try await Harness.run { h in
            let first = try await h.dial("+998901111111")
            try await h.sim.remoteHangup(first)
            #expect(try await h.ended(first).outcome == .abandonedIVR)

            let second = try await h.dial("+998901111111")
            try await h.press("0", on: second)
            let id = try #require(h.callId(second))
            try await h.until("queued") { await h.center.queueSnapshot().contains(id) }
            try await h.until("position announced") {
                await h.played("queue-position-1") > 0
            }
            try await h.sim.remoteHangup(second)
            let call = try await h.ended(second)
            #expect(call.outcome == .abandonedQueue && call.repeated)
            #expect((call.waitSeconds ?? -1) >= 0)
            #expect(await h.played("queue-welcome") > 0)
            // The announcement is one playback: place in line, expected wait, information (in the caller's language).
            let announcement = await h.requests("POST", containing: "/play").compactMap { $0.query["media"] }.first { $0.contains("queue-position") }
            #expect(announcement?.hasPrefix("sound:uz/murojaat/queue-position-1,sound:uz/murojaat/queue-wait-") == true,
                    "\(announcement ?? "none")")
            #expect(announcement?.contains("number:") == false, "Asterisk's say has no Uzbek")
            #expect(announcement?.contains(",sound:uz/murojaat/queue-info") == true)
            #expect(await h.requests("POST", containing: "/moh").count >= 1)
        }
    }

    @Test(arguments: Route.allCases)
    func callbackKeepsThePlaceAndCallsTheCitizenBack(_ route: Route) async throws {
        try await Harness.run(route: route) { h in
            let channel = try await h.dial("+998977654321")
            try await h.press("0", on: channel)
            let id = try #require(h.callId(channel))
            try await h.until("callback offered") {
                await h.played("callback-offer") > 0
            }
            try await h.press("1", on: channel)
            try await h.until("the caller is let go") { await !h.sim.channelIds().contains(channel) }
            #expect(await h.center.queueSnapshot() == [id])
            // The journal writes in groups (a few milliseconds behind the call flow).
            try await h.until("the callback request is stored") { await h.store.calls[id]?.outcome == .callbackRequested }
            try await h.ready(1)
            try await h.until("the callback connects", timeout: .seconds(6)) {
                let outcome = await h.store.calls[id]?.outcome
                let state = await h.agentState(1)
                return outcome == .callbackDone && state == .onCall
            }
            let dialled = await h.requests("POST", containing: "/channels").compactMap { $0.query["endpoint"] }
            #expect(dialled.contains("PJSIP/998977654321@trunk"))
            let citizen = try #require(await h.sim.channelIds().first { $0.hasPrefix("cb-") })
            try await h.sim.remoteHangup(citizen)
            try await h.until("callback call ends") { await h.store.calls[id]?.endedAt != nil }
            let call = try #require(await h.store.calls[id])
            #expect(call.outcome == .callbackDone && call.callbackNumber == "+998977654321" && call.operatorId == 1)
            #expect(await h.center.channels.isEmpty)
        }
    }

    @Test func operatorHangsUpFirst() async throws {
        try await Harness.run { h in
            try await h.ready(1)
            let channel = try await h.dial()
            try await h.press("0", on: channel)
            try await h.until("operator answers") { await h.agentState(1) == .onCall }
            let leg = try #require(await h.sim.channelIds().first { $0.hasPrefix("op-") })
            try await h.sim.remoteHangup(leg)
            let call = try await h.ended(channel)
            #expect(call.outcome == .answered && call.hangupSide == .operator)
            try await h.until("the citizen is hung up too") { await !h.sim.channelIds().contains(channel) }
        }
    }

    @Test func agentStateRules() async throws {
        try await Harness.run { h in
            try await h.center.setAgentState(1, .paused, reason: "lunch")
            #expect(await h.center.agentSnapshot().first { $0.id == 1 }?.pauseReason == "lunch")
            await #expect(throws: CallCenter.AgentStateError.unknownOperator) { try await h.center.setAgentState(99, .ready) }
            await #expect(throws: CallCenter.AgentStateError.busy) { try await h.center.setAgentState(1, .onCall) }
            try await h.ready(1)
            let channel = try await h.dial()
            try await h.press("0", on: channel)
            try await h.until("operator answers") { await h.agentState(1) == .onCall }
            await #expect(throws: CallCenter.AgentStateError.busy) { try await h.center.setAgentState(1, .paused) }
            try await h.sim.remoteHangup(channel)
            _ = try await h.ended(channel)
            try await h.until("journal written") { await h.journal.flush() }
            let states = await h.store.agentStates.filter { $0.0 == 1 }.map(\.1)
            #expect(states == [.paused, .ready, .ringing, .onCall, .wrapUp, .ready] || states.starts(with: [.paused, .ready, .ringing, .onCall, .wrapUp]))
        }
    }
}
