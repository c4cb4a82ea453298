import Foundation
import Synchronization

extension AsteriskSimulator {
    /// Citizens calling back to back, `concurrency` at a time, until `total` calls have ended: each dials,
    /// picks a language (1 or 2) and a topic (6) and stays on the line until the operator's phone hangs up.
    /// Driven inside the simulator so that a benchmark of the app measures the app alone.
    public func runLoad(concurrency: Int, total: Int, app: String = "murojaat") async -> (completed: Int, failed: Int) {
        let counter = LoadCounter(total: total)
        return await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var completed = 0, failed = 0
                    while counter.take() {
                        let number = "+99890\(String(format: "%07d", Int.random(in: 0..<10_000_000)))"
                        do {
                            let channel = try await self.placeCall(from: number, to: "1000", app: app)
                            try await Task.sleep(for: .milliseconds(20))
                            try await self.pressDigits(Bool.random() ? "1" : "2", on: channel, gapMs: 1)
                            try await Task.sleep(for: .milliseconds(20))
                            try await self.pressDigits("6", on: channel, gapMs: 1)
                            if await self.waitUntilGone(channel, timeout: 120) { completed += 1 } else { failed += 1 }
                        } catch {
                            failed += 1
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    return (completed, failed)
                }
            }
            var result = (completed: 0, failed: 0)
            for await (completed, failed) in group {
                result.completed += completed
                result.failed += failed
            }
            return result
        }
    }
}

final class LoadCounter: Sendable {
    let total: Int
    let issued = Mutex(0)
    init(total: Int) { self.total = total }
    func take() -> Bool {
        issued.withLock { value in
            guard value < total else { return false }
            value += 1
            return true
        }
    }
}
