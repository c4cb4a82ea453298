import ARI
import AsteriskSimulator
@testable import CallCenter
import Foundation
import NIOPosix
import Synchronization
import TestSupport
import Testing

@Suite("A call's requests over HTTP: in order, from the call flow's loop")
struct CallRequestsTests {
    @Test func requestsKeepTheirOrderFailuresAreReportedAndTheChainGoesOn() async throws {
        try await withSimulator { sim, ari in
            var ari = ari
            ari.restOverWebSocket = false
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let failures = Mutex<[String]>([])
            let requests = CallRequests(client: ARIClient(configuration: ari), loop: loop) { label, error in
                failures.withLock { $0.append("\(label): \(error)") }
            }
            let operationRan = Mutex(false)
            let sent = Mutex(0)
            // As the call flow does: everything handed over from the loop's thread, nothing awaited.
            try await loop.submit {
                requests.send("first", ARIClient.createBridgeRequest(types: [.mixing], bridgeId: "b1", name: nil), onDone: { sent.withLock { $0 += 1 } })
                requests.send("gone", ARIClient.hangupRequest("no-such-channel"))
                requests.send("ignored", ARIClient.hangupRequest("no-such-channel-either"), ignoringErrors: true)
                requests.enqueue("operation") { client in
                    _ = try await client.createBridge(types: [.mixing], bridgeId: "b2", name: nil)
                    operationRan.withLock { $0 = true }
                }
                requests.send("last", ARIClient.createBridgeRequest(types: [.mixing], bridgeId: "b3", name: nil))
            }.get()
            for _ in 0..<300 {
                if requests.waiting == 0, operationRan.withLock({ $0 }), await sim.receivedRequests().count >= 5 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(50))
            let seen = await sim.receivedRequests().filter { $0.path.hasPrefix("/bridges") || $0.path.hasPrefix("/channels") }
            #expect(seen.map { "\($0.method) \($0.path)\($0.query["bridgeId"].map { " " + $0 } ?? "")" } == [
                "POST /bridges b1", "DELETE /channels/no-such-channel", "DELETE /channels/no-such-channel-either",
                "POST /bridges b2", "POST /bridges b3",
            ])
            #expect(seen.allSatisfy { !$0.overWebSocket })
            #expect(seen.map(\.status) == [200, 404, 404, 200, 200])
            let reported = failures.withLock { $0 }
            #expect(reported.count == 1 && reported.first?.hasPrefix("gone: ") == true, "\(reported)")
            #expect(sent.withLock { $0 } == 1)
            #expect(requests.waiting == 0)
        }
    }

    @Test func anOriginateOvertakesWaitingRequestsAndAnUnreachableServerIsReported() async throws {
        // Nothing listens on this port: every request fails (the HTTP client retries connecting until the
        // request's deadline), reported per request.
        let ari = ARIServerConfiguration(baseURL: "http://127.0.0.1:9/ari", username: "u", password: "p",
                                         requestTimeout: .milliseconds(300), restOverWebSocket: false)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let failures = Mutex<[String]>([])
        let requests = CallRequests(client: ARIClient(configuration: ari), loop: loop) { label, _ in
            failures.withLock { $0.append(label) }
        }
        try await loop.submit {
            requests.send("answer", ARIClient.answerRequest("c1"))
            requests.send("play", ARIClient.hangupRequest("c1"))
            requests.sendNow("originate", ARIClient.hangupRequest("c2"))
        }.get()
        for _ in 0..<500 where failures.withLock({ $0.count }) < 3 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let reported = failures.withLock { $0 }
        #expect(Set(reported) == ["answer", "play", "originate"])
        #expect(reported.filter { $0 != "originate" } == ["answer", "play"])
        // The originate did not wait behind the chain: it failed with the first request, before the second.
        #expect(reported.last == "play")
    }
}
