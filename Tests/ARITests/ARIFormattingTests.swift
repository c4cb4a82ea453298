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
}
