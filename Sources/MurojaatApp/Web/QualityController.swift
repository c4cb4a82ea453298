import Foundation
import Hummingbird
import Logging
import PostgresNIO

/// Quality evaluation: a form of weighted criteria (some critical), a weekly random sample of each
/// operator's answered calls, scoring while listening, operators reading their own evaluations,
/// supervisors' scores and trends per operator and team, and the `dtm` role's review of answers.
enum QualityForms {
    static let defaultName = "Standart baholash / Стандартная оценка"
    static let criteria: [(uz: String, ru: String, max: Int, weight: Double, critical: Bool)] = [
        ("Salomlashish va o'zini tanishtirish", "Приветствие и представление", 5, 1, false),
        ("Xushmuomalalik va fuqaroga hurmat (\"Inson qadri\")", "Вежливость и уважение к гражданину («Инсон қадри»)", 5, 2, true),
        ("Huquqiy tushuntirishning to'g'riligi", "Правильность правового разъяснения", 5, 3, true),
        ("Masalani hal qilish", "Решение вопроса", 5, 2, false),
        ("Suhbatni yakunlash", "Завершение разговора", 5, 1, false),
    ]

    /// The default form, once.
    static func seed(_ database: PostgresClient, logger: Logger) async throws {
        try await database.transaction(logger: logger) { connection in
            var formID: Int64?
            for try await id in try await connection.query("""
                INSERT INTO qa_forms (name) VALUES (\(defaultName)) ON CONFLICT (name) DO NOTHING RETURNING id
                """, logger: logger).decode(Int64.self) { formID = id }
            guard let formID else { return }
            for (index, criterion) in criteria.enumerated() {
                try await connection.query("""
                    INSERT INTO qa_criteria (form_id, sort, title_uz, title_ru, max_points, weight, critical)
                    VALUES (\(formID), \(index), \(criterion.uz), \(criterion.ru), \(criterion.max)::smallint, \(criterion.weight)::numeric, \(criterion.critical))
                    """, logger: logger)
            }
        }
    }

    /// Σ weight·points/max over scored criteria, as a share of their weights, in percent. A critical
    /// criterion scored below half its maximum fails the evaluation: the score is 0.
    static func score(_ items: [(points: Int?, max: Int, weight: Double, critical: Bool)]) -> (score: Double, criticalFailed: Bool) {
        let scored = items.filter { $0.points != nil }
        let failed = scored.contains { $0.critical && Double($0.points!) < Double($0.max) / 2 }
        let weights = scored.reduce(0) { $0 + $1.weight }
        guard weights > 0 else { return (0, failed) }
        let total = scored.reduce(0) { $0 + $1.weight * Double($1.points!) / Double($1.max) } / weights * 100
        return (failed ? 0 : (total * 100).rounded() / 100, failed)
    }

    /// A random sample of each operator's answered, recorded calls of the last 7 days (`perOperator` each),
    /// as draft evaluations for `evaluator`. A call is sampled at most once per form.
    @discardableResult
    static func sample(_ database: PostgresClient, evaluator: Int64, perOperator: Int, logger: Logger) async throws -> Int {
        try await seed(database, logger: logger)
        var created = 0
        for try await _ in try await database.query("""
            INSERT INTO qa_evaluations (form_id, call_id, operator_id, evaluator_id, mode, status)
            SELECT f.id, s.id, s.operator_id, \(evaluator), 'offline', 'draft'
            FROM (SELECT c.id, c.operator_id, row_number() OVER (PARTITION BY c.operator_id ORDER BY random()) AS n
                  FROM calls c
                  WHERE c.answered_at IS NOT NULL AND c.operator_id IS NOT NULL AND c.started_at >= now() - interval '7 days'
                    AND EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id AND r.state = 'done' AND r.purged_at IS NULL)
                    AND NOT EXISTS (SELECT 1 FROM qa_evaluations e WHERE e.call_id = c.id)) s,
                 (SELECT id FROM qa_forms WHERE active ORDER BY id DESC LIMIT 1) f
            WHERE s.n <= \(perOperator)
            ON CONFLICT DO NOTHING
            RETURNING id
            """, logger: logger).decode(Int64.self) { created += 1 }
        return created
    }
}

struct QualityController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    static let evaluators: Set<Role> = [.supervisor]
    static let reviewers: Set<Role> = [.supervisor, .dtm]

    func addRoutes(to router: Router<AppRequestContext>) {
        let review = router.group("qa").add(middleware: RequireRole(Self.reviewers))
        review.get { request, context in try await overview(request, context) }
        review.get("answers") { request, context in try await answers(request, context) }
        let evaluate = router.group("qa").add(middleware: RequireRole(Self.evaluators))
        evaluate.post("sample") { request, context in try await sample(request, context) }
        evaluate.get("forms") { request, context in try await forms(request, context, errors: FieldErrors(), typed: [:]) }
        evaluate.post("forms") { request, context in try await saveForm(request, context) }
        evaluate.post("evaluations/:id") { request, context in try await score(request, context) }
        router.group("qa").add(middleware: RequireRole(.supervisor, .dtm, .operator))
            .get("evaluations/:id") { request, context in try await evaluation(request, context) }
        let own = router.group("qa").add(middleware: RequireRole(.operator))
        own.get("mine") { request, context in try await mine(request, context) }
        own.post("evaluations/:id/acknowledge") { request, context in try await acknowledge(request, context) }
    }

    func overview(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await QualityForms.seed(web.database, logger: web.logger)
        var drafts: [[String: Any]] = [], operators: [[String: Any]] = [], teams: [[String: Any]] = [], trend: [[String: Any]] = []
        for try await (id, op, started, status, score) in try await web.database.query("""
            SELECT e.id, o.extension || ' ' || u.full_name, coalesce(to_char(c.started_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'), ''), e.status, e.total_score::float8
            FROM qa_evaluations e JOIN operators o ON o.id = e.operator_id JOIN users u ON u.id = o.user_id LEFT JOIN calls c ON c.id = e.call_id
            ORDER BY e.status, e.created_at DESC LIMIT 100
            """, logger: web.logger).decode((Int64, String, String, String, Double?).self) {
            var row: [String: Any] = ["id": id, "operator": op, "started": started, "draft": status == "draft"]
            if let score { row["score"] = String(format: "%.1f", score) }
            drafts.append(row)
        }
        for try await (op, count, average, failed) in try await web.database.query("""
            SELECT o.extension || ' ' || u.full_name, count(*)::int, avg(e.total_score)::float8, count(*) FILTER (WHERE e.critical_failed)::int
            FROM qa_evaluations e JOIN operators o ON o.id = e.operator_id JOIN users u ON u.id = o.user_id
            WHERE e.status = 'final' GROUP BY o.extension, u.full_name ORDER BY 3 DESC
            """, logger: web.logger).decode((String, Int, Double, Int).self) {
            operators.append(["operator": op, "count": count, "average": String(format: "%.1f", average), "failed": failed])
        }
        for try await (team, count, average) in try await web.database.query("""
            SELECT coalesce(t.name, '—'), count(*)::int, avg(e.total_score)::float8
            FROM qa_evaluations e JOIN operators o ON o.id = e.operator_id JOIN users u ON u.id = o.user_id LEFT JOIN teams t ON t.id = u.team_id
            WHERE e.status = 'final' GROUP BY t.name ORDER BY 1
            """, logger: web.logger).decode((String, Int, Double).self) {
            teams.append(["team": team, "count": count, "average": String(format: "%.1f", average)])
        }
        for try await (week, count, average) in try await web.database.query("""
            SELECT to_char(date_trunc('week', e.finalized_at AT TIME ZONE 'Asia/Tashkent'), 'IYYY-"W"IW'), count(*)::int, avg(e.total_score)::float8
            FROM qa_evaluations e WHERE e.status = 'final' AND e.finalized_at > now() - interval '12 weeks' GROUP BY 1 ORDER BY 1
            """, logger: web.logger).decode((String, Int, Double).self) {
            trend.append(["week": week, "count": count, "average": String(format: "%.1f", average)])
        }
        return pages.render("qa", request, context, title: "nav_qa", [
            "evaluations": drafts, "operators": operators, "teams": teams, "trend": trend, "canEvaluate": Self.evaluators.contains(user.role),
            "sampled": request.uri.queryParameters["sampled"].map(String.init) ?? "",
        ])
    }

    func sample(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        let count = form["per_operator"].flatMap(Int.init) ?? 3
        guard (1...20).contains(count) else { return .seeOther("/qa?sampled=0") }
        let created = try await QualityForms.sample(web.database, evaluator: user.id, perOperator: count, logger: web.logger)
        try await audit.record(user, ip: context.remoteAddress, action: "qa.sample", details: ["created": "\(created)"])
        return .seeOther("/qa?sampled=\(created)")
    }

    struct Criterion { var id: Int64; var title: String; var max: Int; var weight: Double; var critical: Bool; var points: Int?; var comment: String }

    func load(_ id: Int64, language: UILanguage) async throws -> (info: [String: Any], criteria: [Criterion], operatorUser: Int64, status: String)? {
        var info: [String: Any]?
        var operatorUser: Int64 = 0
        var status = ""
        var formID: Int64 = 0
        for try await (form, op, opUser, call, started, number, st, score, failed, comment, recording) in try await web.database.query("""
            SELECT e.form_id, o.extension || ' ' || u.full_name, o.user_id, coalesce(e.call_id::text, ''),
                   coalesce(to_char(c.started_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'), ''), coalesce(c.caller_number, ''),
                   e.status, e.total_score::float8, e.critical_failed, coalesce(e.comment, ''),
                   (SELECT r.id FROM recordings r WHERE r.call_id = e.call_id AND r.state = 'done' AND r.purged_at IS NULL ORDER BY r.id DESC LIMIT 1)
            FROM qa_evaluations e JOIN operators o ON o.id = e.operator_id JOIN users u ON u.id = o.user_id LEFT JOIN calls c ON c.id = e.call_id
            WHERE e.id = \(id)
            """, logger: web.logger).decode((Int64, String, Int64, String, String, String, String, Double?, Bool, String, Int64?).self) {
            formID = form
            operatorUser = opUser
            status = st
            var values: [String: Any] = ["id": id, "operator": op, "call": call, "started": started, "number": number, "final": st == "final",
                                         "comment": comment, "criticalFailed": failed]
            if let score { values["score"] = String(format: "%.1f", score) }
            if let recording { values["recording"] = recording }
            info = values
        }
        guard let info else { return nil }
        var criteria: [Criterion] = []
        for try await (cid, uz, ru, max, weight, critical, points, comment) in try await web.database.query("""
            SELECT q.id, q.title_uz, q.title_ru, q.max_points::int, q.weight::float8, q.critical, s.points::int, coalesce(s.comment, '')
            FROM qa_criteria q LEFT JOIN qa_scores s ON s.criterion_id = q.id AND s.evaluation_id = \(id)
            WHERE q.form_id = \(formID) ORDER BY q.sort, q.id
            """, logger: web.logger).decode((Int64, String, String, Int, Double, Bool, Int?, String).self) {
            criteria.append(Criterion(id: cid, title: language == .ru ? ru : uz, max: max, weight: weight, critical: critical, points: points, comment: comment))
        }
        return (info, criteria, operatorUser, status)
    }

    func render(_ request: Request, _ context: AppRequestContext, id: Int64, errors: FieldErrors = FieldErrors(), status: HTTPResponse.Status = .ok) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        guard let (info, criteria, operatorUser, _) = try await load(id, language: language) else { throw HTTPError(.notFound) }
        if user.role == .operator && operatorUser != user.id { throw HTTPError(.notFound) }
        var values = info
        // Where the player was when a draft was saved.
        if let position = request.uri.queryParameters["t"].flatMap({ Double(String($0)) }), position.isFinite, position > 0, position < 86_400 {
            values["position"] = String(format: "%.1f", position)
        }
        values["criteria"] = criteria.map { c in
            ["id": c.id, "title": c.title, "max": c.max, "weight": String(format: "%g", c.weight), "critical": c.critical,
             "points": c.points.map(String.init) ?? "", "comment": c.comment,
             "options": (0...c.max).map { ["value": $0, "selected": c.points == $0] }] as [String: Any]
        }
        values["canEvaluate"] = Self.evaluators.contains(user.role) && info["final"] as? Bool != true
        values["isOperator"] = user.role == .operator
        values["errors"] = Pages.errors(errors, language)
        values["hasErrors"] = !errors.isEmpty
        return pages.render("qa_evaluation", request, context, title: "nav_qa", values, status: status)
    }

    func evaluation(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        return try await render(request, context, id: id)
    }

    /// Saves the points (a draft) or finalises the evaluation with its score; a final one is not changed again.
    func score(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        let form = try await Form.read(request, context)
        let language = Pages.language(request, context)
        guard let (_, criteria, _, status) = try await load(id, language: language) else { throw HTTPError(.notFound) }
        guard status == "draft" else { return .seeOther("/qa/evaluations/\(id)") }
        var errors = FieldErrors()
        var points: [Int64: Int?] = [:]
        for c in criteria {
            let key = "points_\(c.id)"
            if let raw = form[key], raw != "na" {
                if let value = Int(raw), (0...c.max).contains(value) { points[c.id] = value } else { errors.add(key, "err_points") }
            } else {
                points[c.id] = .some(nil)
            }
            if let comment = form["comment_\(c.id)"], comment.count > 1000 { errors.add("comment_\(c.id)", "err_too_long") }
        }
        let finalize = form["finalize"] != nil
        if finalize && criteria.contains(where: { $0.critical && points[$0.id] == .some(nil) }) { errors.add("form", "err_critical_required") }
        if let comment = form["comment"], comment.count > 2000 { errors.add("comment", "err_too_long") }
        guard errors.isEmpty else { return try await render(request, context, id: id, errors: errors, status: .unprocessableContent) }
        let result = QualityForms.score(criteria.map { (points[$0.id] ?? nil, $0.max, $0.weight, $0.critical) })
        let logger = web.logger
        let comments = Dictionary(uniqueKeysWithValues: criteria.map { ($0.id, form["comment_\($0.id)"]) })
        let overall = form["comment"]
        try await web.database.transaction(logger: logger) { connection in
            for c in criteria {
                let value = points[c.id] ?? nil
                try await connection.query("""
                    INSERT INTO qa_scores (evaluation_id, criterion_id, points, comment) VALUES (\(id), \(c.id), \(value.map(Int16.init))::smallint, \(comments[c.id] ?? nil))
                    ON CONFLICT (evaluation_id, criterion_id) DO UPDATE SET points = excluded.points, comment = excluded.comment
                    """, logger: logger)
            }
            try await connection.query("""
                UPDATE qa_evaluations SET total_score = \(result.score)::numeric, critical_failed = \(result.criticalFailed), comment = \(overall),
                       evaluator_id = \(user.id), status = CASE WHEN \(finalize) THEN 'final' ELSE status END,
                       finalized_at = CASE WHEN \(finalize) THEN now() ELSE finalized_at END
                WHERE id = \(id) AND status = 'draft'
                """, logger: logger)
        }
        try await audit.record(user, ip: context.remoteAddress, action: finalize ? "qa.finalize" : "qa.save", objectType: "qa_evaluation", objectId: "\(id)",
                               details: ["score": String(format: "%.2f", result.score)])
        // A draft saved while listening comes back where the player was.
        if !finalize, let position = form["position"].flatMap(Double.init), position.isFinite, position > 0, position < 86_400 {
            return .seeOther("/qa/evaluations/\(id)?t=\(String(format: "%.1f", position))")
        }
        return .seeOther("/qa/evaluations/\(id)")
    }

    func mine(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var rows: [[String: Any]] = []
        for try await (id, started, score, failed, acknowledged, comment) in try await web.database.query("""
            SELECT e.id, coalesce(to_char(c.started_at AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY HH24:MI'), ''), e.total_score::float8, e.critical_failed,
                   e.acknowledged_at IS NOT NULL, coalesce(e.comment, '')
            FROM qa_evaluations e JOIN operators o ON o.id = e.operator_id LEFT JOIN calls c ON c.id = e.call_id
            WHERE o.user_id = \(user.id) AND e.status = 'final' ORDER BY e.finalized_at DESC LIMIT 100
            """, logger: web.logger).decode((Int64, String, Double?, Bool, Bool, String).self) {
            rows.append(["id": id, "started": started, "score": score.map { String(format: "%.1f", $0) } ?? "—", "failed": failed,
                         "acknowledged": acknowledged, "comment": comment])
        }
        return pages.render("qa_mine", request, context, title: "nav_qa_mine", ["rows": rows, "empty": rows.isEmpty])
    }

    func acknowledge(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        _ = try await Form.read(request, context)
        try await web.database.query("""
            UPDATE qa_evaluations e SET acknowledged_at = now() FROM operators o
            WHERE e.id = \(id) AND o.id = e.operator_id AND o.user_id = \(user.id) AND e.status = 'final' AND e.acknowledged_at IS NULL
            """, logger: web.logger)
        return .seeOther("/qa/mine")
    }

    /// Answers given to appeals, for the Center's review.
    func answers(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        let classifier = try await Classifier.load(web.database, logger: web.logger)
        var rows: [[String: Any]] = []
        for try await (id, number, category, answered, answer) in try await web.database.query("""
            SELECT a.id, a.number, a.category_code, coalesce(to_char(coalesce(a.answered_at, a.updated_at) AT TIME ZONE 'Asia/Tashkent', 'DD.MM.YYYY'), ''), a.answer
            FROM appeals a WHERE a.answer IS NOT NULL AND a.answer <> '' ORDER BY coalesce(a.answered_at, a.updated_at) DESC LIMIT 100
            """, logger: web.logger).decode((Int64, String, String, String, String).self) {
            let categoryName = classifier.categories.first { $0.code == category }.map { classifier.name($0, language) } ?? category
            rows.append(["id": id, "number": number, "category": categoryName, "answered": answered, "answer": answer])
        }
        try await audit.record(user, ip: context.remoteAddress, action: "qa.answers_review")
        return pages.render("qa_answers", request, context, title: "nav_qa_answers", ["rows": rows, "empty": rows.isEmpty])
    }

    // MARK: evaluation forms

    static let formRows = 10

    /// The active form and a new version of it to edit. Evaluations keep the form they were made with: a
    /// change is a new form that becomes the active one.
    func forms(_ request: Request, _ context: AppRequestContext, errors: FieldErrors, typed: [String: String],
               status: HTTPResponse.Status = .ok) async throws -> Response {
        let language = Pages.language(request, context)
        try await QualityForms.seed(web.database, logger: web.logger)
        var name = ""
        var current: [(String, String, Int, Double, Bool)] = []
        for try await (formName, uz, ru, max, weight, critical) in try await web.database.query("""
            SELECT f.name, q.title_uz, q.title_ru, q.max_points::int, q.weight::float8, q.critical
            FROM qa_forms f JOIN qa_criteria q ON q.form_id = f.id
            WHERE f.id = (SELECT id FROM qa_forms WHERE active ORDER BY id DESC LIMIT 1) ORDER BY q.sort, q.id
            """, logger: web.logger).decode((String, String, String, Int, Double, Bool).self) {
            name = formName
            current.append((uz, ru, max, weight, critical))
        }
        let messages = Pages.errors(errors, language)
        let rows: [[String: Any]] = (0..<Self.formRows).map { index in
            let existing = index < current.count ? current[index] : nil
            func value(_ key: String, _ fallback: String) -> String { typed.isEmpty ? fallback : (typed["\(key)_\(index)"] ?? "") }
            var row: [String: Any] = ["index": index,
                                      "uz": value("uz", existing?.0 ?? ""), "ru": value("ru", existing?.1 ?? ""),
                                      "max": value("max", existing.map { String($0.2) } ?? "5"),
                                      "weight": value("weight", existing.map { String(format: "%g", $0.3) } ?? "1"),
                                      "critical": typed.isEmpty ? (existing?.4 ?? false) : typed["critical_\(index)"] != nil]
            if let error = messages["row_\(index)"] as? String { row["error"] = error }
            return row
        }
        return pages.render("qa_forms", request, context, title: "nav_qa_forms", [
            "current": name, "name": typed["name"] ?? "", "rows": rows, "hasErrors": !errors.isEmpty, "errors": messages,
            "saved": request.uri.queryParameters["saved"] != nil,
        ], status: status)
    }

    func saveForm(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        var errors = FieldErrors()
        let name = form["name"] ?? ""
        if !(3...100).contains(name.count) { errors.add("name", "err_form_name") }
        var criteria: [(String, String, Int, Double, Bool)] = []
        for index in 0..<Self.formRows {
            let uz = form["uz_\(index)"] ?? "", ru = form["ru_\(index)"] ?? ""
            if uz.isEmpty && ru.isEmpty { continue }
            guard (2...200).contains(uz.count), (2...200).contains(ru.count),
                  let max = form["max_\(index)"].flatMap(Int.init), (1...10).contains(max),
                  let weight = form["weight_\(index)"].flatMap({ Double($0.replacingOccurrences(of: ",", with: ".")) }), weight >= 0.1, weight <= 10 else {
                errors.add("row_\(index)", "err_criterion")
                continue
            }
            criteria.append((uz, ru, max, weight, form["critical_\(index)"] != nil))
        }
        if criteria.isEmpty && errors.isEmpty { errors.add("name", "err_form_empty") }
        guard errors.isEmpty else { return try await forms(request, context, errors: errors, typed: form.echo, status: .unprocessableContent) }
        let logger = web.logger
        do {
            try await web.database.transaction(logger: logger) { connection in
                var formID: Int64 = 0
                for try await id in try await connection.query("""
                    INSERT INTO qa_forms (name, created_by) VALUES (\(name), \(user.id)) RETURNING id
                    """, logger: logger).decode(Int64.self) { formID = id }
                for (index, c) in criteria.enumerated() {
                    try await connection.query("""
                        INSERT INTO qa_criteria (form_id, sort, title_uz, title_ru, max_points, weight, critical)
                        VALUES (\(formID), \(index), \(c.0), \(c.1), \(Int16(c.2))::smallint, \(c.3)::numeric, \(c.4))
                        """, logger: logger)
                }
                try await connection.query("UPDATE qa_forms SET active = (id = \(formID))", logger: logger)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            var errors = FieldErrors()
            errors.add("name", "err_form_taken")
            return try await forms(request, context, errors: errors, typed: form.echo, status: .unprocessableContent)
        }
        try await audit.record(user, ip: context.remoteAddress, action: "qa.form", objectType: "qa_form", objectId: name,
                               details: ["criteria": "\(criteria.count)"])
        return .seeOther("/qa/forms?saved=1")
    }
}
