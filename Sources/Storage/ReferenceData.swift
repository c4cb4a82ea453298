import Foundation
import Logging
import PostgresNIO

/// The classifier and regions shipped with the product (copied from the Center's domain data).
public struct ReferenceData: Sendable {
    public struct Row: Sendable, Equatable {
        public var code: String
        public var parent: String?
        public var nameUz: String
        public var nameRu: String
        public var deadlineDays: Int?
    }

    public var topics: [Row]
    public var categories: [Row]
    public var regions: [Row]

    public static func bundled() throws -> ReferenceData {
        func load(_ name: String) throws -> [[String: String]] {
            guard let url = Bundle.module.url(forResource: "Seed/\(name)", withExtension: "csv")
                ?? Bundle.module.url(forResource: "Seed", withExtension: nil)?.appendingPathComponent("\(name).csv")
            else { throw MigrationError.missingResources }
            return CSV.records(try String(contentsOf: url, encoding: .utf8))
        }
        let topics = try load("topics").map {
            Row(code: $0["code"]!, parent: $0["parent"].flatMap { $0.isEmpty ? nil : $0 }, nameUz: $0["name_uz"]!, nameRu: $0["name_ru"]!)
        }
        let categories = try load("categories").map {
            Row(code: $0["code"]!, nameUz: $0["name_uz"]!, nameRu: $0["name_ru"]!, deadlineDays: $0["legal_deadline_days"].flatMap { Int($0) })
        }
        let regions = try load("regions").map { Row(code: $0["code"]!, nameUz: $0["name_uz"]!, nameRu: $0["name_ru"]!) }
        return ReferenceData(topics: topics, categories: categories, regions: regions)
    }

    /// Inserts or updates every row; re-running changes nothing. Names edited in the back office are kept.
    public func seed(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for (index, region) in regions.enumerated() {
                try await connection.query("""
                    INSERT INTO regions (code, name_uz, name_ru, sort) VALUES (\(region.code), \(region.nameUz), \(region.nameRu), \(index))
                    ON CONFLICT (code) DO NOTHING
                    """, logger: logger)
            }
            for (index, category) in categories.enumerated() {
                try await connection.query("""
                    INSERT INTO categories (code, name_uz, name_ru, legal_deadline_days, sort)
                    VALUES (\(category.code), \(category.nameUz), \(category.nameRu), \(category.deadlineDays), \(index))
                    ON CONFLICT (code) DO NOTHING
                    """, logger: logger)
            }
            // Parents come before children in the file.
            for (index, topic) in topics.enumerated() {
                try await connection.query("""
                    INSERT INTO topics (code, parent_code, name_uz, name_ru, sort)
                    VALUES (\(topic.code), \(topic.parent), \(topic.nameUz), \(topic.nameRu), \(index))
                    ON CONFLICT (code) DO NOTHING
                    """, logger: logger)
            }
        }
    }
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks.
enum CSV {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
        var iterator = text.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { field.append(c) }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r\n": row.append(field); field = ""; rows.append(row); row = []
            case "\r": break
            default: field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows.filter { !($0.count == 1 && $0[0].isEmpty) }
    }

    static func records(_ text: String) -> [[String: String]] {
        let all = rows(text)
        guard let header = all.first else { return [] }
        return all.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0 + Array(repeating: "", count: max(0, header.count - $0.count)))) }
    }
}
