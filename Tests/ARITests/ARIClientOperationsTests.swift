import ARI
import TestSupport
import AsteriskSimulator
import Foundation
import Synchronization
import Testing

@Suite("ARI client against the simulator over HTTP and WebSocket")
struct ARIClientOperationsTests {
    @Test func asteriskInfoPingModulesAndVariables() async throws {
        try await withSimulator { _, ari in
            let client = ARIClient(configuration: ari)
            let info = try await client.asteriskInfo()
            #expect(info.system?.version == "22.10.1")
            let only = try await client.asteriskInfo(only: ["system"])
            #expect(only.build == nil && only.system != nil)
            #expect(try await client.ping().ping == "pong")
            #expect(try await client.modules().contains { $0.name == "res_stasis_snoop.so" })
            #expect(try await client.module("app_stasis.so").status == "Running")
            // As Asterisk 22: a loaded module asked for without `.so` is "loaded" but its information is not found.
            await #expect(throws: ARIError.conflict("Module information could not be retrieved")) { try await client.module("app_stasis") }
            await #expect(throws: ARIError.notFound("Module could not be found in running modules")) { try await client.module("res_nothing") }
            try await client.setGlobalVariable("CC_MODE", value: "holiday")
            #expect(try await client.globalVariable("CC_MODE") == "holiday")
        }
    }

    @Test func inboundCallAnswerPlayDTMFAndHangup() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let id = try await sim.placeCall(from: "+998901234567", to: "1000")
                try await events.waitFor("StasisStart")
                guard case .stasisStart(let start) = events.events.first else { Issue.record("no StasisStart"); return }
                #expect(start.args == ["inbound", "1000"])
                #expect(start.channel.state == "Ring")
                #expect(start.channel.caller.number == "+998901234567")
                #expect(try await client.channels().map(\.id) == [id])

                try await client.answer(id)
                #expect(try await client.channel(id).state == "Up")
                try await client.ring(id)
                try await client.ringStop(id)

                let playback = try await client.play(channel: id, media: ["sound:hello-world", "sound:beep"], lang: "uz", playbackId: "pb-1")
                #expect(playback.id == "pb-1")
                #expect(playback.targetUri == "channel:\(id)")
                try await events.waitFor("PlaybackContinuing")
                #expect(events.events.last { $0.type == "PlaybackContinuing" }?.playback?.mediaUri == "sound:beep")
                try await events.waitFor("PlaybackFinished")
                await #expect(throws: ARIError.notFound("Playback not found")) { try await client.playback("pb-1") }

                try await sim.pressDigits("12#", on: id)
                try await events.waitFor("ChannelDtmfReceived", count: 3)
                let digits = events.events.compactMap { if case .channelDtmfReceived(let d) = $0 { d.digit } else { nil } }
                #expect(digits == ["1", "2", "#"])

                try await client.sendDTMF(channel: id, dtmf: "5", between: 100, duration: 120)
                try await client.mute(channel: id, direction: .in)
                try await client.unmute(channel: id)
                try await client.hold(channel: id)
                try await client.unhold(channel: id)
                try await client.startMusicOnHold(channel: id, mohClass: "default")
                try await client.stopMusicOnHold(channel: id)
                try await client.setVariable(channel: id, "MUROJAAT_CALL", value: "c-1")
                #expect(try await client.variable(channel: id, "MUROJAAT_CALL") == "c-1")

                try await client.hangup(id, reason: "normal")
                try await events.waitFor("StasisEnd")
                let tail = events.types.filter { $0 != "ChannelVarset" }.suffix(2)
                #expect(Array(tail) == ["ChannelHangupRequest", "StasisEnd"])
                guard case .channelHangupRequest(let request)? = events.events.first(where: { $0.type == "ChannelHangupRequest" }) else { return }
                #expect(request.cause == 32 && request.soft == true)
                // An inbound channel hung up over ARI gets no ChannelDestroyed (BEHAVIOUR.md).
                #expect(!events.types.contains("ChannelDestroyed"))
                await #expect(throws: ARIError.notFound("Channel not found")) { try await client.channel(id) }
            }
        }
    }

    /// `PUT /applications/{name}/eventFilter` as Asterisk's res/stasis/app.c applies it: the body is the
    /// filter, an object updates only the lists it names, `{}` or no body clears both, entries need a `type`.
    @Test func eventFilterLimitsWhatTheSocketCarries() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            let http = HTTPARITransport(configuration: ari)
            @Sendable func put(_ body: String?) async throws -> ARIResponse {
                try await http.send(ARIRequest(.PUT, "/applications/{applicationName}/eventFilter",
                                               path: ["applicationName": ari.application], body: body.map { Data($0.utf8) }))
            }
            try await withEvents(ari) { events, _ in
                await #expect(throws: ARIError.notFound("Application not found")) {
                    try await ARIClient(transport: http, application: "nobody").setEventFilter(allowed: ["StasisStart"])
                }
                let app = try await client.setEventFilter(allowed: ["StasisStart", "StasisEnd"])
                #expect(app.eventsAllowed == [.object(["type": .string("StasisStart")]), .object(["type": .string("StasisEnd")])])
                #expect(app.eventsDisallowed == [])

                let id = try await sim.placeCall(from: "+998901234567", to: "1000")
                try await events.waitFor("StasisStart")
                try await client.answer(id)
                try await client.setVariable(channel: id, "X", value: "1")
                try await client.play(channel: id, media: ["sound:beep"], playbackId: "pb-f")
                try await sim.pressDigits("1", on: id)
                try await client.hangup(id)
                try await events.waitFor("StasisEnd")
                #expect(events.types == ["StasisStart", "StasisEnd"])

                // Only "disallowed" named: "allowed" is kept; disallowed wins over allowed.
                let both = try JSONDecoder().decode(Application.self, from: try await put(#"{"disallowed":[{"type":"StasisEnd"}]}"#).body)
                #expect(both.eventsAllowed.count == 2 && both.eventsDisallowed == [.object(["type": .string("StasisEnd")])])
                let second = try await sim.placeCall(from: "+998901234568", to: "1000")
                try await events.waitFor("StasisStart", count: 2)
                try await client.hangup(second)
                try await Task.sleep(for: .milliseconds(100))
                #expect(events.types == ["StasisStart", "StasisEnd", "StasisStart"])

                // Malformed filters are refused and change nothing.
                for body in [#"{"allowed":[{"name":"StasisEnd"}]}"#, #"{"allowed":"StasisEnd"}"#, #"{"allowed":[{"type":""}]}"#, "42", "null"] {
                    await #expect(throws: ARIError.badRequest("Invalid format definition")) { try await put(body) }
                }
                await #expect(throws: ARIError.badRequest("Error parsing request body")) { try await put("{\"allowed\":") }
                #expect(try await client.applicationDetails().eventsDisallowed.count == 1)

                // No body clears both lists: every event flows again.
                let cleared = try JSONDecoder().decode(Application.self, from: try await put(nil).body)
                #expect(cleared.eventsAllowed == [] && cleared.eventsDisallowed == [])
                let third = try await sim.placeCall(from: "+998901234569", to: "1000")
                try await events.waitFor("StasisStart", count: 3)
                try await client.answer(third)
                try await events.waitFor("ChannelStateChange")
                try await client.hangup(third)
            }
        }
    }

    /// As Asterisk 22.10.1 was seen to do: creating a bridge does not subscribe the app, adding a channel of
    /// the app does (two references per channel, so a DELETE per reference), and then the bridge
    /// recording's events reach the app with no subscription request.
    @Test func addingAChannelSubscribesItsAppToTheBridge() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "+998935550001", to: "1000")
                try await events.waitFor("StasisStart")
                _ = try await client.createBridge(types: [.mixing], bridgeId: "b1", name: nil)
                #expect(try await client.applicationDetails().bridgeIds.isEmpty)
                try await client.addChannel(bridge: "b1", channels: [caller])
                #expect(try await client.applicationDetails().bridgeIds == ["b1"])
                _ = try await client.record(bridge: "b1", name: "r-auto", format: "wav", ifExists: .overwrite)
                try await events.waitFor("RecordingStarted")
                try await client.stopRecording("r-auto")
                try await events.waitFor("RecordingFinished")
                // Two references for the one channel: the first DELETE leaves the subscription in place.
                _ = try await client.send(ARIRequest(.DELETE, "/applications/{app}/subscription", path: ["app": "murojaat"], query: [("eventSource", "bridge:b1")]))
                #expect(try await client.applicationDetails().bridgeIds == ["b1"])
                _ = try await client.send(ARIRequest(.DELETE, "/applications/{app}/subscription", path: ["app": "murojaat"], query: [("eventSource", "bridge:b1")]))
                #expect(try await client.applicationDetails().bridgeIds.isEmpty)
                // Not subscribed any more: 422, as res/ari/resource_applications.c answers.
                await #expect(throws: ARIError.unprocessable("Event source was not subscribed to")) {
                    _ = try await client.send(ARIRequest(.DELETE, "/applications/{app}/subscription", path: ["app": "murojaat"], query: [("eventSource", "bridge:b1")]))
                }
                // A list with a missing source changes nothing.
                await #expect(throws: ARIError.unprocessable("Event source does not exist")) { _ = try await client.subscribe(eventSource: "bridge:b1,bridge:nope") }
                #expect(try await client.applicationDetails().bridgeIds.isEmpty)
                // Unsubscribed, a bridge recording's events no longer reach the app.
                _ = try await client.record(bridge: "b1", name: "r-silent", format: "wav", ifExists: .overwrite)
                try await client.stopRecording("r-silent")
                try await Task.sleep(for: .milliseconds(100))
                #expect(events.events.filter { $0.type == "RecordingStarted" }.count == 1)
            }
        }
    }

    /// A playback stopped while still queued behind another finishes "done" with no PlaybackStarted, and
    /// one playback of several media stopped while the first plays does not go on to the next.
    @Test func stoppedQueuedAndMultiMediaPlaybacks() async throws {
        // Real time, so the first sound is surely still playing when it is stopped on a loaded machine.
        try await withSimulator(.testing(scale: 1)) { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "+998935550002", to: "1000")
                try await events.waitFor("StasisStart")
                try await client.answer(caller)
                _ = try await client.play(channel: caller, media: ["sound:hello-world", "sound:demo-congrats"], playbackId: "pb-a")
                _ = try await client.play(channel: caller, media: ["sound:beep"], playbackId: "pb-b")
                try await events.waitFor("PlaybackStarted")
                try await client.stopPlayback("pb-b")
                try await client.stopPlayback("pb-a")
                try await events.waitFor("PlaybackFinished", count: 2)
                let finished = events.events.compactMap { if case .playbackFinished(let e) = $0 { e.playback } else { nil } }
                #expect(Set(finished.map(\.id)) == ["pb-a", "pb-b"] && finished.allSatisfy { $0.state == "done" })
                let started = events.events.compactMap { if case .playbackStarted(let e) = $0 { e.playback.id } else { nil } }
                #expect(started == ["pb-a"])
                #expect(!events.events.contains { $0.type == "PlaybackContinuing" })
            }
        }
    }

    @Test func bridgeOperatorRecordingAndStoredFile() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "+998935550000", to: "1000")
                try await events.waitFor("StasisStart")
                try await client.answer(caller)
                let bridge = try await client.createBridge(types: [.mixing], bridgeId: "call-1", name: "call-1")
                #expect(bridge.technology == "simple_bridge" && bridge.bridgeType == "mixing")
                let app = try await client.subscribe(eventSource: "bridge:call-1")
                #expect(app.bridgeIds == ["call-1"])
                try await client.addChannel(bridge: "call-1", channels: [caller])
                try await events.waitFor("ChannelEnteredBridge")

                let op = try await client.originate(OriginateParameters(endpoint: "PJSIP/101", channelId: "op-1", appArgs: "operator,call-1",
                                                                         callerId: "Fuqaro <+998935550000>", timeout: 15))
                #expect(op.id == "op-1" && op.state == "Down" && op.caller.number == "+998935550000")
                try await events.waitFor("StasisStart", count: 2)
                let dials = events.events.compactMap { if case .dial(let d) = $0 { d.dialstatus } else { nil } }
                #expect(dials == ["", "RINGING", "ANSWER"])
                guard case .stasisStart(let opStart)? = events.events.last(where: { $0.type == "StasisStart" }) else { return }
                #expect(opStart.args == ["operator", "call-1"])

                try await client.addChannel(bridge: "call-1", channels: ["op-1"], role: "participant")
                try await events.waitFor("ChannelEnteredBridge", count: 2)
                #expect(try await client.bridge("call-1").channels == [caller, "op-1"])
                #expect(try await client.bridges().count == 1)

                let recording = try await client.record(bridge: "call-1", name: "call-1", format: "wav", ifExists: .overwrite)
                #expect(recording.targetUri == "bridge:call-1")
                try await events.waitFor("RecordingStarted")
                #expect(try await client.liveRecording("call-1").state == "recording")
                try await client.pauseRecording("call-1")
                try await client.unpauseRecording("call-1")
                try await client.muteRecording("call-1")
                try await client.unmuteRecording("call-1")
                try await Task.sleep(for: .milliseconds(30))

                try await sim.remoteHangup(caller)
                try await events.waitFor("StasisEnd")
                try await client.hangup("op-1")
                try await events.waitFor("RecordingFinished")
                try await events.waitFor("ChannelDestroyed")
                await #expect(throws: ARIError.notFound("Recording not found")) { try await client.liveRecording("call-1") }
                try await client.destroyBridge("call-1")
                try await events.waitFor("BridgeDestroyed")

                #expect(try await client.storedRecordings().map(\.name) == ["call-1"])
                #expect(try await client.storedRecording("call-1").format == "wav")
                let file = try await client.storedRecordingFile("call-1")
                #expect(file.contentType == "audio/wav")
                let bytes = try await file.collect(upTo: 50 << 20)
                #expect(bytes.prefix(4) == Data("RIFF".utf8))
                #expect(bytes.count > 44)
                // Downloaded into a file: the same bytes; a missing recording or folder leaves no file.
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID())").path
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: folder) }
                #expect(try await client.downloadStoredRecording("call-1", toFile: folder + "/a.wav") == bytes.count)
                #expect(FileManager.default.contents(atPath: folder + "/a.wav") == bytes)
                await #expect(throws: ARIError.notFound("Recording not found")) {
                    try await client.downloadStoredRecording("nope", toFile: folder + "/b.wav")
                }
                #expect(!FileManager.default.fileExists(atPath: folder + "/b.wav"))
                do {
                    _ = try await client.downloadStoredRecording("call-1", toFile: folder + "/missing/c.wav")
                    Issue.record("a file in a missing folder was written")
                } catch let failure as DownloadFile.Failure {
                    #expect(failure.isMissingFolder)
                }
                // Handed over without a task (the call flow's way): copies started together, each completion
                // once, with the bytes or the error.
                let results = Mutex<[String: Result<Int, any Error>]>([:])
                let names = ["d1", "d2", "d3", "d4", "nope"]
                for name in names {
                    client.downloadStoredRecording(name == "nope" ? "nope" : "call-1", toFile: folder + "/\(name).wav") { result in
                        results.withLock { $0[name] = $0[name] == nil ? result : .failure(ARIError.transport("completed twice")) }
                    }
                }
                let clock = ContinuousClock(), deadline = clock.now + .seconds(10)
                while results.withLock({ $0.count }) < names.count && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                for name in names.dropLast() {
                    #expect(try results.withLock { $0[name] }?.get() == bytes.count)
                    #expect(FileManager.default.contents(atPath: folder + "/\(name).wav") == bytes)
                }
                #expect(throws: ARIError.notFound("Recording not found")) { try results.withLock { $0["nope"] }?.get() }
                #expect(!FileManager.default.fileExists(atPath: folder + "/nope.wav"))
                let copy = try await client.copyStoredRecording("call-1", to: "call-1-copy")
                #expect(copy.name == "call-1-copy")
                await #expect(throws: ARIError.conflict("A recording with the same name already exists on the system")) {
                    try await client.copyStoredRecording("call-1", to: "call-1-copy")
                }
                try await client.deleteStoredRecording("call-1")
                try await client.deleteStoredRecording("call-1-copy")
                #expect(try await client.storedRecordings().isEmpty)
            }
        }
    }

    @Test func operatorPhonesThatDoNotAnswerAreBusyOrOffline() async throws {
        try await withSimulator { _, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                _ = try await client.originate(OriginateParameters(endpoint: "PJSIP/102", channelId: "na-1", timeout: 1))
                try await events.waitFor("ChannelDestroyed")
                guard case .channelDestroyed(let destroyed)? = events.events.last else { return }
                #expect(destroyed.cause == 19 && destroyed.causeTxt == "User alerting, no answer" && destroyed.techCause == 480)
                #expect(!events.types.contains("StasisStart") && !events.types.contains("ChannelHangupRequest"))

                _ = try await client.originate(OriginateParameters(endpoint: "PJSIP/103", channelId: "busy-1"))
                try await events.waitFor("ChannelDestroyed", count: 2)
                guard case .channelDestroyed(let busy)? = events.events.last else { return }
                #expect(busy.cause == 17)

                await #expect(throws: ARIError.server(status: 500, message: "Allocation failed")) {
                    try await client.originate(OriginateParameters(endpoint: "PJSIP/104"))
                }
                await #expect(throws: ARIError.server(status: 500, message: "Allocation failed")) {
                    try await client.originate(OriginateParameters(endpoint: "PJSIP/nobody"))
                }
                #expect(try await client.endpoint(technology: "PJSIP", resource: "104").state == "offline")
                #expect(try await client.endpoint(technology: "PJSIP", resource: "101").state == "online")
                #expect(try await client.endpoints().count >= 4)
                #expect(try await client.endpoints(technology: "PJSIP").count >= 4)
                await #expect(throws: ARIError.notFound("Endpoint not found")) { try await client.endpoint(technology: "PJSIP", resource: "999") }
            }
        }
    }

    @Test func snoopWhisperExternalMediaContinueAndChannelRecording() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "+998971112233", to: "1000")
                try await events.waitFor("StasisStart")
                try await client.answer(caller)
                let snoop = try await client.snoop(channel: caller, spy: .both, whisper: .out, snoopId: "snoop-1", appArgs: "listen")
                #expect(snoop.id == "snoop-1")
                try await events.waitFor("StasisStart", count: 2)

                let live = try await client.record(channel: caller, name: "msg-1", format: "wav", maxDurationSeconds: 60, beep: true, terminateOn: "#")
                #expect(live.state == "queued")
                // A play while recording queues behind the recording.
                _ = try await client.play(channel: caller, media: ["sound:beep"], playbackId: "after-rec")
                try await events.waitFor("RecordingStarted")
                #expect(!events.types.contains("PlaybackStarted"))
                try await client.stopRecording("msg-1")
                try await events.waitFor("RecordingFinished")
                try await events.waitFor("PlaybackStarted")

                _ = try await client.record(channel: caller, name: "msg-2", format: "wav")
                try await events.waitFor("RecordingStarted", count: 2)
                try await client.cancelRecording("msg-2")
                await #expect(throws: ARIError.notFound("Recording not found")) { try await client.storedRecording("msg-2") }

                let media = try await client.externalMedia(channelId: "em-1", externalHost: "127.0.0.1:4000", format: "ulaw")
                #expect(media.id == "em-1")
                try await client.hangup("em-1")

                try await sim.remoteHangup(caller)
                try await events.wait(for: "both StasisEnd") { $0.filter { $0.type == "StasisEnd" }.count >= 2 }
            }
        }
    }

    @Test func playbackControlStopAndApplications() async throws {
        try await withSimulator(.testing(scale: 1)) { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "+998901112233", to: "1000")
                try await events.waitFor("StasisStart")
                try await client.answer(caller)
                _ = try await client.play(channel: caller, media: ["sound:demo-congrats"], playbackId: "pb-2")
                try await events.waitFor("PlaybackStarted")
                try await client.controlPlayback("pb-2", operation: .pause)
                try await client.controlPlayback("pb-2", operation: .unpause)
                try await client.controlPlayback("pb-2", operation: .restart)
                try await client.stopPlayback("pb-2")
                try await events.waitFor("PlaybackFinished")
                guard case .playbackFinished(let finished)? = events.events.last(where: { $0.type == "PlaybackFinished" }) else { return }
                #expect(finished.playback.state == "done")

                _ = try await client.play(channel: caller, media: ["sound:g-no-such-sound"])
                try await events.waitFor("PlaybackFinished", count: 2)
                guard case .playbackFinished(let failed)? = events.events.last else { return }
                #expect(failed.playback.state == "failed")

                let apps = try await client.applications()
                #expect(apps.map(\.name) == ["murojaat"])
                #expect(try await client.applicationDetails().channelIds == [caller])
                _ = try await client.subscribe(eventSource: "endpoint:PJSIP/101")
                _ = try await client.unsubscribe(eventSource: "endpoint:PJSIP/101")
                #expect(try await client.sounds().contains { $0.id == "hello-world" })
                #expect(try await client.sound("beep").formats.first?.format == "wav")
                try await client.continueInDialplan(channel: caller, context: "from-trunk", extension: "s", priority: 1)
                try await events.waitFor("StasisEnd")
            }
        }
    }
}
