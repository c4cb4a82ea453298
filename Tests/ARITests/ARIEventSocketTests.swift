import ARI
import TestSupport
import AsteriskSimulator
import Foundation
import Testing

@Suite("The ARI events WebSocket")
struct ARIEventSocketTests {
    @Test func unknownAndMalformedEventsAreSkippedNotFatal() async throws {
        try await withSimulator { sim, ari in
            try await withEvents(ari) { events, _ in
                await sim.sendRaw("{\"type\":\"ChannelTalkingStarted\",\"application\":\"murojaat\",\"timestamp\":\"x\",\"channel\":{}}")
                await sim.sendRaw("{not json at all")
                await sim.sendRaw("{\"type\":\"StasisStart\",\"application\":\"murojaat\",\"channel\":{\"id\":5}}")
                await sim.sendRaw("[]")
                _ = try await sim.placeCall(from: "+998901234567", to: "1000")
                try await events.waitFor("StasisStart")
                #expect(events.types == ["ChannelTalkingStarted", "StasisStart"])
                guard case .unknown(let type, let raw) = events.events.first else { Issue.record("expected unknown"); return }
                #expect(type == "ChannelTalkingStarted" && raw.count > 10)
                #expect(events.disconnects == 0)
            }
        }
    }

    @Test func oversizedFrameDropsTheSocketAndTheClientReconnects() async throws {
        try await withSimulator { sim, ari in
            try await withEvents(ari, maxMessageSize: 64 << 10) { events, _ in
                await sim.sendRaw("", app: nil)
                await sim.sendRaw(String(repeating: "x", count: 200 << 10))
                try await events.waitUntilConnected(2)
                #expect(events.disconnects >= 1)
                _ = try await sim.placeCall(from: "+998901234567", to: "1000")
                try await events.waitFor("StasisStart")
            }
        }
    }

    @Test func droppedSocketIsReportedAndReconnected() async throws {
        try await withSimulator { sim, ari in
            try await withEvents(ari) { events, _ in
                await sim.dropSockets()
                try await events.waitUntilConnected(2)
                #expect(events.disconnects == 1)
                // Asterisk drops events raised while no socket is connected; after the reconnect they flow again.
                _ = try await sim.placeCall(from: "+998901234567", to: "1000")
                try await events.waitFor("StasisStart")
                await sim.dropSockets()
                try await events.waitUntilConnected(3)
                #expect(events.disconnects == 2)
            }
        }
    }

    @Test func asecondSocketForTheSameAppReplacesTheFirst() async throws {
        try await withSimulator { sim, ari in
            try await withEvents(ari) { first, _ in
                try await withEvents(ari) { second, _ in
                    try await first.waitFor("ApplicationReplaced")
                    _ = try await sim.placeCall(from: "+998901234567", to: "1000")
                    try await second.waitFor("StasisStart")
                    #expect(first.types == ["ApplicationReplaced"])
                }
            }
        }
    }

    @Test func wrongCredentialsNeverConnect() async throws {
        try await withSimulator { _, ari in
            var wrong = ari
            wrong.password = "nope"
            let connection = ARIEventConnection(configuration: wrong, backoff: .init(base: .milliseconds(10), cap: .milliseconds(50)))
            let recorder = EventRecorder()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.run() }
                group.addTask { await recorder.consume(connection) }
                try await Task.sleep(for: .milliseconds(300))
                #expect(recorder.connects == 0)
                group.cancelAll()
            }
        }
    }

    @Test func backoffIsCappedAndJittered() {
        let backoff = ReconnectBackoff(base: .milliseconds(100), cap: .seconds(5))
        for attempt in 0..<40 {
            let delay = backoff.delay(attempt: attempt)
            let full = min(Duration.seconds(5), .milliseconds(100) * (1 << min(attempt, 30)))
            #expect(delay >= full / 2 && delay <= full)
        }
        let samples = Set((0..<50).map { _ in backoff.delay(attempt: 6) })
        #expect(samples.count > 1)
    }

    @Test func eventsURLCarriesNoCredentials() {
        let config = ARIServerConfiguration(baseURL: "https://ast.example:8089/ari/", username: "u", password: "secret", application: "murojaat")
        #expect(config.eventsURL == "wss://ast.example:8089/ari/events?app=murojaat&subscribeAll=false")
        #expect(!config.eventsURL.contains("secret"))
    }
}
