import Foundation
import Synchronization

/// Latencies the benchmark reports: StasisStart → answer request, and operator-or-call ready → originate request.
public final class LatencyRecorder: Sendable {
    public enum Kind: Sendable { case answer, routing }
    let samples = Mutex<(answer: [Duration], routing: [Duration])>(([], []))

    public init() {}

    func record(_ kind: Kind, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        samples.withLock {
            switch kind {
            case .answer: $0.answer.append(elapsed)
            case .routing: $0.routing.append(elapsed)
            }
        }
    }

    /// Percentile (0–100) in milliseconds, nil without samples.
    public func percentile(_ kind: Kind, _ p: Double) -> Double? {
        let values = samples.withLock { kind == .answer ? $0.answer : $0.routing }.sorted()
        guard !values.isEmpty else { return nil }
        let index = min(values.count - 1, Int((p / 100 * Double(values.count)).rounded(.up)) - 1)
        let d = values[max(0, index)]
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    public func count(_ kind: Kind) -> Int { samples.withLock { kind == .answer ? $0.answer.count : $0.routing.count } }
}
