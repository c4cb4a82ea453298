import Foundation

/// The statistics as people read them, on the page and in the exported files alike: headers and codes in the
/// reader's language (category, status, region, topic, pause reason), days as dd.mm.yyyy, durations as h:mm:ss,
/// figures rounded. The report itself (`StatsReport`) stays in codes and raw figures; one conversion here, so a
/// figure reads the same on the page, in the CSV and in the XLSX.
enum StatsPresentation {
    /// Columns and summary measures that are seconds.
    static let durationColumns: Set<String> = ["asa_seconds", "talk_average_seconds", "talk_seconds", "wrap_up_seconds", "pause_seconds"]
    static let durationMeasures: Set<String> = ["talk_seconds_total", "talk_seconds_average", "wait_seconds_average", "wait_seconds_longest",
                                                "average_speed_of_answer", "average_handling_seconds", "wrap_up_seconds_total"]

    /// Whole seconds as h:mm:ss.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "—" }
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", total / 3600, total % 3600 / 60, total % 60)
    }

    /// Whether a text is a duration as `duration` writes it (h:mm:ss); a check per cell of a 500-row table, so no
    /// regular expression (Foundation's took 20 ms a page).
    static func isDuration(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 2, parts[2].count == 2 else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
    }

    static func seconds(_ cell: StatsCell) -> Double? {
        switch cell {
        case .int(let value): return Double(value)
        case .number(let value, _): return value
        case .text(let text): return Double(text)
        }
    }

    static func localize(_ table: StatsTable, language: UILanguage, classifier: Classifier) -> StatsTable {
        func named(_ items: [Classifier.Item], _ code: String) -> String {
            guard let item = items.first(where: { $0.code == code }) else { return code }
            if let parent = item.parent, let top = items.first(where: { $0.code == parent }) {
                return classifier.name(top, language) + " / " + classifier.name(item, language)
            }
            return classifier.name(item, language)
        }
        var out = table
        out.columns = table.columns.map { Strings.text("col_\($0)", language) }
        // The appeals' groupings: the name in the reader's language instead of the code and a name in both.
        if ["appeals_by_topic", "appeals_by_category", "appeals_by_region", "appeals_by_status"].contains(table.id) {
            out.columns = [Strings.text("col_\(table.columns[0])", language), Strings.text("col_appeals", language)]
            out.rows = table.rows.map { row in
                let code = row[0].description
                let name: String = switch table.id {
                case "appeals_by_topic": named(classifier.topics, code)
                case "appeals_by_category": named(classifier.categories, code)
                case "appeals_by_region": named(classifier.regions, code)
                default: code == "—" ? code : Strings.text("status_\(code)", language)
                }
                return [.text(code == "—" ? "—" : name), row[2]]
            }
            return out
        }
        out.rows = table.rows.map { row in
            row.enumerated().map { index, cell -> StatsCell in
                let column = table.columns[index]
                if table.id == "summary" {
                    let key = row[0].description
                    if index == 0 { return .text(Strings.text("m_\(key)", language)) }
                    if durationMeasures.contains(key) { return .text(duration(seconds(cell) ?? .nan)) }
                    if key == "billing_amount" || key == "price_per_call", let value = seconds(cell) { return .number(value, decimals: 0) }
                    return cell
                }
                switch column {
                case "day": return .text(DisplayTime.showDay(cell.description))
                case "category": return .text(named(classifier.categories, cell.description))
                case "status": return .text(Strings.text("status_\(cell.description)", language))
                case "due_date": return .text(DisplayTime.showDay(cell.description))
                case "overdue": return .text(cell.description == "overdue" ? Strings.text("overdue", language) : "")
                case "pause_by_reason": return .text(reasons(cell.description, language))
                case _ where durationColumns.contains(column):
                    guard let value = seconds(cell) else { return cell }
                    return .text(duration(value))
                default: return cell
                }
            }
        }
        return out
    }

    /// `lunch=600;break=120` as "Tushlik 0:10:00, Tanaffus 0:02:00".
    static func reasons(_ raw: String, _ language: UILanguage) -> String {
        raw.split(separator: ";").compactMap { part -> String? in
            let pieces = part.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2, let seconds = Double(pieces[1]) else { return nil }
            let reason = pieces[0].isEmpty ? "—" : Strings.text("reason_\(pieces[0])", language)
            return "\(reason) \(duration(seconds))"
        }.joined(separator: ", ")
    }

    /// The period and every filter of a report, in words: the first line of each exported file.
    static func filtersLine(_ filter: StatsFilter, language: UILanguage, classifier: Classifier, operatorName: String?, teamName: String?) -> String {
        var parts = ["\(Strings.text("period", language)): \(DisplayTime.showDay(filter.from)) — \(DisplayTime.showDay(filter.to))"]
        if let code = filter.language { parts.append("\(Strings.text("language", language)): \(Strings.text("lang_\(code)", language))") }
        if let topic = filter.topic, let item = classifier.topics.first(where: { $0.code == topic }) {
            parts.append("\(Strings.text("topic", language)): \(classifier.name(item, language))")
        }
        if let region = filter.region, let item = classifier.regions.first(where: { $0.code == region }) {
            parts.append("\(Strings.text("region", language)): \(classifier.name(item, language))")
        }
        if let operatorName { parts.append("\(Strings.text("col_operator", language)): \(operatorName)") }
        if let teamName { parts.append("\(Strings.text("team", language)): \(teamName)") }
        return parts.joined(separator: "; ")
    }

    /// The file name: the table and the period, and a short mark of each filter.
    static func fileName(_ id: String, _ filter: StatsFilter, language: UILanguage, format: String) -> String {
        var name = "murojaat-\(id)-\(filter.from)-\(filter.to)"
        if let code = filter.language { name += "-til-\(code)" }
        if let topic = filter.topic { name += "-mavzu-\(topic)" }
        if let region = filter.region { name += "-hudud-\(region)" }
        if let id = filter.operatorID { name += "-operator-\(id)" }
        if let id = filter.teamID { name += "-jamoa-\(id)" }
        let safe = name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "." || $0 == "_" ? Character($0) : "_" }
        return String(safe) + "-\(language.rawValue).\(format)"
    }
}
