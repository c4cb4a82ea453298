import ARI
import TestSupport
import AsteriskSimulator
import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import HummingbirdTesting
import Synchronization
import Testing

/// A transport that answers every request with one canned response.
struct CannedTransport: ARITransport {
    var response: ARIResponse
    func send(_ request: ARIRequest) async throws -> ARIResponse {
        guard (200..<300).contains(response.status) else {
            throw ARIError(status: response.status, message: String(decoding: response.body, as: UTF8.self))
        }
        return response
    }
    func stream(_ request: ARIRequest) async throws -> ARIStreamedResponse {
        let body = response.body
        let stream = AsyncThrowingStream<Data, any Error> { c in c.yield(body); c.finish() }
        return ARIStreamedResponse(contentType: nil, contentLength: body.count, body: stream)
    }
}

@Suite("ARI errors are typed and carry Asterisk's message")
struct ARIErrorTests {
    @Test func statusesMapToTypedErrors() async throws {
        try await withSimulator { sim, ari in
            let client = ARIClient(configuration: ari)
            await #expect(throws: ARIError.notFound("Channel not found")) { try await client.answer("g-nonexistent") }
            await #expect(throws: ARIError.notFound("Bridge not found")) { try await client.bridge("g-nonexistent") }
            await #expect(throws: ARIError.notFound("Playback not found")) { try await client.playback("g-nonexistent") }
            await #expect(throws: ARIError.notFound("Recording not found")) { try await client.storedRecording("g-nonexistent") }
            await #expect(throws: ARIError.badRequest("Endpoint must be specified")) {
                try await client.originate(OriginateParameters(endpoint: ""))
            }
            try await withEvents(ari) { events, _ in
                let id = try await sim.placeCall(from: "+998901234567", to: "1000")
                try await events.waitFor("StasisStart")
                await #expect(throws: ARIError.conflict("Channel with given unique ID already exists")) {
                    try await client.originate(OriginateParameters(endpoint: "PJSIP/101", channelId: id))
                }
                await #expect(throws: ARIError.server(status: 500, message: "Failed to queue media for playback")) {
                    try await client.play(channel: id, media: [])
                }
                await #expect(throws: ARIError.unprocessable("specified format is unknown on this system")) {
                    try await client.record(channel: id, name: "r1", format: "mp5")
                }
                _ = try await client.record(channel: id, name: "r1", format: "wav")
                try await client.stopRecording("r1")
                try await events.waitFor("RecordingFinished")
                await #expect(throws: ARIError.conflict("Recording 'r1' already exists and can not be overwritten")) {
                    try await client.record(channel: id, name: "r1", format: "wav", ifExists: .fail)
                }
                _ = try await client.createBridge(bridgeId: "b1")
                await #expect(throws: ARIError.badRequest("Channel not found")) { try await client.addChannel(bridge: "b1", channels: ["nope"]) }
                await #expect(throws: ARIError.badRequest("Missing parameter channel")) { try await client.addChannel(bridge: "b1", channels: []) }
                _ = try await client.play(channel: id, media: ["sound:demo-congrats"], playbackId: "p1")
                await #expect(throws: ARIError.unprocessable("Event source does not exist")) { try await client.subscribe(eventSource: "bridge:none") }
                try await client.hangup(id)
                await #expect(throws: ARIError.notFound("Channel not found")) { try await client.hangup(id) }
            }
        }
    }

    @Test func wrongCredentialsAreUnauthorized() async throws {
        try await withSimulator { _, ari in
            var wrong = ari
            wrong.password = "wrong"
            await #expect(throws: ARIError.unauthorized("Authentication required")) { try await ARIClient(configuration: wrong).channels() }
        }
    }

    @Test func rawHTTPAnswersMatchAsterisk() async throws {
        try await withSimulator { _, ari in
            let http = HTTPARITransport(configuration: ari)
            // Unknown URL
            await #expect(throws: ARIError.notFound("Resource not found")) { try await http.send(ARIRequest(.GET, "/no/such/resource")) }
            // api_key in the query is accepted as Asterisk does
            var keyed = ari
            keyed.password = "ignored"
            let viaKey = HTTPARITransport(configuration: keyed)
            let ok = try await viaKey.send(ARIRequest(.GET, "/asterisk/ping", query: [("api_key", "murojaat:secret")]))
            #expect(ok.status == 200)
            // A body that is not JSON
            var request = ARIRequest(.POST, "/channels", query: [("endpoint", "PJSIP/101"), ("app", "murojaat")])
            request.body = Data("{not json".utf8)
            await #expect(throws: ARIError.badRequest("Error parsing request body")) { try await http.send(request) }
        }
    }

    @Test func malformedBodyIsADecodingError() async throws {
        let client = ARIClient(transport: CannedTransport(response: ARIResponse(status: 200, body: Data("{\"id\": 12".utf8))), application: "murojaat")
        await #expect {
            try await client.channel("x")
        } throws: { error in
            if case ARIError.decoding = error { return true }
            return false
        }
        let wrongShape = ARIClient(transport: CannedTransport(response: ARIResponse(status: 200, body: Data("{\"id\":\"x\"}".utf8))), application: "murojaat")
        await #expect { try await wrongShape.bridge("x") } throws: { error in
            if case ARIError.decoding = error { return true } else { return false }
        }
    }

    @Test func serverErrorsAndUnreachableAndSlowServers() async throws {
        // 500 with ARI's `error` key, 503, and a server that answers too slowly.
        let router = Router()
        router.get("/ari/channels") { _, _ -> Response in
            Response(status: .serviceUnavailable, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: .init(string: "{\"message\":\"ARI not ready\"}")))
        }
        router.get("/ari/bridges") { _, _ -> Response in
            try await Task.sleep(for: .seconds(2))
            return Response(status: .ok)
        }
        router.get("/ari/endpoints") { _, _ -> Response in
            Response(status: .internalServerError, body: .init(byteBuffer: .init(string: "{\"error\":\"Allocation failed\"}")))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // A generous timeout for the answers (the whole suite loads this machine), a short one for the slow server.
            let ari = ARIClient(configuration: ARIServerConfiguration(baseURL: "http://127.0.0.1:\(port)/ari/", username: "u", password: "p",
                                                                      requestTimeout: .seconds(10)))
            await #expect(throws: ARIError.server(status: 503, message: "ARI not ready")) { try await ari.channels() }
            await #expect(throws: ARIError.server(status: 500, message: "Allocation failed")) { try await ari.endpoints() }
            let impatient = ARIClient(configuration: ARIServerConfiguration(baseURL: "http://127.0.0.1:\(port)/ari/", username: "u", password: "p",
                                                                            requestTimeout: .milliseconds(300)))
            await #expect(throws: ARIError.timeout) { try await impatient.bridges() }
        }
        let closed = ARIClient(configuration: ARIServerConfiguration(baseURL: "http://127.0.0.1:9/ari", username: "u", password: "p",
                                                                     requestTimeout: .seconds(2)))
        await #expect { try await closed.ping() } throws: { error in
            if case ARIError.transport = error { return true } else { return false }
        }
    }

    /// `submit` (the call flow's HTTP requests, sent from its loop): the same typed errors, a timeout, and an
    /// answer larger than allowed refused without being kept whole in memory.
    @Test func requestsSubmittedFromALoopMeetErrorsOversizedAndSlowAnswers() async throws {
        let router = Router()
        router.post("/ari/channels/gone/answer") { _, _ -> Response in
            Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: "{\"message\":\"Channel not found\"}")))
        }
        router.post("/ari/channels/c1/answer") { _, _ -> Response in Response(status: .noContent) }
        router.get("/ari/channels") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(repeating: UInt8(ascii: " "), count: 2 << 20)))
        }
        router.get("/ari/bridges") { _, _ -> Response in
            try await Task.sleep(for: .seconds(2))
            return Response(status: .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            // A generous timeout for the answers (the whole suite loads this machine), a short one for the slow server.
            let configuration = ARIServerConfiguration(baseURL: "http://127.0.0.1:\(port)/ari", username: "u", password: "p", requestTimeout: .seconds(10))
            let http = HTTPARITransport(configuration: configuration, maxBodySize: 1 << 20)
            var hurried = configuration
            hurried.requestTimeout = .milliseconds(300)
            let impatient = HTTPARITransport(configuration: hurried)
            let answered = try await http.submit(ARIClient.answerRequest("c1"), on: loop).get()
            #expect(answered.status == 204)
            await #expect(throws: ARIError.notFound("Channel not found")) { try await http.submit(ARIClient.answerRequest("gone"), on: loop).get() }
            await #expect(throws: ARIError.transport("answer larger than allowed")) {
                try await http.submit(ARIRequest(.GET, "/channels"), on: loop).get()
            }
            await #expect(throws: ARIError.timeout) { try await impatient.submit(ARIRequest(.GET, "/bridges"), on: loop).get() }
            // The answer's callbacks run on the loop that sent the request.
            let onLoop = try await http.submit(ARIClient.answerRequest("c1"), on: loop).map { _ in loop.inEventLoop }.get()
            #expect(onLoop)
        }
    }

    /// A burst of requests from the call flow's loop queues for the pool's 32 connections instead of opening
    /// a connection each (Asterisk allows 100 HTTP sessions in all).
    @Test func aBurstOfSubmittedRequestsStaysWithinThePool() async throws {
        let inFlight = Mutex((now: 0, most: 0))
        let router = Router()
        router.post("/ari/channels/{id}/answer") { _, _ -> Response in
            inFlight.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            try await Task.sleep(for: .milliseconds(30))
            inFlight.withLock { $0.now -= 1 }
            return Response(status: .noContent)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let http = HTTPARITransport(configuration: ARIServerConfiguration(baseURL: "http://127.0.0.1:\(port)/ari", username: "u", password: "p"))
            let all = try await loop.submit {
                EventLoopFuture.whenAllSucceed((0..<200).map { http.submit(ARIClient.answerRequest("c\($0)"), on: loop) }, on: loop)
            }.get().get()
            #expect(all.count == 200 && all.allSatisfy { $0.status == 204 })
            let most = inFlight.withLock { $0.most }
            #expect(most <= 32 && most >= 2, "at most \(most) requests at once")
        }
    }

    @Test func errorStatusMapping() {
        #expect(ARIError(status: 400, message: "m") == .badRequest("m"))
        #expect(ARIError(status: 401, message: "m") == .unauthorized("m"))
        #expect(ARIError(status: 404, message: "m") == .notFound("m"))
        #expect(ARIError(status: 409, message: "m") == .conflict("m"))
        #expect(ARIError(status: 412, message: "m") == .preconditionFailed("m"))
        #expect(ARIError(status: 422, message: "m") == .unprocessable("m"))
        #expect(ARIError(status: 503, message: "m") == .server(status: 503, message: "m"))
        #expect(ARIError(status: 302, message: "m").status == 302)
    }
}
