import Foundation

/// Erlang C: how many operators answer a given traffic within a target time.
/// `callsPerHour` and `handlingSeconds` give the traffic in Erlangs (A = λ·AHT); with N agents the
/// probability that a call waits is P(W>0) = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)),
/// and the service level is 1 − P(W>0)·e^{−(N−A)·t/AHT}.
public enum ErlangC {
    /// Probability that a call has to wait, with `agents` operators and `traffic` Erlangs (1 when agents ≤ traffic).
    public static func waitProbability(agents: Int, traffic: Double) -> Double {
        guard agents > 0, traffic > 0 else { return traffic > 0 ? 1 : 0 }
        guard Double(agents) > traffic else { return 1 }
        // Erlang B by its stable recurrence, then C from B.
        var b = 1.0
        for k in 1...agents { b = traffic * b / (Double(k) + traffic * b) }
        let n = Double(agents)
        return b / (1 - (traffic / n) * (1 - b))
    }

    public static func serviceLevel(agents: Int, traffic: Double, targetSeconds: Double, handlingSeconds: Double) -> Double {
        guard traffic > 0 else { return 1 }
        guard Double(agents) > traffic, handlingSeconds > 0 else { return 0 }
        let pw = waitProbability(agents: agents, traffic: traffic)
        return 1 - pw * exp(-(Double(agents) - traffic) * targetSeconds / handlingSeconds)
    }

    /// Average speed of answer in seconds.
    public static func averageSpeedOfAnswer(agents: Int, traffic: Double, handlingSeconds: Double) -> Double {
        guard Double(agents) > traffic else { return .infinity }
        return waitProbability(agents: agents, traffic: traffic) * handlingSeconds / (Double(agents) - traffic)
    }

    public struct Staffing: Sendable, Equatable {
        public var agents: Int
        public var traffic: Double
        public var serviceLevel: Double
        public var waitProbability: Double
        public var averageSpeedOfAnswer: Double
        public var occupancy: Double
    }

    /// The fewest operators that reach `serviceLevel` (0…1) within `targetSeconds`.
    public static func agentsNeeded(callsPerHour: Double, handlingSeconds: Double, targetSeconds: Double, serviceLevel target: Double,
                                    maxAgents: Int = 2000) -> Staffing {
        let traffic = callsPerHour * handlingSeconds / 3600
        guard traffic > 0 else { return Staffing(agents: 0, traffic: 0, serviceLevel: 1, waitProbability: 0, averageSpeedOfAnswer: 0, occupancy: 0) }
        var agents = max(1, Int(traffic.rounded(.down)) + 1)
        while agents < maxAgents && serviceLevel(agents: agents, traffic: traffic, targetSeconds: targetSeconds, handlingSeconds: handlingSeconds) < target {
            agents += 1
        }
        return Staffing(agents: agents, traffic: traffic,
                        serviceLevel: serviceLevel(agents: agents, traffic: traffic, targetSeconds: targetSeconds, handlingSeconds: handlingSeconds),
                        waitProbability: waitProbability(agents: agents, traffic: traffic),
                        averageSpeedOfAnswer: averageSpeedOfAnswer(agents: agents, traffic: traffic, handlingSeconds: handlingSeconds),
                        occupancy: traffic / Double(agents))
    }
}
