import Foundation
import ZIPFoundation

/// CSV (RFC 4180, UTF-8 with a BOM so that Excel reads Cyrillic) and XLSX (Office Open XML, one sheet,
/// numbers as numbers, rounded as shown) of a report table. Both start with a line naming the period and the
/// filters (`heading`), then the column headers. The CSV separator is `;` by default: Excel with Russian or Uzbek
/// regional settings splits on `;`, not `,`.
enum TableExport {
    static func csv(_ table: StatsTable, heading: String? = nil, separator: Character = ";") -> String {
        func field(_ text: String) -> String {
            // A leading =, +, - or @ would be a formula in a spreadsheet: quote it with an apostrophe.
            var value = text
            if let first = value.first, "=+-@".contains(first), Double(value) == nil { value = "'" + value }
            if value.contains(where: { $0 == separator || $0 == "," || $0 == ";" || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return value
        }
        let glue = String(separator)
        var out = "\u{FEFF}"
        if let heading { out += field(heading) + "\r\n" }
        out += table.columns.map(field).joined(separator: glue) + "\r\n"
        for row in table.rows { out += row.map { field($0.description) }.joined(separator: glue) + "\r\n" }
        return out
    }

    static func xml(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default:
                // XML 1.0 forbids most control characters.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" && scalar != "\r" { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func columnName(_ index: Int) -> String {
        var n = index + 1, name = ""
        while n > 0 {
            let r = (n - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + r))) + name
            n = (n - 1) / 26
        }
        return name
    }

    static func sheet(_ table: StatsTable, heading: String? = nil) -> String {
        var rows = ""
        let all: [[StatsCell]] = (heading.map { [[.text($0)]] } ?? []) + [table.columns.map { .text($0) }] + table.rows
        for (r, row) in all.enumerated() {
            rows += "<row r=\"\(r + 1)\">"
            for (c, cell) in row.enumerated() {
                let ref = "\(columnName(c))\(r + 1)"
                switch cell {
                case .int(let value): rows += "<c r=\"\(ref)\"><v>\(value)</v></c>"
                case .number(let value, let decimals) where value.isFinite:
                    // The figure as shown (66.2, not 66.21212121212122).
                    rows += "<c r=\"\(ref)\"><v>\(String(format: "%.\(decimals)f", value))</v></c>"
                default: rows += "<c r=\"\(ref)\" t=\"inlineStr\"><is><t xml:space=\"preserve\">\(xml(cell.description))</t></is></c>"
                }
            }
            rows += "</row>"
        }
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>\(rows)</sheetData></worksheet>
            """
    }

    static func xlsx(_ table: StatsTable, heading: String? = nil, sheetTitle: String? = nil) throws -> Data {
        // Sheet names: at most 31 characters, none of : \ / ? * [ ].
        let title = (sheetTitle ?? table.id).filter { !":\\/?*[]".contains($0) }
        let sheetName = xml(String(title.prefix(31)))
        let files: [(String, String)] = [
            ("[Content_Types].xml", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
                <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
                <Default Extension="xml" ContentType="application/xml"/>
                <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
                <Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
                <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
                </Types>
                """),
            ("_rels/.rels", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
                </Relationships>
                """),
            ("xl/workbook.xml", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
                <sheets><sheet name="\(sheetName)" sheetId="1" r:id="rId1"/></sheets></workbook>
                """),
            ("xl/_rels/workbook.xml.rels", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
                <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
                <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
                </Relationships>
                """),
            ("xl/styles.xml", """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
                <fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
                <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
                <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
                <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
                <cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>
                </styleSheet>
                """),
            ("xl/worksheets/sheet1.xml", sheet(table, heading: heading)),
        ]
        let archive = try Archive(data: Data(), accessMode: .create)
        for (path, text) in files {
            let data = Data(text.utf8)
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw CocoaError(.fileWriteUnknown) }
        return data
    }
}

/// Server-rendered SVG bar charts (no script, no external files).
enum SVGChart {
    /// Bars for each label, one or two series side by side.
    static func bars(title: String, labels: [String], series: [(name: String, values: [Double], color: String)], width: Int = 720, height: Int = 220) -> String {
        let maximum = max(1, series.flatMap(\.values).filter(\.isFinite).max() ?? 1)
        let left = 40.0, bottom = 30.0, top = 24.0
        let plotWidth = Double(width) - left - 10, plotHeight = Double(height) - bottom - top
        let slot = labels.isEmpty ? plotWidth : plotWidth / Double(labels.count)
        let barWidth = max(1, slot * 0.8 / Double(max(1, series.count)))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\">"
        svg += "<title>\(TableExport.xml(title))</title>"
        svg += "<text x=\"\(left)\" y=\"16\" font-size=\"13\">\(TableExport.xml(title))</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"#888\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + 8)\" font-size=\"10\" text-anchor=\"end\">\(Int(maximum))</text>"
        let every = max(1, labels.count / 16)
        for (i, label) in labels.enumerated() {
            let x0 = left + Double(i) * slot + slot * 0.1
            for (s, serie) in series.enumerated() {
                let value = i < serie.values.count && serie.values[i].isFinite ? serie.values[i] : 0
                let h = plotHeight * value / maximum
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"><title>%@: %@ %@</title></rect>",
                              x0 + Double(s) * barWidth, top + plotHeight - h, barWidth, h, serie.color, TableExport.xml(label),
                              TableExport.xml(serie.name), value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value))
            }
            if i % every == 0 {
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%@</text>", x0 + slot * 0.4, top + plotHeight + 14,
                              TableExport.xml(label))
            }
        }
        var legendX = left + plotWidth - 200
        for serie in series {
            svg += String(format: "<rect x=\"%.0f\" y=\"6\" width=\"10\" height=\"10\" fill=\"%@\"/><text x=\"%.0f\" y=\"15\" font-size=\"11\">%@</text>",
                          legendX, serie.color, legendX + 14, TableExport.xml(serie.name))
            legendX += 100
        }
        return svg + "</svg>"
    }
}
