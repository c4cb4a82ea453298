import AsteriskSimulator
import Foundation
import Logging
import ServiceLifecycle

/// Generated callers for the demo: citizens dialling in (some calling again), choosing a language
/// and a topic, and hanging up after a while — so the demo shows the product under real-looking load.
public struct DemoTraffic: Service {
    let simulator: AsteriskSimulator
    /// Mean seconds between new calls.
    let meanInterval: Double
    let logger: Logger

    public init(simulator: AsteriskSimulator, meanInterval: Double = 8, logger: Logger) {
        self.simulator = simulator
        self.meanInterval = meanInterval
        self.logger = logger
    }

    static let prefixes = ["90", "91", "93", "94", "95", "97", "98", "99", "88", "33", "71"]

    public func run() async throws {
        // Shutdown cancels the generated callers too: they sleep for minutes between their steps.
        try? await cancelWhenGracefulShutdown { try await self.generate() }
    }

    func generate() async throws {
        var regulars = (0..<20).map { _ in Self.randomNumber() }
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isCancelled {
                // Exponential gaps: arrivals of a Poisson process.
                let gap = -log(Double.random(in: 0.0001..<1)) * meanInterval
                try? await Task.sleep(for: .milliseconds(Int64(gap * 1000)))
                if Task.isCancelled { break }
                let number = Double.random(in: 0..<1) < 0.25 ? regulars.randomElement()! : Self.randomNumber()
                if regulars.count < 200 { regulars.append(number) }
                group.addTask { await self.call(from: number) }
            }
        }
    }

    func call(from number: String) async {
        do {
            let id = try await simulator.placeCall(from: number, to: "1000")
            try await Task.sleep(for: .seconds(Double.random(in: 4...9)))
            try await simulator.pressDigits(Bool.random() ? "1" : "2", on: id)
            try await Task.sleep(for: .seconds(Double.random(in: 4...12)))
            let choice = ["1", "2", "3", "4", "5", "6", "7", "8", "0", "9"].randomElement()!
            try await simulator.pressDigits(choice, on: id)
            try await Task.sleep(for: .seconds(Double.random(in: 20...180)))
            if await simulator.channelIds().contains(id) { try await simulator.remoteHangup(id) }
        } catch {
            logger.debug("demo caller stopped", metadata: ["number": "\(number)", "reason": "\(error)"])
        }
    }

    static func randomNumber() -> String {
        "+998" + prefixes.randomElement()! + String(format: "%07d", Int.random(in: 0..<10_000_000))
    }
}
