import ARI
import Foundation

extension CallCenter {
    /// First connection to a server: calls left "in progress" by an earlier run are closed as lost.
    func startUp(_ server: String) async {
        guard let client = clients[server] else { return }
        let live = (try? await client.channels()) ?? []
        journal.append(.alert("ari_connected", "Connected to Asterisk \(server) with \(live.count) channels up", nil, Date()))
        lostCallsClosure?(server, Set(live.map(\.id)))
        adopt(live, server: server)
    }

    /// After the event socket came back: Asterisk dropped the events of the gap, so the channels are re-read.
    /// Calls whose channels are gone are closed as lost; calls still up go on.
    func resynchronise(_ server: String) async {
        guard let client = clients[server] else { return }
        guard let live = try? await client.channels() else { return }
        let up = Set(live.map(\.id))
        for (id, session) in sessions where session.server == server {
            if !up.contains(session.callerChannel) && session.phase != .callbackWaiting {
                // The list can be newer than events still queued behind this re-read (a hang-up right after
                // the reconnect): those get a moment to end the call as what it was.
                let grace = settings.resyncGraceSeconds
                Task { [weak self] in
                    try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
                    await self?.lost(id)
                }
            } else if let leg = session.operatorLeg, !up.contains(leg) {
                if case .ringing(let operatorId, _) = session.phase {
                    channels[Self.key(server, leg)] = nil
                    ringFailed(id, operatorId: operatorId, reason: "lost")
                } else {
                    channels[Self.key(server, leg)] = nil
                    operatorHungUp(id, leg: leg)
                }
            }
        }
        adopt(live, server: server)
        dispatch()
    }

    /// Channels that entered Stasis while the socket was down: their StasisStart was never seen. The listing
    /// may be older than events handled while it was on its way: a caller whose call ended meanwhile is
    /// not taken up again.
    func adopt(_ live: [Channel], server: String) {
        for channel in live where channels[Self.key(server, channel.id)] == nil && !recentlyEnded.contains(Self.key(server, channel.id))
            && channel.dialplan.appName == "Stasis"
            && !channel.id.hasPrefix("op-") && !channel.id.hasPrefix("cb-") && !channel.id.hasPrefix("snp-") && !channel.id.hasPrefix("sup-") {
            let args = channel.dialplan.appData.split(separator: ",").map(String.init)
            let dialled = args.count > 2 && args[1] == "inbound" ? args[2] : channel.dialplan.exten
            newInboundCall(channel, dialled: dialled, server: server, adopted: true)
        }
    }

    func lost(_ id: UUID) {
        guard var session = sessions[id], session.phase != .ended else { return }
        let operatorId = session.operatorId
        session.record.outcome = .lost
        session.record.hangupSide = .system
        if let answered = session.record.answeredAt, session.record.talkSeconds == nil {
            // The real end is unknown (Asterisk went away): talk time up to when the loss was noticed.
            session.record.talkSeconds = Int(Date().timeIntervalSince(answered).rounded())
        }
        sessions[id] = session
        note(id, "lost", [:])
        end(id)
        if let operatorId { setAgent(operatorId, .ready, reason: nil, call: nil) }
    }

    public func setLostCallsHandler(_ handler: @escaping @Sendable (String, Set<String>) -> Void) {
        lostCallsClosure = handler
    }
}

/// The last `capacity` keys inserted, for membership tests: a set with its insertion order.
struct RecentKeys<Key: Hashable> {
    let capacity: Int
    private var members: Set<Key> = []
    private var order: [Key] = []
    private var oldest = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func insert(_ key: Key) {
        guard members.insert(key).inserted else { return }
        if order.count < capacity {
            order.append(key)
        } else {
            members.remove(order[oldest])
            order[oldest] = key
            oldest = (oldest + 1) % capacity
        }
    }

    func contains(_ key: Key) -> Bool { members.contains(key) }
}
