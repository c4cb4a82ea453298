import ARI
import Foundation

/// One ARI operation the simulator serves: a method and a path template from Asterisk's swagger files.
struct SimulatorRoute: Sendable {
    var method: String
    var template: String
    var handler: @Sendable (isolated AsteriskSimulator, SimulatorParameters) throws -> SimulatorResponse

    /// Matches `/channels/abc/play` against `/channels/{channelId}/play`.
    func match(_ method: String, _ segments: [String]) -> [String: String]? {
        guard method == self.method else { return nil }
        let parts = template.split(separator: "/").map(String.init)
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (part, segment) in zip(parts, segments) {
            if part.hasPrefix("{") {
                parameters[String(part.dropFirst().dropLast())] = segment
            } else if part != segment {
                return nil
            }
        }
        return parameters
    }
}

extension AsteriskSimulator {
    static let routes: [SimulatorRoute] = [
        .init(method: "GET", template: "/asterisk/info") { $0.info($1) },
        .init(method: "GET", template: "/asterisk/ping") { sim, _ in sim.ping() },
        .init(method: "GET", template: "/asterisk/modules") { _, _ in .json(AsteriskSimulator.modules) },
        .init(method: "GET", template: "/asterisk/modules/{moduleName}") { try $0.module($1) },
        .init(method: "GET", template: "/asterisk/variable") { try $0.getGlobal($1) },
        .init(method: "POST", template: "/asterisk/variable") { try $0.setGlobal($1) },

        .init(method: "GET", template: "/channels") { sim, _ in sim.listChannels() },
        .init(method: "POST", template: "/channels") { try $0.originate($1) },
        .init(method: "POST", template: "/channels/externalMedia") { try $0.externalMedia($1) },
        .init(method: "GET", template: "/channels/{channelId}") { try $0.getChannel($1) },
        .init(method: "POST", template: "/channels/{channelId}") { try $0.originate($1) },
        .init(method: "DELETE", template: "/channels/{channelId}") { try $0.hangup($1) },
        .init(method: "POST", template: "/channels/{channelId}/answer") { try $0.answer($1) },
        .init(method: "POST", template: "/channels/{channelId}/ring") { try $0.ring($1, on: true) },
        .init(method: "DELETE", template: "/channels/{channelId}/ring") { try $0.ring($1, on: false) },
        .init(method: "POST", template: "/channels/{channelId}/continue") { try $0.continueInDialplan($1) },
        .init(method: "POST", template: "/channels/{channelId}/dtmf") { try $0.simpleChannelOperation($1, requires: "dtmf") },
        .init(method: "POST", template: "/channels/{channelId}/mute") { try $0.simpleChannelOperation($1) },
        .init(method: "DELETE", template: "/channels/{channelId}/mute") { try $0.simpleChannelOperation($1) },
        .init(method: "POST", template: "/channels/{channelId}/hold") { try $0.simpleChannelOperation($1) },
        .init(method: "DELETE", template: "/channels/{channelId}/hold") { try $0.simpleChannelOperation($1) },
        .init(method: "POST", template: "/channels/{channelId}/moh") { try $0.simpleChannelOperation($1) },
        .init(method: "DELETE", template: "/channels/{channelId}/moh") { try $0.simpleChannelOperation($1) },
        .init(method: "POST", template: "/channels/{channelId}/silence") { try $0.simpleChannelOperation($1) },
        .init(method: "DELETE", template: "/channels/{channelId}/silence") { try $0.simpleChannelOperation($1) },
        .init(method: "POST", template: "/channels/{channelId}/play") { try $0.play($1, onBridge: false) },
        .init(method: "POST", template: "/channels/{channelId}/play/{playbackId}") { try $0.play($1, onBridge: false) },
        .init(method: "POST", template: "/channels/{channelId}/record") { try $0.record($1, onBridge: false) },
        .init(method: "GET", template: "/channels/{channelId}/variable") { try $0.getVariable($1) },
        .init(method: "POST", template: "/channels/{channelId}/variable") { try $0.setVariable($1) },
        .init(method: "POST", template: "/channels/{channelId}/snoop") { try $0.snoop($1) },
        .init(method: "POST", template: "/channels/{channelId}/snoop/{snoopId}") { try $0.snoop($1) },

        .init(method: "GET", template: "/bridges") { sim, _ in sim.listBridges() },
        .init(method: "POST", template: "/bridges") { try $0.createBridge($1) },
        .init(method: "GET", template: "/bridges/{bridgeId}") { try $0.getBridge($1) },
        .init(method: "POST", template: "/bridges/{bridgeId}") { try $0.createBridge($1) },
        .init(method: "DELETE", template: "/bridges/{bridgeId}") { try $0.destroyBridge($1) },
        .init(method: "POST", template: "/bridges/{bridgeId}/addChannel") { try $0.addChannel($1) },
        .init(method: "POST", template: "/bridges/{bridgeId}/removeChannel") { try $0.removeChannel($1) },
        .init(method: "POST", template: "/bridges/{bridgeId}/play") { try $0.play($1, onBridge: true) },
        .init(method: "POST", template: "/bridges/{bridgeId}/play/{playbackId}") { try $0.play($1, onBridge: true) },
        .init(method: "POST", template: "/bridges/{bridgeId}/record") { try $0.record($1, onBridge: true) },
        .init(method: "POST", template: "/bridges/{bridgeId}/moh") { sim, p in _ = try sim.existingBridge(p); return .noContent },
        .init(method: "DELETE", template: "/bridges/{bridgeId}/moh") { sim, p in _ = try sim.existingBridge(p); return .noContent },

        .init(method: "GET", template: "/playbacks/{playbackId}") { try $0.getPlayback($1) },
        .init(method: "DELETE", template: "/playbacks/{playbackId}") { try $0.stopPlayback($1) },
        .init(method: "POST", template: "/playbacks/{playbackId}/control") { try $0.controlPlayback($1) },

        .init(method: "GET", template: "/recordings/stored") { sim, _ in sim.listStored() },
        .init(method: "GET", template: "/recordings/stored/{recordingName}") { try $0.getStored($1) },
        .init(method: "DELETE", template: "/recordings/stored/{recordingName}") { try $0.deleteStored($1) },
        .init(method: "GET", template: "/recordings/stored/{recordingName}/file") { try $0.storedFile($1) },
        .init(method: "POST", template: "/recordings/stored/{recordingName}/copy") { try $0.copyStored($1) },
        .init(method: "GET", template: "/recordings/live/{recordingName}") { try $0.getLiveRecording($1) },
        .init(method: "DELETE", template: "/recordings/live/{recordingName}") { try $0.cancelLiveRecording($1) },
        .init(method: "POST", template: "/recordings/live/{recordingName}/stop") { try $0.stopLiveRecording($1) },
        .init(method: "POST", template: "/recordings/live/{recordingName}/pause") { try $0.adjustLiveRecording($1, pause: true) },
        .init(method: "DELETE", template: "/recordings/live/{recordingName}/pause") { try $0.adjustLiveRecording($1, pause: false) },
        .init(method: "POST", template: "/recordings/live/{recordingName}/mute") { try $0.adjustLiveRecording($1, pause: nil) },
        .init(method: "DELETE", template: "/recordings/live/{recordingName}/mute") { try $0.adjustLiveRecording($1, pause: nil) },

        .init(method: "GET", template: "/endpoints") { try $0.listEndpoints($1) },
        .init(method: "GET", template: "/endpoints/{tech}") { try $0.listEndpoints($1) },
        .init(method: "GET", template: "/endpoints/{tech}/{resource}") { try $0.getEndpoint($1) },

        .init(method: "GET", template: "/applications") { sim, _ in sim.listApplications() },
        .init(method: "GET", template: "/applications/{applicationName}") { try $0.getApplication($1) },
        .init(method: "POST", template: "/applications/{applicationName}/subscription") { try $0.subscription($1, subscribe: true) },
        .init(method: "DELETE", template: "/applications/{applicationName}/subscription") { try $0.subscription($1, subscribe: false) },
        .init(method: "PUT", template: "/applications/{applicationName}/eventFilter") { try $0.eventFilter($1) },

        .init(method: "GET", template: "/sounds") { $0.listSounds($1) },
        .init(method: "GET", template: "/sounds/{soundId}") { try $0.getSound($1) },
    ]

    /// Answers one REST request (path relative to `/ari`), as Asterisk would.
    public func handle(method: String, path: String, query: [String: String], body: Data?, overWebSocket: Bool = false) -> SimulatorResponse {
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        var parameters = query
        var variables: [String: String] = [:]
        // Asterisk also takes parameters from a JSON body; `variables` is an object of strings. Any JSON
        // value parses; only an object's members are parameters.
        if let body, !body.isEmpty {
            guard let parsed = try? JSONSerialization.jsonObject(with: body, options: .fragmentsAllowed) else {
                let response = SimulatorResponse.error(400, "Error parsing request body")
                record(method: method, path: path, query: query, status: response.status, overWebSocket: overWebSocket)
                return response
            }
            for (key, value) in parsed as? [String: Any] ?? [:] {
                if key == "variables", let dictionary = value as? [String: Any] {
                    for (name, value) in dictionary { variables[name] = "\(value)" }
                } else if parameters[key] == nil {
                    parameters[key] = "\(value)"
                }
            }
        }
        var response = SimulatorResponse.error(404, "Resource not found")
        for route in Self.routes {
            guard let pathParameters = route.match(method, segments) else { continue }
            do {
                response = try route.handler(self, SimulatorParameters(path: pathParameters, query: parameters, variables: variables,
                                                                        body: body.flatMap { $0.isEmpty ? nil : $0 }))
            } catch let failure as SimulatorFailure {
                response = failure.response
            } catch {
                response = .error(500, "Internal error")
            }
            break
        }
        if response.status == 404, Self.routes.contains(where: { $0.match($0.method, segments) != nil }),
           !Self.routes.contains(where: { $0.match(method, segments) != nil }) {
            response = .error(405, "Invalid method")
        }
        record(method: method, path: path, query: query, status: response.status, overWebSocket: overWebSocket)
        return response
    }
}
