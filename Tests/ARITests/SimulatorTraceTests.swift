import ARI
import TestSupport
import AsteriskSimulator
import Foundation
import Testing

/// Drives the simulator through the four scenarios recorded on a real Asterisk 22.10.1
/// (shared/ari-spec/traces) and compares the events, in order and field by field.
@Suite("Simulator against traces of a real Asterisk")
struct SimulatorTraceTests {
    /// Events whose interleaving varies between runs on a real Asterisk (traces/README.md).
    static let unordered: Set<String> = ["ChannelVarset", "ChannelConnectedLine"]

    struct TraceEvent { var type: String; var keys: [String: String] }

    static func traceEvents(_ name: String) throws -> [TraceEvent] {
        let url = ARISpec.resources().appendingPathComponent("traces/\(name).json")
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        return entries.filter { $0["kind"] as? String == "event" }.map {
            TraceEvent(type: $0["type"] as! String, keys: $0["keys"] as? [String: String] ?? [:])
        }
    }

    /// Field paths with JSON types, in the traces' notation (`channel.caller.name: string`, `args[]`).
    static func flatten(_ value: Any, path: String, into keys: inout [String: String]) {
        switch value {
        case let object as [String: Any]:
            if !path.isEmpty { keys[path] = "object" }
            for (k, v) in object { flatten(v, path: path.isEmpty ? k : "\(path).\(k)", into: &keys) }
        case let array as [Any]:
            keys[path] = "array"
            for element in array { flatten(element, path: path + "[]", into: &keys) }
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { keys[path] = "boolean" }
            else { keys[path] = number.stringValue.contains(".") ? "number" : "integer" }
        case is String:
            keys[path] = "string"
        default:
            keys[path] = "null"
        }
    }

    static func compare(_ ours: [ARIEvent], with trace: [TraceEvent]) throws {
        let expected = trace.filter { !unordered.contains($0.type) }
        var actual: [(String, [String: String])] = []
        for event in ours where !unordered.contains(event.type) {
            let message = ARIEventMessage(application: "murojaat", timestamp: "t", asteriskId: "a", event: event)
            var keys: [String: String] = [:]
            flatten(try JSONSerialization.jsonObject(with: message.encoded()), path: "", into: &keys)
            actual.append((event.type, keys))
        }
        #expect(actual.map(\.0) == expected.map(\.type))
        for (ours, theirs) in zip(actual, expected) where ours.0 == theirs.type {
            let missing = theirs.keys.filter { ours.1[$0.key] != $0.value }.map(\.key).sorted()
            let extra = ours.1.filter { theirs.keys[$0.key] == nil }.map(\.key).sorted()
            #expect(missing.isEmpty && extra.isEmpty, "\(ours.0): missing \(missing), extra \(extra)")
        }
    }

    @Test func inboundAnswerPlayHangup() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let id = try await sim.placeCall(from: "5551234", to: "1000", callerName: "sipp caller")
                try await events.waitFor("StasisStart")
                try await client.answer(id)
                _ = try await client.play(channel: id, media: ["sound:hello-world"], playbackId: "playback1")
                try await events.waitFor("PlaybackFinished")
                try await client.hangup(id)
                try await events.waitFor("StasisEnd")
                await #expect(throws: ARIError.notFound("Channel not found")) { try await client.channel(id) }
                try Self.compare(events.events, with: Self.traceEvents("inbound_answer_play_hangup"))
            }
        }
    }

    @Test func dtmf() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let id = try await sim.placeCall(from: "5551234", to: "1000", callerName: "sipp caller")
                try await events.waitFor("StasisStart")
                try await client.answer(id)
                try await sim.pressDigits("12#", on: id)
                try await events.waitFor("ChannelDtmfReceived", count: 3)
                try await client.hangup(id)
                try await events.waitFor("StasisEnd")
                try Self.compare(events.events, with: Self.traceEvents("dtmf"))
            }
        }
    }

    @Test func bridgeOperatorRecord() async throws {
        try await withSimulator { sim, ari in
            await sim.setPhone("op101", PhoneBehaviour(mode: .answer, answerAfterMs: 1000))
            let client = ARIClient(configuration: ari)
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "5551234", to: "1000", callerName: "sipp caller")
                try await events.waitFor("StasisStart")
                try await client.answer(caller)
                _ = try await client.createBridge(types: [.mixing], bridgeId: "bridge1", name: "golden-bridge")
                try await client.subscribe(eventSource: "bridge:bridge1")
                try await client.addChannel(bridge: "bridge1", channels: [caller])
                try await events.waitFor("ChannelEnteredBridge")
                _ = try await client.originate(OriginateParameters(endpoint: "PJSIP/op101", channelId: "chan2", appArgs: "operator",
                                                                   callerId: "Call Center <5000>", timeout: 20))
                try await events.waitFor("StasisStart", count: 2)
                try await client.addChannel(bridge: "bridge1", channels: ["chan2"])
                try await events.waitFor("ChannelEnteredBridge", count: 2)
                _ = try await client.record(bridge: "bridge1", name: "rec1", format: "wav", ifExists: .overwrite)
                try await events.waitFor("RecordingStarted")
                try await client.hangup(caller)
                try await events.waitFor("StasisEnd")
                #expect(try await client.bridge("bridge1").channels == ["chan2"])
                try await client.hangup("chan2")
                try await events.waitFor("ChannelDestroyed")
                #expect(try await client.bridge("bridge1").channels == [])
                await #expect(throws: ARIError.notFound("Recording not found")) { try await client.liveRecording("rec1") }
                try await client.destroyBridge("bridge1")
                try await events.waitFor("BridgeDestroyed")
                #expect(try await client.storedRecording("rec1").format == "wav")
                try Self.compare(events.events, with: Self.traceEvents("bridge_operator_record"))
            }
        }
    }

    struct Probe: Sendable { var method: String; var path: String; var params: [String: String]; var status: Int; var message: String }

    static func errorProbes() throws -> [Probe] {
        let url = ARISpec.resources().appendingPathComponent("traces/errors.json")
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        var probes: [Probe] = []
        for (index, entry) in entries.enumerated() where entry["kind"] as? String == "request" && entry["auth"] == nil {
            guard let response = entries[(index + 1)..<entries.count].first(where: { $0["kind"] as? String == "response" }),
                  let status = response["status"] as? Int else { continue }
            let values = response["values"] as? [String: String] ?? [:]
            probes.append(Probe(method: entry["method"] as! String, path: entry["path"] as! String,
                                params: entry["params"] as? [String: String] ?? [:], status: status,
                                message: values["message"] ?? values["error"] ?? ""))
        }
        return probes
    }

    @Test func errorProbesAnswerAsAsteriskDid() async throws {
        // errors.json: every request with its status and body, replayed against the simulator.
        let probes = try Self.errorProbes()
        try await withSimulator(.testing(scale: 1)) { sim, ari in
            try await withEvents(ari) { events, _ in
                let caller = try await sim.placeCall(from: "5551234", to: "1000")
                try await events.waitFor("StasisStart")
                let http = HTTPARITransport(configuration: ari)
                _ = try await http.send(ARIRequest(.POST, "/channels/\(caller)/answer"))
                var compared = 0
                for probe in probes {
                    let path = probe.path.replacingOccurrences(of: "chan1", with: caller).replacingOccurrences(of: "callcenter", with: "murojaat")
                    if path.hasSuffix("/answer") && probe.status == 204 { continue }
                    var params = probe.params
                    if params["app"] != nil { params["app"] = "murojaat" }
                    if params["channelId"] == "chan1" { params["channelId"] = caller }
                    let request = ARIRequest(ARIMethod(rawValue: probe.method)!, path, query: params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                    var got = 0
                    var message = ""
                    do { got = try await http.send(request).status } catch let error as ARIError {
                        got = error.status ?? 0
                        message = "\(error)"
                    }
                    #expect(got == probe.status, "\(probe.method) \(path) \(params): \(got) vs \(probe.status)")
                    #expect(probe.message.isEmpty || message.contains(probe.message), "\(path): \(message) vs \(probe.message)")
                    compared += 1
                    if path.hasSuffix("/stop") || path.hasSuffix("/control") { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(compared >= 20)
            }
        }
    }
}
