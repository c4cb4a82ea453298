import CallCenter
import Foundation
import Hummingbird
import PostgresNIO
import ServiceLifecycle

/// The operator's help panel: own state, a live caller card over Server-Sent Events, the appeal card,
/// and the knowledge base beside it.
struct PanelController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    func addRoutes(to router: Router<AppRequestContext>) {
        let panel = router.group("panel").add(middleware: RequireRole(.operator))
        panel.get { request, context in try await page(request, context) }
        panel.post("state") { request, context in try await setState(request, context) }
        panel.get("events") { request, context in try await events(request, context) }
        panel.post("appeal") { request, context in try await saveAppeal(request, context) }
        let kb = router.group("kb").add(middleware: RequireRole(.operator, .editor, .supervisor))
        kb.get("search") { request, context in try await searchKnowledgeBase(request, context) }
    }

    static let pauseReasons = ["break", "lunch", "training", "meeting"]

    func page(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        let state = await currentState(user)
        return pages.render("panel", request, context, title: "nav_panel", [
            "isOperator": user.operatorId != nil,
            "state": state.map { Strings.text("state_\($0.state.rawValue)", language) } ?? Strings.text("state_offline", language),
            "reason": state.flatMap { $0.state == .paused ? $0.pauseReason.map { Strings.text("reason_\($0)", language) } : nil } ?? "",
            "wrapUpSeconds": Int(web.callCenter?.settings.wrapUpSeconds ?? 30),
            "stateCode": state?.state.rawValue ?? "offline",
            "busy": state.map { [.ringing, .onCall].contains($0.state) } ?? false,
            "stateError": request.uri.queryParameters["error"] == "busy" ? Strings.text("state_buttons_busy", language) : "",
            "reasons": Self.pauseReasons.map { ["code": $0, "name": Strings.text("reason_\($0)", language)] },
            "categories": classifier.options(classifier.categories, selected: nil, language: language),
            "regions": classifier.options(classifier.regions, selected: nil, language: language),
            "topics": classifier.options(classifier.topics.filter { $0.parent == nil }, selected: nil, language: language),
            "subtopics": classifier.options(classifier.topics.filter { $0.parent != nil }, selected: nil, language: language),
            "telephony": web.callCenter != nil,
            "once": FormOnce.newKey(),
        ])
    }

    func currentState(_ user: SessionUser) async -> OperatorInfo? {
        guard let center = web.callCenter, let id = user.operatorId else { return nil }
        return await center.agentSnapshot().first { $0.id == id }
    }

    func setState(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        guard let operatorId = user.operatorId else { throw HTTPError(.conflict, message: "not_an_operator") }
        guard let center = web.callCenter else { throw HTTPError(.conflict, message: "telephony_off") }
        let state: AgentState
        var reason: String?
        switch form["state"] {
        case "ready": state = .ready
        case "paused":
            state = .paused
            guard let chosen = form["reason"], Self.pauseReasons.contains(chosen) else { throw HTTPError(.badRequest, message: "err_choice") }
            reason = chosen
        case "offline": state = .offline
        default: throw HTTPError(.badRequest, message: "err_choice")
        }
        // The panel sends this with fetch and shows the answer in place; without script, back to the panel with the reason.
        let wantsJSON = request.headers[.accept]?.contains("application/json") == true
        let language = Pages.language(request, context)
        do {
            try await center.setAgentState(operatorId, state, reason: reason)
        } catch {
            guard wantsJSON else { return .seeOther("/panel?error=busy") }
            return try json(StateResult(ok: false, message: Strings.text("state_buttons_busy", language)), status: .conflict)
        }
        if wantsJSON {
            let frame = Self.stateFrame(state, reason: reason, language)
            return try json(StateResult(ok: true, message: "", state: state.rawValue, label: frame["label"], reason: frame["reason"]))
        }
        return .seeOther("/panel")
    }

    struct StateResult: Encodable {
        var ok: Bool
        var message: String
        var state: String?
        var label: String?
        var reason: String?
    }

    // MARK: screen pop

    struct CallerCard: Encodable {
        var callId: String
        var number: String
        var language: String
        var topic: String
        var repeated: Bool
        var phase: String
        /// What the caller chose in the IVR, as the appeal card's codes (the card is pre-filled with them).
        var languageCode: String
        var topicCode: String
        var earlier: [String]
    }

    func card(_ record: CallRecord, phase: String, language: UILanguage) async -> CallerCard {
        var earlier: [String] = []
        let formatter = DateFormatter()
        formatter.timeZone = web.configuration.timeZone
        formatter.dateFormat = "dd.MM.yyyy HH:mm"
        let phone = AppealDraft.normalisePhone(record.callerNumber) ?? record.callerNumber
        if let rows = try? await web.database.query("""
            SELECT number, status, created_at, left(text, 80) FROM appeals WHERE phone = \(phone) ORDER BY created_at DESC LIMIT 5
            """, logger: web.logger) {
            do {
                for try await (number, status, at, text) in rows.decode((String, String, Date, String).self) {
                    earlier.append("\(number) · \(formatter.string(from: at)) · \(Strings.text("status_\(status)", language)) · \(text)")
                }
            } catch {}
        }
        if let rows = try? await web.database.query("""
            SELECT started_at, outcome FROM calls WHERE caller_number = \(record.callerNumber) AND id <> \(record.id)
            ORDER BY started_at DESC LIMIT 5
            """, logger: web.logger) {
            do {
                for try await (at, outcome) in rows.decode((Date, String).self) {
                    earlier.append("\(Strings.text("call", language)) · \(formatter.string(from: at)) · \(Strings.text("outcome_\(outcome)", language))")
                }
            } catch {}
        }
        var topic = record.topic ?? ""
        if let code = record.topic, let rows = try? await web.database.query("SELECT name_uz, name_ru FROM topics WHERE code = \(code)", logger: web.logger) {
            do {
                for try await (uz, ru) in rows.decode((String, String).self) { topic = language == .ru ? ru : uz }
            } catch {}
        }
        return CallerCard(callId: record.id.uuidString.lowercased(), number: record.callerNumber,
                          language: record.language.map { Strings.text("lang_\($0.rawValue)", language) } ?? "—",
                          topic: topic, repeated: record.repeated, phase: phase, languageCode: record.language?.rawValue ?? "",
                          topicCode: record.topic ?? "", earlier: earlier)
    }

    /// `text/event-stream`: `state` when the operator's state changes, `call` when a call is offered or
    /// answered (the caller card), `phone` whether the operator's phone is reachable (offline: no calls, and why), `unoffered` when an offer ends unanswered (the card goes), `ended` when it ends; a comment every 15 s keeps proxies from closing it.
    func events(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let operatorId = user.operatorId, let center = web.callCenter else { throw HTTPError(.conflict, message: "not_an_operator") }
        let language = Pages.language(request, context)
        let subscription = center.events.subscribe(operatorId: operatorId)
        let (lines, sink) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(200))
        let (agents, calls) = await center.liveSnapshot()
        let initial = agents.first { $0.id == operatorId }
        let live = calls.first { $0.operatorId == operatorId && $0.endedAt == nil }
        let this = self
        let producer = Task {
            if let initial { sink.yield(Self.frame("state", Self.stateFrame(initial.state, reason: initial.pauseReason, language))) }
            let phoneFrame = { (reachable: Bool) in
                Self.frame("phone", ["reachable": reachable ? "yes" : "no", "label": reachable ? "" : Strings.text("phone_offline", language)])
            }
            sink.yield(phoneFrame(await center.phoneReachability(operatorId)))
            if let live { sink.yield(Self.frame("call", await this.card(live, phase: "answered", language: language))) }
            for await event in subscription {
                switch event {
                case .agentStateChanged(let id, let state, let reason) where id == operatorId:
                    sink.yield(Self.frame("state", Self.stateFrame(state, reason: reason, language)))
                case .callOffered(let record, let id) where id == operatorId:
                    sink.yield(Self.frame("call", await this.card(record, phase: "offered", language: language)))
                case .callAnswered(let record, let id) where id == operatorId:
                    sink.yield(Self.frame("call", await this.card(record, phase: "answered", language: language)))
                case .phoneReachability(let id, let reachable) where id == operatorId:
                    sink.yield(phoneFrame(reachable))
                case .offerEnded(let callId, let id) where id == operatorId:
                    sink.yield(Self.frame("unoffered", ["callId": callId.uuidString.lowercased()]))
                case .callEnded(let record) where record.operatorId == operatorId:
                    sink.yield(Self.frame("ended", ["callId": record.id.uuidString.lowercased()]))
                default:
                    break
                }
            }
            sink.finish()
        }
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                sink.yield(": keep-alive\n\n")
            }
        }
        let body = ResponseBody { writer in
            defer {
                producer.cancel()
                heartbeat.cancel()
            }
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            // Server shutdown ends the stream at once instead of waiting for the next heartbeat.
            try await withGracefulShutdownHandler {
                for await line in lines {
                    try await writer.write(ByteBuffer(string: line))
                }
            } onGracefulShutdown: {
                sink.finish()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store"], body: body)
    }

    /// The state as the panel shows it: its name, why when paused, and how long wrap-up lasts.
    static func stateFrame(_ state: AgentState, reason: String?, _ language: UILanguage) -> [String: String] {
        var frame = ["state": state.rawValue, "label": Strings.text("state_\(state.rawValue)", language)]
        if state == .paused, let reason { frame["reason"] = Strings.text("reason_\(reason)", language) }
        return frame
    }

    static func frame(_ name: String, _ value: some Encodable) -> String {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return "event: \(name)\ndata: \(String(decoding: data, as: UTF8.self))\n\n"
    }

    // MARK: appeal card

    struct SaveResult: Encodable {
        var ok: Bool
        var number: String?
        var message: String?
        var errors: [String: String]
        var once: String?
    }

    func saveAppeal(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        let form = try await Form.read(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        var (draft, errors) = AppealDraft.from(form, source: "call", classifier: classifier, requireName: false, requireOutcome: true)
        draft.operatorId = user.operatorId
        draft.createdBy = user.id
        if let callId = draft.callId {
            // Only a call this operator took (or none): another operator's call id is refused.
            var owner: Int64??
            for try await value in try await web.database.query("SELECT operator_id FROM calls WHERE id = \(callId)", logger: web.logger).decode(Int64?.self) {
                owner = .some(value)
            }
            // The live call flow knows first: its journal writes the operator to the row within a moment of the answer.
            if let live = await web.callCenter?.callSnapshot().first(where: { $0.id == callId }) {
                if let liveOwner = live.operatorId { owner = .some(liveOwner) } else if owner == nil { owner = .some(nil) }
            }
            switch owner {
            case .none: errors.add("call_id", "bad_request")
            case .some(let value) where value != nil && value != user.operatorId: errors.add("call_id", "forbidden")
            default: break
            }
        }
        guard errors.isEmpty else {
            var messages: [String: String] = [:]
            for (field, key) in errors.messages { messages[field] = Strings.text(key, language) }
            return try json(SaveResult(ok: false, message: Strings.text("form_has_errors", language), errors: messages), status: .unprocessableContent)
        }
        let created = try await AppealRepository(database: web.database, logger: web.logger, publicURL: web.configuration.publicURL)
            .create(draft, classifier: classifier, once: FormOnce.key(form))
        if !created.repeated {
            try await audit.record(user, ip: context.remoteAddress, action: "appeal.create", objectType: "appeal", objectId: "\(created.id)",
                                   details: ["number": created.number])
        }
        // The card's next appeal gets a key of its own.
        return try json(SaveResult(ok: true, number: created.number, message: Strings.text("saved", language), errors: [:], once: FormOnce.newKey()),
                        status: created.repeated ? .ok : .created)
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
    }

    // MARK: knowledge base

    struct Article: Encodable { var id: Int64; var kind: String; var title: String; var body: String }

    /// Full-text search over FAQ answers and call scripts in the page's language, best matches first;
    /// without words, the articles of the chosen topic.
    func searchKnowledgeBase(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let language = Pages.language(request, context)
        let query = String((request.uri.queryParameters["q"].map(String.init) ?? "").prefix(200))
        let topic = request.uri.queryParameters["topic"].map(String.init).flatMap { $0.isEmpty || $0.count > 64 ? nil : $0 }
        let words = query.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).prefix(8).map { String($0).lowercased() + ":*" }
        let tsquery = words.joined(separator: " & ")
        var articles: [Article] = []
        let rows: PostgresRowSequence
        if tsquery.isEmpty {
            rows = try await web.database.query("""
                SELECT id, kind, title, body FROM kb_articles
                WHERE active AND language = \(language.rawValue) AND (\(topic)::text IS NULL OR topic_code = \(topic) OR topic_code LIKE \(topic.map { $0 + ".%" }))
                ORDER BY kind, title LIMIT 20
                """, logger: web.logger)
        } else {
            rows = try await web.database.query("""
                SELECT id, kind, title, body FROM kb_articles
                WHERE active AND language = \(language.rawValue) AND search @@ to_tsquery('simple', \(tsquery))
                ORDER BY ts_rank(search, to_tsquery('simple', \(tsquery))) DESC, title LIMIT 20
                """, logger: web.logger)
        }
        for try await (id, kind, title, body) in rows.decode((Int64, String, String, String).self) {
            articles.append(Article(id: id, kind: kind, title: title, body: body))
        }
        return try json(articles)
    }
}
