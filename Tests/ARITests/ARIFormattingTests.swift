@testable import ARI
import Foundation
import Testing

@Suite("Timestamps and URL encoding written by hand")
struct ARIFormattingTests {
    /// The hand-written formatter agrees with Foundation's for dates across eras, leap days and offsets.
    @Test func matchesDateFormatter() throws {
        let zones = ["Asia/Tashkent", "UTC", "America/St_Johns", "Asia/Kathmandu", "Pacific/Honolulu"]
        let dates: [Double] = [0, -1, -86_400.5, 951_782_400, 1_709_164_800.999, 1_795_000_000.123, 4_102_444_799.5,
                               1_234_567_890.001]
        for zone in zones {
            let timeZone = try #require(TimeZone(identifier: zone))
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = timeZone
            formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
            for seconds in dates {
                let date = Date(timeIntervalSince1970: seconds)
                #expect(ARICoding.timestamp(date, timeZone: timeZone) == formatter.string(from: date), "\(zone) \(seconds)")
            }
        }
        #expect(ARICoding.timestamp(Date(timeIntervalSince1970: 1_795_000_000.5), timeZone: TimeZone(identifier: "Asia/Tashkent")!)
                == "2026-11-18T16:06:40.500+0500")
        let now = Date()
        #expect(ARICoding.parseTimestamp(ARICoding.timestamp(now)).map { abs($0.timeIntervalSince(now)) < 0.002 } == true)
    }

    /// The byte-level percent-encoder agrees with Foundation's for hostile and non-ASCII values.
    @Test func percentEncodingMatchesFoundation() {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let values = ["", "plain-1.2_3~", "sound:murojaat/greeting", "a,b", "a b&c=d?e#f/g%h+i", "Ўзбекистон", "Русский язык",
                      "\u{0}\u{1F}\u{7F}", "emoji 👍", "../../etc/passwd", "PJSIP/101@trunk", "'\"<script>"]
        for value in values {
            #expect(ARIRequest.encodePathSegment(value) == value.addingPercentEncoding(withAllowedCharacters: unreserved), "\(value)")
            #expect(ARIRequest.encodeQuery(value) == value.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: ":,"))), "\(value)")
        }
        let request = ARIRequest(.POST, "/channels/{channelId}/play", path: ["channelId": "a/b c"], query: [("media", "sound:x,sound:y"), ("lang", "uz"), ("skip", nil)])
        #expect(request.pathAndQuery == "/channels/a%2Fb%20c/play?media=sound:x,sound:y&lang=uz")
        #expect(ARIRequest(.GET, "/a/{x}/b/{y}/c{", path: ["x": "1{}", "z": "2"]).pathAndQuery == "/a/1%7B%7D/b/{y}/c{")
        #expect(ARIRequest(.GET, "/recordings/stored/{recordingName}/file", path: ["recordingName": "Ўз"]).pathAndQuery
                == "/recordings/stored/%D0%8E%D0%B7/file")
    }

    /// The journal's hand-written JSON reads back through Foundation's parser as what was written: hostile and
    /// non-ASCII text, ids, times to the microsecond, integers at their limits.
    @Test func journalJSONReadsBackAsWritten() throws {
        struct Row { var text: String; var id: UUID; var seconds: Double; var number: Int64; var list: [String]; var map: [String: String] }
        let hostile = ["", "plain", "quote\" back\\slash", "line\nfeed\r\t", "\u{0}\u{1}\u{1F}\u{7F}", "Ўзбекистон O‘zbek", "emoji 👍",
                       "'; DROP TABLE calls; --", "</script><script>alert(1)</script>"]
        let rows = hostile.enumerated().map { index, text in
            Row(text: text, id: UUID(), seconds: [0, 1_764_187_846.123_456_7, -86_400.5, 0.000_000_4, 8_999_999_999.5, 1e12, -3e15][index % 7],
                number: [0, -1, Int64.max, Int64.min, 42][index % 5], list: [text, "b"], map: [text: text, "k": "v"])
        }
        let bytes = JSONText.array(rows) { row, o in
            o.add("text", row.text)
            o.add("id", row.id)
            o.add("seconds", row.seconds)
            o.add("number", row.number)
            o.add("missing", nil as String?)
            o.add("flag", row.number >= 0)
            o.add("list", row.list)
            o.add("map", row.map)
        }
        let parsed = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
        #expect(parsed.count == rows.count)
        for (row, object) in zip(rows, parsed) {
            let stored = row.text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") // PostgreSQL cannot hold U+0000
            #expect(object["text"] as? String == stored)
            #expect(object["id"] as? String == row.id.uuidString.lowercased())
            let seconds = try #require((object["seconds"] as? NSNumber)?.doubleValue)
            #expect(abs(seconds - row.seconds) <= max(0.000_000_5, abs(row.seconds) * 1e-15), "\(row.seconds) read back as \(seconds)")
            #expect((object["number"] as? NSNumber)?.int64Value == row.number)
            #expect(object["missing"] == nil)
            #expect(object["flag"] as? Bool == (row.number >= 0))
            #expect(object["list"] as? [String] == [stored, "b"])
            #expect(object["map"] as? [String: String] == [stored: stored, "k": "v"])
        }
        var time: [UInt8] = []
        JSONText.appendSeconds(1_764_187_846.123_456_7, to: &time)
        #expect(String(decoding: time, as: UTF8.self) == "1764187846.123457")
        for (seconds, text) in [(-0.25, "-0.250000"), (1_700_000_000.25, "1700000000.250000"), (-0.000_000_4, "0.000000"), (-0.000_000_6, "-0.000001"),
                                (0.999_999_9, "1.000000"), (59.000_001, "59.000001"), (0, "0.000000")] {
            time = []
            JSONText.appendSeconds(seconds, to: &time)
            #expect(String(decoding: time, as: UTF8.self) == text, "\(seconds)")
        }
        for (number, text) in [(Int64.min, "-9223372036854775808"), (Int64.max, "9223372036854775807"), (0, "0"), (-7, "-7")] {
            var bytes: [UInt8] = []
            JSONText.appendInteger(number, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == text)
        }
    }
}
