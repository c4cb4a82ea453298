import Foundation

public enum ARIMethod: String, Sendable {
    case GET, POST, PUT, DELETE
}

/// One REST request to ARI: a spec path template, its parameters and an optional JSON body.
/// Keeping the template lets the conformance test match every request against the swagger files.
public struct ARIRequest: Sendable, Equatable {
    public var method: ARIMethod
    /// The path as written in Asterisk's swagger files, e.g. `/channels/{channelId}/play`.
    public var template: String
    public var pathParameters: [String: String]
    public var query: [(name: String, value: String)]
    /// JSON body; ARI takes `variables` and similar containers this way.
    public var body: Data?

    public init(_ method: ARIMethod, _ template: String, path: [String: String] = [:], query: [(String, String?)] = [], body: Data? = nil) {
        self.method = method
        self.template = template
        self.pathParameters = path
        self.query = query.compactMap { name, value in value.map { (name, $0) } }
        self.body = body
    }

    /// The path with its parameters filled in and percent-encoded, plus the query string.
    public var pathAndQuery: String {
        let path = filledPath
        guard !query.isEmpty else { return path }
        let items = query.map { "\(Self.encodeQuery($0.name))=\(Self.encodeQuery($0.value))" }
        return path + "?" + items.joined(separator: "&")
    }

    /// The template with each `{name}` replaced by its percent-encoded value (an unknown name stays as written).
    /// Read byte by byte, names compared in place: every request of every call builds its path, and a String
    /// per name looked up in the dictionary was most of the cost of framing a request.
    var filledPath: String {
        guard !pathParameters.isEmpty else { return template }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(template.utf8.count + 40)
        appendFilledPath(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The filled path's bytes, appended to `out`.
    func appendFilledPath(to out: inout [UInt8]) {
        var template = template
        template.withUTF8 { bytes in
            guard !pathParameters.isEmpty else {
                out.append(contentsOf: bytes)
                return
            }
            var plain = 0
            var index = 0
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "{"),
                      let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")) else {
                    index += 1
                    continue
                }
                let name = UnsafeBufferPointer(rebasing: bytes[(index + 1)..<close])
                guard let value = pathParameters.first(where: { $0.key.utf8.elementsEqual(name) })?.value else {
                    index = close + 1
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plain..<index]))
                Self.appendPercentEncoded(value, keeping: nil, to: &out)
                index = close + 1
                plain = index
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plain...]))
        }
    }

    static func encodePathSegment(_ value: String) -> String {
        percentEncode(value, keeping: nil)
    }

    static func encodeQuery(_ value: String) -> String {
        // ':' and ',' stay readable (`sound:hello`, `media=a,b`); Asterisk decodes either way.
        percentEncode(value, keeping: (UInt8(ascii: ":"), UInt8(ascii: ",")))
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and the two `keeping` bytes),
    /// byte by byte: every request builds its path, and Foundation's CharacterSet lookups were a visible
    /// share of the call flow's CPU.
    static func percentEncode(_ value: String, keeping: (UInt8, UInt8)?) -> String {
        guard value.utf8.contains(where: { !allowed($0, keeping: keeping) }) else { return value }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count * 3)
        appendPercentEncoded(value, keeping: keeping, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always) static func allowed(_ byte: UInt8, keeping: (UInt8, UInt8)?) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return keeping.map { byte == $0.0 || byte == $0.1 } ?? false
        }
    }

    static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    /// `value` percent-encoded, appended to `out`.
    static func appendPercentEncoded(_ value: String, keeping: (UInt8, UInt8)?, to out: inout [UInt8]) {
        for byte in value.utf8 {
            if allowed(byte, keeping: keeping) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(upperHexDigits[Int(byte >> 4)])
                out.append(upperHexDigits[Int(byte & 0x0f)])
            }
        }
    }

    public static func == (lhs: ARIRequest, rhs: ARIRequest) -> Bool {
        lhs.method == rhs.method && lhs.pathAndQuery == rhs.pathAndQuery && lhs.body == rhs.body
    }
}

/// A complete (buffered) ARI answer.
public struct ARIResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var body: Data
    public init(status: Int, contentType: String? = nil, body: Data = Data()) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// An ARI answer whose body is read piece by piece (stored recording files).
public struct ARIStreamedResponse: Sendable {
    public var contentType: String?
    public var contentLength: Int?
    public var body: any AsyncSequence<Data, any Error> & Sendable
    public init(contentType: String?, contentLength: Int?, body: any AsyncSequence<Data, any Error> & Sendable) {
        self.contentType = contentType
        self.contentLength = contentLength
        self.body = body
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    public func collect(upTo limit: Int) async throws -> Data {
        var data = Data()
        for try await chunk in body {
            data.append(chunk)
            if data.count > limit { throw ARIError.decoding("body larger than \(limit) bytes") }
        }
        return data
    }
}

/// How requests reach Asterisk. The HTTP implementation is `HTTPARITransport`; tests may record requests instead.
public protocol ARITransport: Sendable {
    func send(_ request: ARIRequest) async throws -> ARIResponse
    /// Sends a GET whose successful body is streamed; non-2xx answers throw `ARIError` as `send` does.
    func stream(_ request: ARIRequest) async throws -> ARIStreamedResponse
    /// Sends a GET and writes its successful body into a new file at `path` (replacing one there); returns
    /// the bytes written. A failed download leaves no file; non-2xx answers throw `ARIError` as `send` does.
    func download(_ request: ARIRequest, toFile path: String) async throws -> Int
    /// `download` without a task for the caller: `completion` runs once when it ends, on the thread that
    /// finished it.
    func download(_ request: ARIRequest, toFile path: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void)
}

extension ARITransport {
    public func download(_ request: ARIRequest, toFile path: String) async throws -> Int {
        let response = try await stream(request)
        let file = try DownloadFile(path: path)
        do {
            for try await chunk in response.body { try chunk.withUnsafeBytes { try file.write($0) } }
            return try file.finish()
        } catch {
            file.discard()
            throw error
        }
    }

    public func download(_ request: ARIRequest, toFile path: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        Task {
            do { completion(.success(try await download(request, toFile: path))) } catch { completion(.failure(error)) }
        }
    }
}

/// A file being downloaded, written with plain system calls (FileManager and FileHandle cost more than
/// the writes for a recording of a short call). Not shared between tasks.
public final class DownloadFile: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let operation: String
        public let path: String
        public let code: Int32
        public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
        /// The folder of the file does not exist.
        public var isMissingFolder: Bool { operation == "create" && code == ENOENT }
    }

    let path: String
    private var descriptor: Int32
    private(set) var written = 0

    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw Failure(operation: "create", path: path, code: errno) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let result = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if result < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "write", path: path, code: errno)
            }
            offset += result
        }
        written += bytes.count
    }

    /// Closes the file; its size.
    public func finish() throws -> Int {
        let result = close(descriptor)
        descriptor = -1
        guard result == 0 else {
            unlink(path)
            throw Failure(operation: "close", path: path, code: errno)
        }
        return written
    }

    /// Closes and removes the file.
    public func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(path)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}
