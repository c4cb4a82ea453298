import ARI
import Foundation

extension AsteriskSimulator {
    func listBridges() -> SimulatorResponse {
        .json(bridges.values.map(\.bridge).sorted { $0.id < $1.id })
    }

    func existingBridge(_ params: SimulatorParameters) throws -> SimBridge {
        guard let bridge = bridges[params.path["bridgeId"] ?? ""] else { throw SimulatorFailure(404, "Bridge not found") }
        return bridge
    }

    func getBridge(_ params: SimulatorParameters) throws -> SimulatorResponse {
        .json(try existingBridge(params).bridge)
    }

    func createBridge(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let types = (params.query["type"] ?? "mixing").split(separator: ",").map(String.init)
        let allowed = Set(BridgeType.allCases.map(\.rawValue))
        guard types.allSatisfy(allowed.contains) else { throw SimulatorFailure(400, "Invalid bridge type") }
        let id = params.path["bridgeId"] ?? params.query["bridgeId"] ?? UUID().uuidString.lowercased()
        if let existing = bridges[id] {
            // POST /bridges/{id} on an existing bridge updates nothing and answers it; POST /bridges with a used id conflicts.
            if params.path["bridgeId"] != nil { return .json(existing.bridge) }
            throw SimulatorFailure(409, "Bridge with id \(id) already exists")
        }
        let holding = types.contains("holding")
        let bridge = Bridge(
            id: id, technology: holding ? "holding_bridge" : "simple_bridge", bridgeType: holding ? "holding" : "mixing",
            bridgeClass: "stasis", creator: "Stasis", name: params.query["name"] ?? "", channels: [], videoMode: "talker",
            creationtime: now())
        bridges[id] = SimBridge(bridge: bridge)
        return .json(bridge) // Asterisk answers 200
    }

    func destroyBridge(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try existingBridge(params)
        for channelId in sim.bridge.channels { leaveBridge(channel: channelId, bridge: sim.bridge.id) }
        if let name = bridges[sim.bridge.id]?.recordingName { finishRecording(name, state: "done") }
        let subscribers = bridgeSubscribers(sim.bridge.id)
        let final = bridges[sim.bridge.id]?.bridge ?? sim.bridge
        bridges[sim.bridge.id] = nil
        emit(.bridgeDestroyed(BridgeEvent(bridge: final)), to: subscribers)
        for name in applications.keys { applications[name]?.subscriptions["bridge:\(sim.bridge.id)"] = nil }
        return .noContent
    }

    func addChannel(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try existingBridge(params)
        let ids = try params.required("channel", message: "Missing parameter channel").split(separator: ",").map(String.init)
        for id in ids {
            guard let channel = channels[id], !channel.hangingUp else { throw SimulatorFailure(400, "Channel not found") }
            guard channel.inStasis else { throw SimulatorFailure(422, "Channel not in Stasis application") }
        }
        for id in ids where channels[id]?.bridgeId != sim.bridge.id {
            if let previous = channels[id]?.bridgeId, let name = leaveBridge(channel: id, bridge: previous) {
                finishRecording(name, state: "done")
            }
            // As Asterisk's control.c does, the channel's app is subscribed to the bridge it joins.
            if let app = channels[id]?.app { applications[app]?.subscribe("bridge:\(sim.bridge.id)", references: 2) }
            enterBridge(channel: id, bridge: sim.bridge.id)
        }
        return .noContent
    }

    func removeChannel(_ params: SimulatorParameters) throws -> SimulatorResponse {
        let sim = try existingBridge(params)
        let ids = try params.required("channel", message: "Missing parameter channel").split(separator: ",").map(String.init)
        for id in ids {
            guard let channel = channels[id] else { throw SimulatorFailure(400, "Channel not found") }
            guard channel.inStasis else { throw SimulatorFailure(409, "Channel not in Stasis application") }
            guard channel.bridgeId == sim.bridge.id else { throw SimulatorFailure(422, "Channel not in this bridge") }
        }
        for id in ids {
            if let name = leaveBridge(channel: id, bridge: sim.bridge.id) { finishRecording(name, state: "done") }
        }
        return .noContent
    }

    func enterBridge(channel id: String, bridge bridgeId: String) {
        guard var bridge = bridges[bridgeId], let channel = channels[id] else { return }
        bridge.bridge.channels.append(id)
        if bridge.bridge.bridgeType == "mixing" {
            bridge.bridge.technology = bridge.bridge.channels.count > 2 ? "softmix" : "simple_bridge"
        }
        bridges[bridgeId] = bridge
        channels[id]?.bridgeId = bridgeId
        emit(.channelEnteredBridge(ChannelEnteredBridge(bridge: bridge.bridge, channel: channel.channel)),
             to: recipients(channel: id, bridge: bridgeId))
        announcePeers(in: bridgeId)
    }

    /// Two-party bridges set BRIDGEPEER and BRIDGEPVTCALLID on both sides, then connected line.
    func announcePeers(in bridgeId: String) {
        guard let bridge = bridges[bridgeId], bridge.bridge.channels.count == 2 else { return }
        let pair = bridge.bridge.channels.compactMap { channels[$0]?.channel }
        guard pair.count == 2 else { return }
        for (me, peer) in [(pair[1], pair[0]), (pair[0], pair[1])] {
            let apps = recipients(channel: me.id, bridge: bridgeId)
            emit(.channelVarset(ChannelVarset(variable: "BRIDGEPEER", value: peer.name, channel: me)), to: apps)
            emit(.channelVarset(ChannelVarset(variable: "BRIDGEPVTCALLID", value: peer.protocolId, channel: me)), to: apps)
        }
        for me in pair {
            emit(.channelConnectedLine(ChannelEvent(channel: me)), to: recipients(channel: me.id, bridge: bridgeId))
        }
    }

    /// Takes a channel out of its bridge; returns the bridge recording that must now finish, if any
    /// (the caller finishes it once the channel's StasisEnd is out, the order Asterisk shows).
    @discardableResult
    func leaveBridge(channel id: String, bridge bridgeId: String) -> String? {
        guard var bridge = bridges[bridgeId], let channel = channels[id] else { return nil }
        bridge.bridge.channels.removeAll { $0 == id }
        bridges[bridgeId] = bridge
        channels[id]?.bridgeId = nil
        let apps = recipients(channel: id, bridge: bridgeId)
        emit(.channelVarset(ChannelVarset(variable: "BRIDGEPEER", value: "", channel: channel.channel)), to: apps)
        var reported = bridge.bridge
        if bridge.recordingName != nil && reported.channels.isEmpty {
            reported.channels = ["\(bridgeId)-recorder"] // the hidden recorder channel shows up here on a real Asterisk
        }
        emit(.channelLeftBridge(ChannelLeftBridge(bridge: reported, channel: channel.channel)), to: apps)
        // A bridge recording ends by itself when the last app channel leaves.
        return bridge.bridge.channels.isEmpty ? bridge.recordingName : nil
    }
}
