import Foundation
import Synchronization

/// Latencies the benchmarks report, each from the event that asks for a step to Asterisk's answer to the
/// request that makes it (the app's work, the socket both ways and Asterisk's own work):
/// - `answer`: a caller's StasisStart → the answer done (the caller's 200 OK follows);
/// - `prompt`: a caller's digit → the next prompt's playback started;
/// - `routing`: an operator free (or a caller ready to be routed) → the originate done (the phone's INVITE is out);
/// - `bridge`: the operator's leg answered (its StasisStart) → both parties in the bridge.
public final class LatencyRecorder: Sendable {
    public enum Kind: Int, Sendable, CaseIterable { case answer, prompt, routing, bridge }
    let samples = Mutex<[[Duration]]>(Array(repeating: [], count: Kind.allCases.count))

    public init() {}

    func record(_ kind: Kind, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        samples.withLock { $0[kind.rawValue].append(elapsed) }
    }

    /// A closure that records `kind` since `start` when called (nil without a recorder).
    static func recording(_ recorder: LatencyRecorder?, _ kind: Kind, since start: ContinuousClock.Instant) -> (@Sendable () -> Void)? {
        guard let recorder else { return nil }
        return { recorder.record(kind, since: start) }
    }

    /// Percentile (0–100) in milliseconds, nil without samples.
    public func percentile(_ kind: Kind, _ p: Double) -> Double? {
        let values = samples.withLock { $0[kind.rawValue] }.sorted()
        guard !values.isEmpty else { return nil }
        let index = min(values.count - 1, Int((p / 100 * Double(values.count)).rounded(.up)) - 1)
        let d = values[max(0, index)]
        return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    public func count(_ kind: Kind) -> Int { samples.withLock { $0[kind.rawValue].count } }

    /// `p50 …, p99 …, max … (n samples)` for a report line.
    public func summary(_ kind: Kind) -> String {
        func ms(_ v: Double?) -> String { v.map { String(format: "%.2f ms", $0) } ?? "n/a" }
        return "p50 \(ms(percentile(kind, 50))), p99 \(ms(percentile(kind, 99))), max \(ms(percentile(kind, 100))) (\(count(kind)) samples)"
    }
}
