import ARI
import Foundation
import Hummingbird
import NIOCore

/// Back doors for tests and the demo, as wazo's fake ARI server has: place calls, press keys,
/// hang up callers, program phones, read back every request, drop or poison the event sockets.
public enum SimulatorControlAPI {
    struct PlaceCall: Decodable { var from: String; var to: String; var app: String?; var callerName: String? }
    struct Digits: Decodable { var digits: String; var gapMs: Int? }
    struct Raw: Decodable { var app: String?; var text: String?; var repeatCharacters: Int? }
    struct Scale: Decodable { var scale: Double }
    struct Load: Decodable { var concurrency: Int; var total: Int; var app: String? }
    struct LoadResult: Encodable { var completed: Int; var failed: Int }

    static func addRoutes(to router: Router<BasicRequestContext>, simulator: AsteriskSimulator) {
        let control = router.group("/_sim")
        control.post("/calls") { request, context -> Response in
            let body = try await request.decode(as: PlaceCall.self, context: context)
            do {
                let id = try await simulator.placeCall(from: body.from, to: body.to, app: body.app ?? "murojaat", callerName: body.callerName ?? "")
                return json(["channelId": id], status: .created)
            } catch {
                return json(["error": "\(error)"], status: .conflict)
            }
        }
        control.post("/channels/:id/dtmf") { request, context -> Response in
            let body = try await request.decode(as: Digits.self, context: context)
            let id = try context.parameters.require("id")
            do { try await simulator.pressDigits(body.digits, on: id, gapMs: body.gapMs ?? 400) } catch { return json(["error": "\(error)"], status: .notFound) }
            return Response(status: .noContent)
        }
        control.post("/channels/:id/hangup") { _, context -> Response in
            let id = try context.parameters.require("id")
            do { try await simulator.remoteHangup(id) } catch { return json(["error": "\(error)"], status: .notFound) }
            return Response(status: .noContent)
        }
        control.put("/phones/:resource") { request, context -> Response in
            let behaviour = try await request.decode(as: PhoneBehaviour.self, context: context)
            await simulator.setPhone(try context.parameters.require("resource"), behaviour)
            return Response(status: .noContent)
        }
        control.delete("/phones/:resource") { _, context -> Response in
            await simulator.removePhone(try context.parameters.require("resource"))
            return Response(status: .noContent)
        }
        control.get("/requests") { _, _ -> Response in
            json(await simulator.receivedRequests())
        }
        control.get("/answer-waits") { _, _ -> Response in
            json(await simulator.answerWaitsMilliseconds())
        }
        control.delete("/requests") { _, _ -> Response in
            await simulator.clearRequests()
            return Response(status: .noContent)
        }
        // Long poll: answers 204 once the channel is gone (or 408 after `timeout` seconds).
        control.get("/channels/:id/gone") { request, context -> Response in
            let id = try context.parameters.require("id")
            let timeout = request.uri.queryParameters["timeout"].flatMap { Double(String($0)) } ?? 30
            let gone = await simulator.waitUntilGone(id, timeout: timeout)
            return Response(status: gone ? .noContent : .requestTimeout)
        }
        control.get("/channels") { _, _ -> Response in
            json(await simulator.channelIds())
        }
        control.post("/sockets/drop") { _, _ -> Response in
            await simulator.dropSockets()
            return Response(status: .noContent)
        }
        // Runs generated callers to the end and answers how many calls completed (a long request).
        control.post("/load") { request, context -> Response in
            let body = try await request.decode(as: Load.self, context: context)
            guard (1...5000).contains(body.concurrency), (1...10_000_000).contains(body.total) else { return Response(status: .badRequest) }
            let result = await simulator.runLoad(concurrency: body.concurrency, total: body.total, app: body.app ?? "murojaat")
            return json(LoadResult(completed: result.completed, failed: result.failed))
        }
        control.post("/restart") { _, _ -> Response in
            await simulator.restart()
            return Response(status: .noContent)
        }
        control.post("/sockets/send") { request, context -> Response in
            let body = try await request.decode(as: Raw.self, context: context)
            let text = body.text ?? String(repeating: "x", count: body.repeatCharacters ?? 0)
            await simulator.sendRaw(text, app: body.app)
            return Response(status: .noContent)
        }
        control.put("/timescale") { request, context -> Response in
            let body = try await request.decode(as: Scale.self, context: context)
            await simulator.setTimeScale(body.scale)
            return Response(status: .noContent)
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension AsteriskSimulator {
    /// Closes every event socket, as a network failure or an Asterisk restart would.
    public func dropSockets() {
        for sink in sinks.values { sink.continuation.finish() }
        sinks.removeAll()
    }

    /// Asterisk restarts: sockets close, every channel, bridge, playback and live recording is gone
    /// without a single event, applications are forgotten until they connect again, and the startup
    /// time changes. Stored recordings and phones survive (they are on disk and in pjsip.conf).
    public func restart() {
        for timer in timers.values { timer.cancel() }
        timers.removeAll()
        dropSockets()
        for id in Array(channels.keys) { channelGone(id) }
        channels.removeAll()
        bridges.removeAll()
        playbacks.removeAll()
        liveRecordings.removeAll()
        applications.removeAll()
        startedAt = Date()
    }

    /// Sends a raw text frame (malformed JSON, an unknown event, an oversized frame) to one app or all.
    public func sendRaw(_ text: String, app: String? = nil) {
        for (name, sink) in sinks where app == nil || app == name {
            sink.continuation.yield(text)
        }
    }

    /// Waits until no channel has this id (real seconds); false on timeout. Waiters are woken by the
    /// channel's removal, not by polling: hundreds of them cost nothing while they wait.
    public func waitUntilGone(_ id: String, timeout: Double) async -> Bool {
        guard channels[id] != nil else { return true }
        let waiter = UUID()
        return await withCheckedContinuation { continuation in
            goneWaiters[id, default: [:]][waiter] = continuation
            after(seconds: timeout / max(timeScale, 0.000_001)) { sim in
                if let pending = sim.goneWaiters[id]?.removeValue(forKey: waiter) { pending.resume(returning: false) }
            }
        }
    }

    func channelGone(_ id: String) {
        guard let waiters = goneWaiters.removeValue(forKey: id) else { return }
        for continuation in waiters.values { continuation.resume(returning: true) }
    }

    /// Sends a well-formed event, for tests of event handling.
    public func inject(_ event: ARIEvent, app: String) {
        emit(event, to: [app])
    }
}
