import Foundation
import Hummingbird
import NIOCore
import PostgresNIO
import ZIPFoundation

/// The recordings library: calls searched by period, number, operator, topic and outcome; each recording
/// played in the browser with seeking (HTTP Range) or downloaded; several as one ZIP with an index.
/// Every play, download and ZIP is written to the audit log.
struct RecordingsController: Sendable {
    let web: WebContext
    let audit: AuditLog
    let pages: Pages

    static let listeners: Set<Role> = [.supervisor, .dtm]
    static let pageSize = 50

    func addRoutes(to router: Router<AppRequestContext>) {
        router.group("calls").add(middleware: RequireRole(Self.listeners)).get { request, context in try await list(request, context) }
        let recordings = router.group("recordings").add(middleware: RequireRole(Self.listeners))
        recordings.get(":id/audio") { request, context in try await audio(request, context) }
        recordings.post("zip") { request, context in try await zip(request, context) }
    }

    struct Search {
        var from: String
        var to: String
        var number: String?
        var operatorID: Int64?
        var topic: String?
        var outcome: String?
        var page = 1
    }

    static let outcomes = ["answered", "abandoned_ivr", "abandoned_queue", "operator_no_answer", "callback_requested", "callback_done", "lost", "in_progress"]

    func search(_ request: Request) -> (Search, FieldErrors) {
        let query = request.uri.queryParameters
        func text(_ key: String) -> String? {
            guard let value = query[Substring(key)].map(String.init)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        var errors = FieldErrors()
        let today = StatsRollup.day(Date(), web.configuration.timeZone)
        let weekAgo = StatsRollup.day(Date().addingTimeInterval(-6 * 86400), web.configuration.timeZone)
        var search = Search(from: weekAgo, to: today)
        if let from = text("from") { if let day = DisplayTime.isoDay(from) { search.from = day } else { errors.add("from", "err_date") } }
        if let to = text("to") { if let day = DisplayTime.isoDay(to) { search.to = day } else { errors.add("to", "err_date") } }
        if search.from > search.to { errors.add("to", "err_period") }
        if let number = text("number") {
            let digits = number.filter(\.isNumber)
            if digits.count >= 3, digits.count <= 15, number.allSatisfy({ $0.isASCII && ($0.isNumber || " +-()".contains($0)) }) { search.number = digits } else { errors.add("number", "err_phone_part") }
        }
        if let op = text("operator") { if let id = Int64(op) { search.operatorID = id } else { errors.add("operator", "err_choice") } }
        if let topic = text("topic") {
            if topic.count <= 64, topic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) { search.topic = topic } else { errors.add("topic", "err_choice") }
        }
        if let outcome = text("outcome") { if Self.outcomes.contains(outcome) { search.outcome = outcome } else { errors.add("outcome", "err_choice") } }
        if let page = text("page") { if let n = Int(page), (1...10_000).contains(n) { search.page = n } else { errors.add("page", "err_choice") } }
        return (search, errors)
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let language = Pages.language(request, context)
        let (search, errors) = search(request)
        var values: [String: Any] = ["from": DisplayTime.showDay(search.from), "to": DisplayTime.showDay(search.to), "number": search.number ?? "", "outcomeOptions": Self.outcomes.map {
            ["code": $0, "name": Strings.text("outcome_\($0)", language), "selected": search.outcome == $0]
        }]
        var operators: [[String: Any]] = [], topics: [[String: Any]] = []
        for try await (id, name, ext) in try await web.database.query("SELECT o.id, u.full_name, o.extension FROM operators o JOIN users u ON u.id = o.user_id ORDER BY o.extension",
                                                                logger: web.logger).decode((Int64, String, String).self) {
            operators.append(["id": id, "name": "\(ext) \(name)", "selected": search.operatorID == id])
        }
        for try await (code, uz, ru) in try await web.database.query("SELECT code, name_uz, name_ru FROM topics WHERE parent_code IS NULL ORDER BY sort, code",
                                                               logger: web.logger).decode((String, String, String).self) {
            topics.append(["code": code, "name": language == .ru ? ru : uz, "selected": search.topic == code])
        }
        values["operators"] = operators
        values["topics"] = topics
        guard errors.isEmpty else {
            values["errors"] = Pages.errors(errors, language)
            values["hasErrors"] = true
            return pages.render("calls", request, context, title: "nav_calls", values, status: .unprocessableContent)
        }
        var b = SQLBuilder()
        let zone = b.bind(web.configuration.timeZone.identifier)
        b.append("""
            SELECT c.id::text, to_char(c.started_at AT TIME ZONE \(zone), 'DD.MM.YYYY HH24:MI:SS'), coalesce(c.caller_number, ''), coalesce(c.language, ''),
                   coalesce(t.name_uz, ''), coalesce(o.extension || ' ' || u.full_name, ''), c.outcome, c.wait_seconds, c.talk_seconds, c.repeated,
                   r.id, r.duration_seconds, (r.storage_path IS NOT NULL AND r.purged_at IS NULL)
            FROM calls c LEFT JOIN topics t ON t.code = c.topic_code LEFT JOIN operators o ON o.id = c.operator_id LEFT JOIN users u ON u.id = o.user_id
                 LEFT JOIN LATERAL (SELECT id, duration_seconds, storage_path, purged_at FROM recordings WHERE call_id = c.id AND state = 'done' ORDER BY id DESC LIMIT 1) r ON true
            WHERE c.started_at >= (\(b.bind(search.from))::date::timestamp AT TIME ZONE \(zone))
              AND c.started_at < ((\(b.bind(search.to))::date + 1)::timestamp AT TIME ZONE \(zone))
            """)
        if let number = search.number {
            // A whole Uzbek number (9 digits, or 12 with 998) in each form a provider may send it, from the number's index;
            // a fragment by its digits, from the trigram index.
            let national = number.count == 9 ? number : number.count == 12 && number.hasPrefix("998") ? String(number.dropFirst(3)) : nil
            if let national {
                b.append(" AND c.caller_number IN (\(b.bind("+998" + national)), \(b.bind("998" + national)), \(b.bind(national)))")
            } else {
                b.append(" AND c.caller_number LIKE \(b.bind("%" + number + "%"))")
            }
        }
        if let id = search.operatorID { b.append(" AND c.operator_id = \(b.bind(id))") }
        if let topic = search.topic {
            let t = b.bind(topic)
            b.append(" AND (c.topic_code = \(t) OR c.topic_code IN (SELECT code FROM topics WHERE parent_code = \(t)))")
        }
        if let outcome = search.outcome { b.append(" AND c.outcome = \(b.bind(outcome))") }
        b.append(" ORDER BY c.started_at DESC LIMIT \(Self.pageSize + 1) OFFSET \((search.page - 1) * Self.pageSize)")
        var rows: [[String: Any]] = []
        for try await (id, started, number, lang, topic, op, outcome, wait, talk, repeated, recording, duration, playable)
            in try await web.database.query(b.query, logger: web.logger)
            .decode((String, String, String, String, String, String, String, Int?, Int?, Bool, Int64?, Int?, Bool?).self) {
            var row: [String: Any] = ["id": id, "started": started, "number": number, "language": lang, "topic": topic, "operator": op,
                                      "outcome": Strings.text("outcome_\(outcome)", language), "wait": wait.map(String.init) ?? "",
                                      "talk": talk.map(String.init) ?? "", "repeated": repeated]
            if let recording, playable == true {
                row["recording"] = recording
                row["duration"] = duration.map { String(format: "%d:%02d", $0 / 60, $0 % 60) } ?? ""
            }
            rows.append(row)
        }
        let more = rows.count > Self.pageSize
        values["rows"] = Array(rows.prefix(Self.pageSize))
        values["empty"] = rows.isEmpty
        var base = "from=\(search.from)&to=\(search.to)"
        if let number = search.number { base += "&number=\(number)" }
        if let id = search.operatorID { base += "&operator=\(id)" }
        if let topic = search.topic { base += "&topic=\(topic)" }
        if let outcome = search.outcome { base += "&outcome=\(outcome)" }
        if more { values["nextLink"] = "/calls?\(base)&page=\(search.page + 1)" }
        if search.page > 1 { values["prevLink"] = "/calls?\(base)&page=\(search.page - 1)" }
        if search.number != nil {
            try await audit.record(user, ip: context.remoteAddress, action: "calls.search", objectType: "phone", objectId: search.number)
        }
        return pages.render("calls", request, context, title: "nav_calls", values)
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n` against a file of `size` bytes: the byte range to send,
    /// nil when there is no Range header, or an error for a malformed or unsatisfiable one.
    enum RangeError: Error { case unsatisfiable }
    static func range(_ header: String?, size: Int) throws -> ClosedRange<Int>? {
        guard let header else { return nil }
        guard header.hasPrefix("bytes="), size > 0 else { throw RangeError.unsatisfiable }
        let spec = header.dropFirst(6)
        // Several ranges are answered with the first (a single part); browsers ask for one.
        guard let first = spec.split(separator: ",").first?.trimmingCharacters(in: .whitespaces), first.count <= 40 else { throw RangeError.unsatisfiable }
        let parts = first.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw RangeError.unsatisfiable }
        let startText = parts[0], endText = parts[1]
        if startText.isEmpty {
            guard let suffix = Int(endText), suffix > 0 else { throw RangeError.unsatisfiable }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = Int(startText), start >= 0, start < size else { throw RangeError.unsatisfiable }
        if endText.isEmpty { return start...(size - 1) }
        guard let end = Int(endText), end >= start else { throw RangeError.unsatisfiable }
        return start...min(end, size - 1)
    }

    func recordingFile(_ id: Int64) async throws -> (path: String, name: String, callID: String) {
        var found: (String?, String, String, Date?)?
        for try await row in try await web.database.query("""
            SELECT storage_path, name, call_id::text, purged_at FROM recordings WHERE id = \(id) AND state = 'done'
            """, logger: web.logger).decode((String?, String, String, Date?).self) { found = row }
        guard let (path, name, call, purged) = found else { throw HTTPError(.notFound) }
        guard purged == nil else { throw HTTPError(.gone, message: "purged") }
        guard let path, FileManager.default.isReadableFile(atPath: path) else { throw HTTPError(.notFound, message: "file") }
        return (path, name, call)
    }

    func audio(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("id", as: Int64.self) else { throw HTTPError(.notFound) }
        let file = try await recordingFile(id)
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let download = request.uri.queryParameters["download"] != nil
        let rangeHeader = request.headers[.range]
        let range: ClosedRange<Int>?
        do {
            range = try Self.range(rangeHeader, size: size)
        } catch {
            return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(size)", .acceptRanges: "bytes"])
        }
        // A play is logged when it starts (no range, or from the first byte); seeking within it is not a new play.
        if download || range == nil || range?.lowerBound == 0 {
            try await audit.record(user, ip: context.remoteAddress, action: download ? "recording.download" : "recording.play",
                                   objectType: "recording", objectId: "\(id)", details: ["call": file.callID])
        }
        var headers: HTTPFields = [.contentType: "audio/wav", .acceptRanges: "bytes", .cacheControl: "private, no-store"]
        if download { headers[.contentDisposition] = "attachment; filename=\"\(file.name).wav\"" }
        let bytes = range ?? 0...(max(0, size - 1))
        let length = size == 0 ? 0 : bytes.count
        headers[.contentLength] = "\(length)"
        if range != nil { headers[.contentRange] = "bytes \(bytes.lowerBound)-\(bytes.upperBound)/\(size)" }
        let path = file.path
        let body = ResponseBody { writer in
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(bytes.lowerBound))
            var remaining = length
            while remaining > 0 {
                let chunk = try handle.read(upToCount: min(remaining, 64 * 1024)) ?? Data()
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                remaining -= chunk.count
            }
            try await writer.finish(nil)
        }
        return Response(status: range == nil ? .ok : .partialContent, headers: headers, body: body)
    }

    /// The chosen recordings (`id_<n>` fields, at most 200) as one ZIP with `index.csv`.
    func zip(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let form = try await Form.read(request, context)
        let ids = form.fields.keys.filter { $0.hasPrefix("id_") }.compactMap { Int64($0.dropFirst(3)) }.sorted()
        guard !ids.isEmpty else { throw HTTPError(.badRequest, message: "no recording chosen") }
        guard ids.count <= 200 else { throw HTTPError(.contentTooLarge, message: "at most 200 recordings") }
        let zone = web.configuration.timeZone.identifier
        var entries: [(id: Int64, path: String, name: String, line: String)] = []
        for try await (id, path, name, call, started, number, op, outcome, duration) in try await web.database.query("""
            SELECT r.id, r.storage_path, r.name, c.id::text, to_char(c.started_at AT TIME ZONE \(zone), 'YYYY-MM-DD HH24:MI:SS'), coalesce(c.caller_number, ''),
                   coalesce(o.extension, ''), c.outcome, coalesce(r.duration_seconds, 0)
            FROM recordings r JOIN calls c ON c.id = r.call_id LEFT JOIN operators o ON o.id = c.operator_id
            WHERE r.id = ANY(\(ids)) AND r.state = 'done' AND r.purged_at IS NULL AND r.storage_path IS NOT NULL ORDER BY c.started_at
            """, logger: web.logger).decode((Int64, String, String, String, String, String, String, String, Int).self) {
            guard FileManager.default.isReadableFile(atPath: path) else { continue }
            let file = "\(started.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: " ", with: "_"))_\(name).wav"
            entries.append((id, path, file, "\(file),\(call),\(started),\(number),\(op),\(outcome),\(duration)"))
        }
        guard !entries.isEmpty else { throw HTTPError(.notFound, message: "no recording available") }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("murojaat-\(UUID().uuidString).zip")
        let archive = try Archive(url: temporary, accessMode: .create)
        let index = Data(("file,call_id,started,number,operator,outcome,duration_seconds\r\n" + entries.map(\.line).joined(separator: "\r\n") + "\r\n").utf8)
        try archive.addEntry(with: "index.csv", type: .file, uncompressedSize: Int64(index.count)) { position, size in
            index.subdata(in: Int(position)..<Int(position) + size)
        }
        for entry in entries {
            try archive.addEntry(with: entry.name, fileURL: URL(fileURLWithPath: entry.path))
        }
        for entry in entries {
            try await audit.record(user, ip: context.remoteAddress, action: "recording.download", objectType: "recording", objectId: "\(entry.id)",
                                   details: ["zip": "yes"])
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: temporary.path)[.size]) as? NSNumber)?.intValue ?? 0
        let body = ResponseBody { writer in
            defer { try? FileManager.default.removeItem(at: temporary) }
            let handle = try FileHandle(forReadingFrom: temporary)
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/zip", .contentLength: "\(size)",
                                               .contentDisposition: "attachment; filename=\"murojaat-recordings.zip\"", .cacheControl: "no-store"], body: body)
    }
}

/// Retention: recordings older than the setting (default 365 days) lose their file; the row stays. A
/// recording of a call behind an open complaint is kept until the complaint is answered or closed.
enum RecordingRetention {
    @discardableResult
    static func purge(_ database: PostgresClient, now: Date = Date(), logger: Logger) async throws -> Int {
        let days = try await NotificationSettings.load(database, logger: logger).int("recordings.retention_days").flatMap { $0 > 0 ? $0 : nil } ?? 365
        var purged = 0
        for try await (id, path) in try await database.query("""
            SELECT r.id, r.storage_path FROM recordings r
            WHERE r.purged_at IS NULL AND r.state = 'done' AND r.started_at < \(now)::timestamptz - make_interval(days => \(days)::int)
              AND NOT EXISTS (SELECT 1 FROM appeals a WHERE a.call_id = r.call_id AND a.category_code = 'complaint'
                              AND a.status NOT IN ('answered', 'closed'))
            ORDER BY r.started_at LIMIT 1000
            """, logger: logger).decode((Int64, String?).self) {
            if let path { try? FileManager.default.removeItem(atPath: path) }
            try await database.query("UPDATE recordings SET purged_at = now(), storage_path = NULL WHERE id = \(id)", logger: logger)
            purged += 1
        }
        if purged > 0 {
            try await database.query("""
                INSERT INTO audit_log (action, object_type, details) VALUES ('recording.purge', 'recording', jsonb_build_object('count', \(purged)::int, 'days', \(days)::int))
                """, logger: logger)
        }
        return purged
    }
}
