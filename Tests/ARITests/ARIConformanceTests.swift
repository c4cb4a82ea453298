import ARI
import TestSupport
import Foundation
import Testing

/// Records every request instead of sending it.
final class RecordingTransport: ARITransport, @unchecked Sendable {
    private let lock = NSLock()
    private var _requests: [ARIRequest] = []
    var requests: [ARIRequest] { lock.withLock { _requests } }
    struct Stop: Error {}

    func send(_ request: ARIRequest) async throws -> ARIResponse {
        lock.withLock { _requests.append(request) }
        throw Stop()
    }
    func stream(_ request: ARIRequest) async throws -> ARIStreamedResponse {
        lock.withLock { _requests.append(request) }
        throw Stop()
    }
}

@Suite("Conformance with Asterisk's ARI swagger files")
struct ARIConformanceTests {
    /// Calls every REST operation the client implements, with every optional parameter set.
    static func exerciseClient(_ c: ARIClient) async {
        let calls: [@Sendable () async throws -> Void] = [
            { _ = try await c.asteriskInfo(only: ["build", "system"]) }, { _ = try await c.ping() }, { _ = try await c.modules() },
            { _ = try await c.module("res_ari.so") }, { _ = try await c.globalVariable("X") }, { try await c.setGlobalVariable("X", value: "1") },
            { _ = try await c.channels() }, { _ = try await c.channel("c") },
            { _ = try await c.originate(OriginateParameters(endpoint: "PJSIP/101", channelId: "c", otherChannelId: "o", appArgs: "a",
                                                            callerId: "n <1>", timeout: 15, variables: ["A": "1"], originator: "x", formats: "ulaw")) },
            { _ = try await c.originateToDialplan(endpoint: "PJSIP/1@trunk", context: "outbound-callback", extension: "1", callerId: "1",
                                                  timeout: 30, channelId: "c", variables: ["A": "1"]) },
            { try await c.hangup("c", reason: "normal") }, { try await c.answer("c") }, { try await c.ring("c") }, { try await c.ringStop("c") },
            { _ = try await c.play(channel: "c", media: ["sound:a", "sound:b"], lang: "uz", playbackId: "p") },
            { _ = try await c.record(channel: "c", name: "r", format: "wav", maxDurationSeconds: 5, maxSilenceSeconds: 2, ifExists: .overwrite,
                                     beep: true, terminateOn: "#") },
            { _ = try await c.snoop(channel: "c", spy: .both, whisper: .out, snoopId: "s", appArgs: "listen") },
            { try await c.sendDTMF(channel: "c", dtmf: "12", before: 1, between: 100, duration: 100, after: 1) },
            { try await c.mute(channel: "c", direction: .in) }, { try await c.unmute(channel: "c", direction: .both) },
            { try await c.hold(channel: "c") }, { try await c.unhold(channel: "c") },
            { try await c.startMusicOnHold(channel: "c", mohClass: "default") }, { try await c.stopMusicOnHold(channel: "c") },
            { _ = try await c.variable(channel: "c", "V") }, { try await c.setVariable(channel: "c", "V", value: "1") },
            { try await c.continueInDialplan(channel: "c", context: "x", extension: "s", priority: 1, label: "l") },
            { _ = try await c.externalMedia(channelId: "e", externalHost: "127.0.0.1:4000", format: "ulaw", encapsulation: "rtp",
                                            transport: "udp", direction: "both", variables: ["A": "1"]) },
            { _ = try await c.bridges() }, { _ = try await c.bridge("b") },
            { _ = try await c.createBridge(types: [.mixing, .dtmfEvents], bridgeId: "b", name: "n") }, { try await c.destroyBridge("b") },
            { try await c.addChannel(bridge: "b", channels: ["c"], role: "participant", absorbDTMF: true, mute: false) },
            { try await c.removeChannel(bridge: "b", channels: ["c"]) },
            { _ = try await c.play(bridge: "b", media: ["sound:a"], lang: "ru", playbackId: "p") },
            { _ = try await c.record(bridge: "b", name: "r", format: "wav", maxDurationSeconds: 1, maxSilenceSeconds: 1, ifExists: .fail,
                                     beep: false, terminateOn: "none") },
            { try await c.startMusicOnHold(bridge: "b", mohClass: "default") }, { try await c.stopMusicOnHold(bridge: "b") },
            { _ = try await c.playback("p") }, { try await c.stopPlayback("p") }, { try await c.controlPlayback("p", operation: .pause) },
            { _ = try await c.liveRecording("r") }, { try await c.stopRecording("r") }, { try await c.cancelRecording("r") },
            { try await c.pauseRecording("r") }, { try await c.unpauseRecording("r") }, { try await c.muteRecording("r") },
            { try await c.unmuteRecording("r") }, { _ = try await c.storedRecordings() }, { _ = try await c.storedRecording("r") },
            { _ = try await c.storedRecordingFile("r") }, { try await c.deleteStoredRecording("r") },
            { _ = try await c.copyStoredRecording("r", to: "r2") },
            { _ = try await c.endpoints() }, { _ = try await c.endpoints(technology: "PJSIP") },
            { _ = try await c.endpoint(technology: "PJSIP", resource: "101") },
            { _ = try await c.applications() }, { _ = try await c.applicationDetails() },
            { try await c.subscribe(eventSource: "bridge:b") }, { try await c.unsubscribe(eventSource: "bridge:b") },
            { _ = try await c.sounds(lang: "uz", format: "wav") }, { _ = try await c.sound("hello-world") },
        ]
        for call in calls { try? await call() }
    }

    @Test func everyRESTRequestMatchesTheSpec() async throws {
        let spec = try ARISpec.load()
        let transport = RecordingTransport()
        await Self.exerciseClient(ARIClient(transport: transport, application: "murojaat"))
        var violations: [String] = []
        for request in transport.requests {
            let label = "\(request.method.rawValue) \(request.template)"
            guard let op = spec.operations.first(where: { $0.method == request.method.rawValue && $0.path == request.template }) else {
                violations.append("\(label): no such operation")
                continue
            }
            let placeholders = Set(request.template.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
            let specPath = Set(op.parameters.filter { $0.paramType == "path" }.map(\.name))
            if placeholders != specPath { violations.append("\(label): path parameters \(placeholders) vs \(specPath)") }
            if Set(request.pathParameters.keys) != placeholders { violations.append("\(label): path parameters not all filled") }
            let queryNames = request.query.map(\.name)
            for (name, value) in request.query {
                guard let parameter = op.parameters.first(where: { $0.name == name && $0.paramType == "query" }) else {
                    violations.append("\(label): unknown query parameter \(name)")
                    continue
                }
                if let allowed = parameter.allowedValues {
                    let values = parameter.allowMultiple || parameter.dataType.hasPrefix("List[") ? value.split(separator: ",").map(String.init) : [value]
                    for v in values where !allowed.contains(v) { violations.append("\(label): \(name)=\(v) not in \(allowed)") }
                }
                if ["int", "long"].contains(parameter.dataType), Int(value) == nil { violations.append("\(label): \(name) not an integer") }
                if parameter.dataType == "boolean", !["true", "false"].contains(value) { violations.append("\(label): \(name) not a boolean") }
            }
            for parameter in op.parameters where parameter.required && parameter.paramType == "query" && !queryNames.contains(parameter.name) {
                violations.append("\(label): required \(parameter.name) missing")
            }
            if let body = request.body {
                let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
                let bodyParameters = Set(op.parameters.filter { $0.paramType == "body" }.map(\.name))
                for key in object.keys where !bodyParameters.contains(key) { violations.append("\(label): body field \(key) not in spec") }
            }
        }
        let operations = Set(transport.requests.map { "\($0.method.rawValue) \($0.template)" })
        print("ARI conformance: \(transport.requests.count) requests over \(operations.count) operations, \(violations.count) violations")
        #expect(operations.count >= 60)
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    @Test func eventsSocketParametersExist() throws {
        let spec = try ARISpec.load()
        let op = try #require(spec.operations.first { $0.path == "/events" && $0.method == "GET" })
        let url = ARIServerConfiguration(baseURL: "http://h/ari", username: "u", password: "p").eventsURL
        let names = url.split(separator: "?")[1].split(separator: "&").map { String($0.split(separator: "=")[0]) }
        for name in names { #expect(op.parameters.contains { $0.name == name }, "\(name)") }
    }

    /// Every event the decoder knows exists in events.json; a sample with every spec field decodes and
    /// re-encodes to the same JSON, so names and types match field for field.
    @Test func everyKnownEventRoundTripsTheSpecShape() throws {
        let spec = try ARISpec.load()
        var violations: [String] = []
        for type in ARIEvent.knownTypes {
            guard spec.eventModels.contains(type) else {
                violations.append("\(type): not in events.json")
                continue
            }
            let sample = spec.sample(type, eventName: type) as! [String: Any]
            let data = try JSONSerialization.data(withJSONObject: sample)
            do {
                let message = try ARIEventMessage.decode(data)
                if case .unknown = message.event { violations.append("\(type): decoded as unknown") }
                let back = try JSONSerialization.jsonObject(with: message.encoded()) as! [String: Any]
                violations += Self.differences(sample, back, path: type)
            } catch {
                violations.append("\(type): \(error)")
            }
        }
        print("ARI event conformance: \(ARIEvent.knownTypes.count) event types, \(violations.count) violations")
        #expect(ARIEvent.knownTypes.count >= 22)
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    @Test func restModelsRoundTripTheSpecShape() throws {
        let spec = try ARISpec.load()
        let decoder = ARICoding.decoder(), encoder = ARICoding.encoder()
        func check<T: Codable>(_ type: T.Type, _ name: String) throws -> [String] {
            let sample = spec.sample(name) as! [String: Any]
            let value = try decoder.decode(T.self, from: JSONSerialization.data(withJSONObject: sample))
            let back = try JSONSerialization.jsonObject(with: encoder.encode(value)) as! [String: Any]
            return Self.differences(sample, back, path: name)
        }
        var violations: [String] = []
        violations += try check(Channel.self, "Channel")
        violations += try check(Bridge.self, "Bridge")
        violations += try check(Playback.self, "Playback")
        violations += try check(LiveRecording.self, "LiveRecording")
        violations += try check(StoredRecording.self, "StoredRecording")
        violations += try check(Endpoint.self, "Endpoint")
        violations += try check(Application.self, "Application")
        violations += try check(AsteriskInfo.self, "AsteriskInfo")
        violations += try check(AsteriskPing.self, "AsteriskPing")
        violations += try check(Module.self, "Module")
        violations += try check(Sound.self, "Sound")
        violations += try check(DeviceState.self, "DeviceState")
        violations += try check(Variable.self, "Variable")
        print("ARI model conformance: 13 models, \(violations.count) violations")
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    static func differences(_ a: Any, _ b: Any, path: String) -> [String] {
        switch (a, b) {
        case (let x as [String: Any], let y as [String: Any]):
            var out: [String] = []
            for key in Set(x.keys).union(y.keys) {
                guard let xv = x[key] else { out.append("\(path).\(key): encoded but not in spec"); continue }
                guard let yv = y[key] else { out.append("\(path).\(key): in spec but not modelled"); continue }
                out += differences(xv, yv, path: "\(path).\(key)")
            }
            return out
        case (let x as [Any], let y as [Any]):
            guard x.count == y.count else { return ["\(path): list length"] }
            return zip(x, y).flatMap { differences($0, $1, path: path + "[]") }
        case (let x as NSNumber, let y as NSNumber):
            return x == y ? [] : ["\(path): \(x) became \(y)"]
        case (let x as String, let y as String):
            return x == y ? [] : ["\(path): \(x) became \(y)"]
        default:
            return ["\(path): type changed (\(type(of: a)) → \(type(of: b)))"]
        }
    }
}
