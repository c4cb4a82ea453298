import ARI
import Foundation

extension CallCenter {
    public enum MonitorError: Error, Equatable { case callNotConnected, unknownMonitor }

    /// A supervisor listens (hears both), whispers (heard by the operator only) or barges (joins the call):
    /// the supervisor's phone rings and is connected when answered.
    public func monitor(call id: UUID, supervisorEndpoint: String, mode: MonitorMode) throws -> String {
        guard var session = sessions[id], case .bridged(_, let leg) = session.phase, let client = clients[session.server] else {
            throw MonitorError.callNotConnected
        }
        let monitorId = "mon-" + UUID().uuidString.prefix(12).lowercased()
        let supervisor = "sup-" + monitorId.dropFirst(4)
        var monitor = Monitor(id: monitorId, callId: id, mode: mode, server: session.server, supervisorChannel: String(supervisor))
        let ops = session.ops
        if mode != .barge {
            let snoop = "snp-" + monitorId.dropFirst(4)
            monitor.snoopChannel = String(snoop)
            let whisper: MediaDirection = mode == .whisper ? .out : .none
            ops.enqueue("snoop") { _ = try await $0.snoop(channel: leg, spy: .both, whisper: whisper, snoopId: String(snoop), appArgs: "snoop,\(monitorId)") }
        }
        monitors[monitorId] = monitor
        session.monitors.append(monitorId)
        sessions[id] = session
        let parameters = OriginateParameters(endpoint: supervisorEndpoint, channelId: String(supervisor), appArgs: "supervisor,\(monitorId)",
                                             callerId: "Monitor <\(session.record.callerNumber)>", timeout: 30)
        Task { [weak self] in
            do { try await client.originateOnly(parameters) } catch { await self?.endMonitor(monitorId) }
        }
        note(id, "monitor_started", ["mode": mode.rawValue, "supervisor": supervisorEndpoint])
        return monitorId
    }

    func supervisorAnswered(channel: String, monitor monitorId: String, server: String) {
        guard var monitor = monitors[monitorId], let session = sessions[monitor.callId], let bridgeId = session.bridgeId else {
            clients[server].map { client in Task { try? await client.hangup(channel) } }
            return
        }
        switch monitor.mode {
        case .barge:
            session.ops.send("barge", ARIClient.addChannelRequest(bridge: bridgeId, channels: [channel]))
        case .listen, .whisper:
            let monitorBridge = monitorId
            monitor.bridgeId = monitorBridge
            let snoop = monitor.snoopChannel ?? ""
            session.ops.send("monitor bridge", ARIClient.createBridgeRequest(types: [.mixing], bridgeId: monitorBridge, name: monitorBridge))
            session.ops.send("monitor join", ARIClient.addChannelRequest(bridge: monitorBridge, channels: [snoop, channel]))
        }
        monitors[monitorId] = monitor
        note(monitor.callId, "monitor_connected", ["mode": monitor.mode.rawValue])
    }

    /// Ends cleanly whoever hangs up first: snoop and supervisor channels and the monitor bridge go.
    func endMonitor(_ monitorId: String) {
        guard let monitor = monitors.removeValue(forKey: monitorId), let client = clients[monitor.server] else { return }
        sessions[monitor.callId]?.monitors.removeAll { $0 == monitorId }
        Task {
            if let snoop = monitor.snoopChannel { try? await client.hangup(snoop) }
            try? await client.hangup(monitor.supervisorChannel)
            if let bridge = monitor.bridgeId { try? await client.destroyBridge(bridge) }
        }
    }

    public func stopMonitor(_ monitorId: String) throws {
        guard monitors[monitorId] != nil else { throw MonitorError.unknownMonitor }
        endMonitor(monitorId)
    }
}
