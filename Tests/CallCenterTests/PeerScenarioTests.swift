import ARI
import AsteriskSimulator
@testable import CallCenter
import Foundation
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
}
