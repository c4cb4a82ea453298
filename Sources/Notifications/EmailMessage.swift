import Foundation

/// An e-mail to send: UTF-8 subject and body, optional HTML alternative and attachments.
public struct EmailMessage: Sendable, Equatable {
    public struct Attachment: Sendable, Equatable, Codable {
        public var filename: String
        public var contentType: String
        public var data: [UInt8]
        public init(filename: String, contentType: String, data: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String?
    public var attachments: [Attachment]

    public init(to: [String], subject: String, text: String, html: String? = nil, attachments: [Attachment] = []) {
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.attachments = attachments
    }

    /// The message as RFC 5322/2045 text with CRLF line ends: encoded-word headers, base64 parts, and a
    /// multipart/mixed body when there are attachments. Returns the Message-ID with it.
    public func render(from: String, fromName: String?, date: Date = Date(), messageID: String = UUID().uuidString) -> (text: String, messageID: String) {
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        let id = "<\(messageID.lowercased())@\(domain)>"
        var headers: [String] = []
        if let fromName, !fromName.isEmpty {
            headers.append("From: \(Self.encodedWords(fromName)) <\(from)>")
        } else {
            headers.append("From: <\(from)>")
        }
        headers.append("To: " + to.map { "<\($0)>" }.joined(separator: ", "))
        headers.append("Subject: " + Self.encodedWords(Self.oneLine(subject)))
        headers.append("Date: " + Self.rfc5322Date(date))
        headers.append("Message-ID: \(id)")
        headers.append("MIME-Version: 1.0")
        headers.append("Auto-Submitted: auto-generated")

        let bodyPart: [String]
        if let html {
            let boundary = "alt-" + UUID().uuidString
            bodyPart = ["Content-Type: multipart/alternative; boundary=\"\(boundary)\"", ""]
                + ["--\(boundary)"] + Self.textPart(text, type: "text/plain")
                + ["--\(boundary)"] + Self.textPart(html, type: "text/html")
                + ["--\(boundary)--"]
        } else {
            bodyPart = Self.textPart(text, type: "text/plain")
        }
        var lines = headers
        if attachments.isEmpty {
            lines += bodyPart
        } else {
            let boundary = "mixed-" + UUID().uuidString
            lines.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("This is a MIME message.")
            lines.append("--\(boundary)")
            lines += bodyPart
            for attachment in attachments {
                lines.append("--\(boundary)")
                let name = Self.oneLine(attachment.filename)
                let type = attachment.contentType.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/.+-".contains($0)) })
                    ? attachment.contentType : "application/octet-stream"
                lines.append("Content-Type: \(type); name=\"\(Self.encodedWords(name))\"")
                lines.append("Content-Disposition: attachment; filename*=UTF-8''\(Self.percentEncoded(name))")
                lines.append("Content-Transfer-Encoding: base64")
                lines.append("")
                lines += Self.base64Lines(attachment.data)
            }
            lines.append("--\(boundary)--")
        }
        return (lines.joined(separator: "\r\n") + "\r\n", id)
    }

    static func textPart(_ text: String, type: String) -> [String] {
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""] + base64Lines(Array(normalised.utf8))
    }

    static func base64Lines(_ data: [UInt8]) -> [String] {
        let encoded = Data(data).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    /// No CR or LF may reach a header: they would start a header of the sender's choosing.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\t" ? " " : $0 })
    }

    /// RFC 2047 B-encoded words of at most 75 characters, split on character boundaries; plain ASCII stays as is.
    static func encodedWords(_ text: String) -> String {
        if text.allSatisfy({ $0.isASCII && !$0.isNewline }) && text.count <= 900 && !text.contains("=?") { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let ascii = CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127))
        return text.addingPercentEncoding(withAllowedCharacters: allowed.intersection(ascii)) ?? "attachment"
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
