import CallCenter
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// What the wallboard shows, in codes (the page translates them): calls in the IVR and waiting per
/// language, the longest wait, operators by state with time in state, today's figures, alerts, and the
/// calls in progress that a supervisor may listen to, whisper to or join.
struct WallboardSnapshot: Codable, Sendable, Equatable {
    struct Agent: Codable, Sendable, Equatable { var id: Int64; var name: String; var ext: String; var state: String; var reason: String?; var seconds: Int }
    struct Call: Codable, Sendable, Equatable {
        var id: String; var number: String; var language: String; var phase: String; var seconds: Int; var operatorName: String?
    }
    struct Today: Codable, Sendable, Equatable {
        var received = 0, answered = 0, abandoned = 0
        var serviceLevel: Double?, abandonment: Double?, asa: Double?, aht: Double?
    }
    struct Alert: Codable, Sendable, Equatable { var kind: String; var message: String; var at: String }

    var at: String
    /// The centre's time of day, HH:mm:ss in the configured zone, as the wallboard shows it.
    var clock: String
    var inIVR: [String: Int]
    var waiting: [String: Int]
    var longestWait: Int
    var agentsByState: [String: Int]
    var agents: [Agent]
    var calls: [Call]
    var today: Today
    var target: Double
    var alerts: [Alert]
}

/// Computes the snapshot once a second at most, whatever the number of screens watching.
actor WallboardFeed {
    let web: WebContext
    var cached: (ContinuousClock.Instant, WallboardSnapshot)?
    var today: (ContinuousClock.Instant, WallboardSnapshot.Today, [WallboardSnapshot.Alert], Double)?
    var since: [Int64: (String, Date)] = [:]

    init(web: WebContext) { self.web = web }

    func snapshot() async throws -> WallboardSnapshot {
        let now = ContinuousClock.now
        if let cached, now - cached.0 < .milliseconds(900) { return cached.1 }
        let snapshot = try await compute()
        cached = (ContinuousClock.now, snapshot)
        return snapshot
    }

    func compute() async throws -> WallboardSnapshot {
        let date = Date()
        let (agents, calls) = await web.callCenter?.liveSnapshot() ?? ([], [])
        if since.isEmpty {
            for try await (id, state, at) in try await web.database.query("SELECT id, state, state_since FROM operators", logger: web.logger)
                .decode((Int64, String, Date).self) { since[id] = (state, at) }
        }
        var byState: [String: Int] = [:]
        var agentRows: [WallboardSnapshot.Agent] = []
        for agent in agents {
            let state = agent.state.rawValue
            if since[agent.id]?.0 != state { since[agent.id] = (state, date) }
            byState[state, default: 0] += 1
            agentRows.append(.init(id: agent.id, name: agent.name, ext: agent.extensionNumber, state: state, reason: agent.pauseReason,
                                   seconds: Int(date.timeIntervalSince(since[agent.id]?.1 ?? date))))
        }
        let names = Dictionary(uniqueKeysWithValues: agents.map { ($0.id, $0.name) })
        var inIVR: [String: Int] = ["uz": 0, "ru": 0, "": 0], waiting: [String: Int] = ["uz": 0, "ru": 0, "": 0]
        var longest = 0
        var callRows: [WallboardSnapshot.Call] = []
        for call in calls where call.endedAt == nil {
            let language = call.language?.rawValue ?? ""
            let phase: String
            if call.answeredAt != nil {
                phase = "talking"
            } else if let queued = call.queuedAt {
                phase = "waiting"
                waiting[language, default: 0] += 1
                longest = max(longest, Int(date.timeIntervalSince(queued)))
            } else {
                phase = "ivr"
                inIVR[language, default: 0] += 1
            }
            callRows.append(.init(id: call.id.uuidString.lowercased(), number: call.callerNumber, language: language, phase: phase,
                                  seconds: Int(date.timeIntervalSince(call.answeredAt ?? call.queuedAt ?? call.startedAt)),
                                  operatorName: call.operatorId.flatMap { names[$0] }))
        }
        let (today, storedAlerts, target) = try await figures()
        var alerts = storedAlerts
        let waitingTotal = waiting.values.reduce(0, +)
        if waitingTotal > 0 && (byState["ready"] ?? 0) == 0 {
            alerts.insert(.init(kind: "no_operator_ready", message: "\(waitingTotal)", at: ""), at: 0)
        }
        if let level = today.serviceLevel, level < target, today.received >= 10 {
            alerts.insert(.init(kind: "service_level_low", message: String(format: "%.1f%%", level), at: ""), at: 0)
        }
        return WallboardSnapshot(at: ISO8601DateFormatter().string(from: date), clock: DisplayTime.clock(date, web.configuration.timeZone), inIVR: inIVR, waiting: waiting, longestWait: longest,
                                 agentsByState: byState, agents: agentRows, calls: callRows.sorted { $0.seconds > $1.seconds }, today: today,
                                 target: target, alerts: alerts)
    }

    /// Today's figures and alerts, read from the database at most every 10 seconds.
    func figures() async throws -> (WallboardSnapshot.Today, [WallboardSnapshot.Alert], Double) {
        if let today, ContinuousClock.now - today.0 < .seconds(10) { return (today.1, today.2, today.3) }
        let zone = web.configuration.timeZone.identifier
        let settings = try await NotificationSettings.load(web.database, logger: web.logger)
        let threshold = settings.answerThresholdSeconds
        let target = settings["stats.service_level_target"].flatMap(Double.init) ?? 80
        var figures = WallboardSnapshot.Today()
        for try await (received, answered, ivr, queue, within, answeredWait, talk) in try await web.database.query("""
            SELECT count(*)::int, count(*) FILTER (WHERE outcome IN ('answered', 'callback_done'))::int, count(*) FILTER (WHERE outcome = 'abandoned_ivr')::int,
                   count(*) FILTER (WHERE outcome = 'abandoned_queue')::int,
                   count(*) FILTER (WHERE answered_at IS NOT NULL AND coalesce(wait_seconds, 0) <= \(threshold))::int,
                   coalesce(sum(wait_seconds) FILTER (WHERE answered_at IS NOT NULL), 0)::bigint, coalesce(sum(talk_seconds), 0)::bigint
            FROM calls WHERE direction = 'inbound' AND outcome <> 'in_progress'
              AND started_at >= ((now() AT TIME ZONE \(zone))::date::timestamp AT TIME ZONE \(zone))
            """, logger: web.logger).decode((Int, Int, Int, Int, Int, Int64, Int64).self) {
            let offered = received - ivr
            figures = .init(received: received, answered: answered, abandoned: queue,
                            serviceLevel: offered > 0 ? Double(within) * 100 / Double(offered) : nil,
                            abandonment: offered > 0 ? Double(queue) * 100 / Double(offered) : nil,
                            asa: answered > 0 ? Double(answeredWait) / Double(answered) : nil,
                            aht: answered > 0 ? Double(talk) / Double(answered) : nil)
        }
        var alerts: [WallboardSnapshot.Alert] = []
        for try await (kind, message, at) in try await web.database.query("""
            SELECT kind, message, to_char(created_at AT TIME ZONE \(zone), 'HH24:MI') FROM alerts
            WHERE acknowledged_at IS NULL AND severity <> 'info' AND created_at > now() - interval '24 hours' ORDER BY created_at DESC LIMIT 10
            """, logger: web.logger).decode((String, String, String).self) {
            alerts.append(.init(kind: kind, message: message, at: at))
        }
        today = (ContinuousClock.now, figures, alerts, target)
        return (figures, alerts, target)
    }
}

struct WallboardController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages
    let feed: WallboardFeed

    static let viewers: Set<Role> = [.supervisor, .dtm]

    func addRoutes(to router: Router<AppRequestContext>) {
        let group = router.group("wallboard").add(middleware: RequireRole(Self.viewers))
        group.get { request, context in try await page(request, context) }
        group.get("state") { _, _ in try json(try await feed.snapshot()) }
        group.get("events") { request, context in try await events(request, context) }
        router.group("wallboard").add(middleware: RequireRole(.supervisor)).post("monitor") { request, context in try await monitor(request, context) }
    }

    func json(_ value: some Encodable) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
    }

    func page(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        var labels: [String: String] = [:]
        for key in AgentState.allCases.map({ "state_\($0.rawValue)" }) + ["phase_ivr", "phase_waiting", "phase_talking", "alert_no_operator_ready",
                                                                           "alert_service_level_low", "alert_recording_failed", "monitor_listen",
                                                                           "monitor_whisper", "monitor_barge", "alert_ari_connected", "lang_uz", "lang_ru"]
            + PanelController.pauseReasons.map({ "reason_\($0)" }) + ["reason_no_answer", "reason_busy", "reason_unreachable", "reason_lost"] {
            labels[key] = Strings.text(key, language)
        }
        let labelJSON = String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
        return pages.render("wallboard", request, context, title: "nav_wallboard", [
            "labels": labelJSON, "canMonitor": user.role == .supervisor,
            "monitored": request.uri.queryParameters["monitor"].map(String.init) ?? "",
            "error": request.uri.queryParameters["error"].map { Strings.text("err_monitor_\($0)", language) } ?? "",
        ])
    }

    func events(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser()
        let feed = self.feed
        let logger = web.logger
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            try await withGracefulShutdownHandler {
                var last: WallboardSnapshot?
                var quiet = 0
                while !Task.isCancelled {
                    do {
                        let snapshot = try await feed.snapshot()
                        if snapshot != last || quiet >= 15 {
                            let data = String(decoding: try JSONEncoder().encode(snapshot), as: UTF8.self)
                            try await writer.write(ByteBuffer(string: "event: state\ndata: \(data)\n\n"))
                            last = snapshot
                            quiet = 0
                        } else {
                            quiet += 1
                        }
                    } catch let error as PSQLError {
                        logger.warning("wallboard: database unavailable", metadata: ["error": "\(String(reflecting: error))"])
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            } onGracefulShutdown: {}
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"], body: body)
    }

    /// The supervisor's phone (an extension) rings and is connected to the call to listen, whisper or join.
    func monitor(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        guard let callText = form["call"], let call = UUID(uuidString: callText) else { return .seeOther("/wallboard?error=call") }
        guard let modeText = form["mode"], let mode = MonitorMode(rawValue: modeText) else { return .seeOther("/wallboard?error=mode") }
        guard let ext = form["extension"], (2...10).contains(ext.count), ext.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return .seeOther("/wallboard?error=extension")
        }
        guard let center = web.callCenter else { return .seeOther("/wallboard?error=telephony") }
        let endpoint = web.configuration.callFlow.operatorEndpointTemplate.replacingOccurrences(of: "{extension}", with: ext)
        do {
            let id = try await center.monitor(call: call, supervisorEndpoint: endpoint, mode: mode)
            try await audit.record(user, ip: context.remoteAddress, action: "call.monitor", objectType: "call", objectId: call.uuidString.lowercased(),
                                   details: ["mode": mode.rawValue, "endpoint": endpoint, "monitor": id])
            return .seeOther("/wallboard?monitor=\(mode.rawValue)")
        } catch {
            return .seeOther("/wallboard?error=call")
        }
    }
}
