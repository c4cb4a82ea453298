import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Where one Asterisk's ARI is and how to log in.
public struct ARIServerConfiguration: Sendable, Equatable {
    /// A short name for logs and the `asterisk_node` column (e.g. `ast1`).
    public var name: String
    /// The ARI base URL including `/ari`, e.g. `http://127.0.0.1:8088/ari`.
    public var baseURL: String
    public var username: String
    public var password: String
    /// The Stasis application name the dialplan uses.
    public var application: String
    public var requestTimeout: Duration
    /// Send requests over the events WebSocket when Asterisk answers them there (20.14, 21.9, 22.4 and later).
    public var restOverWebSocket: Bool

    public init(name: String = "ast1", baseURL: String, username: String, password: String,
                application: String = "murojaat", requestTimeout: Duration = .seconds(10), restOverWebSocket: Bool = true) {
        self.restOverWebSocket = restOverWebSocket
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.name = name
        self.baseURL = base
        self.username = username
        self.password = password
        self.application = application
        self.requestTimeout = requestTimeout
    }

    public var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// `ws://…/ari/events?app=…` — credentials travel in the Authorization header, never in the URL.
    public var eventsURL: String {
        let ws = baseURL.hasPrefix("https://") ? "wss://" + baseURL.dropFirst(8)
            : baseURL.hasPrefix("http://") ? "ws://" + baseURL.dropFirst(7) : baseURL
        return ws + "/events?app=" + ARIRequest.encodeQuery(application) + "&subscribeAll=false"
    }
}

/// ARI over HTTP with AsyncHTTPClient: Basic auth, a timeout on every request, status checked before decoding.
public struct HTTPARITransport: ARITransport {
    public let configuration: ARIServerConfiguration
    let httpClient: HTTPClient
    /// Largest JSON answer accepted; a listing of 300 channels is well under 1 MiB.
    let maxBodySize: Int
    /// The longest a recording's copy may take: a long call's recording is tens of megabytes, so six request
    /// timeouts and ten minutes at least unless given.
    let copyTimeout: TimeAmount

    public init(configuration: ARIServerConfiguration, httpClient: HTTPClient = .shared, maxBodySize: Int = 16 << 20,
                copyTimeout: Duration? = nil) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.maxBodySize = maxBodySize
        self.copyTimeout = copyTimeout.map(TimeAmount.init) ?? max(TimeAmount(configuration.requestTimeout) * 6, .minutes(10))
    }

    public func send(_ request: ARIRequest) async throws -> ARIResponse {
        let response = try await execute(request)
        let buffer = try await mapErrors { try await response.body.collect(upTo: maxBodySize) }
        return try Self.answer(status: response.status, headers: response.headers, body: Data(buffer.readableBytesView))
    }

    /// A 2xx answer as an `ARIResponse`; any other status as the typed error with ARI's message.
    static func answer(status: HTTPResponseStatus, headers: HTTPHeaders, body: Data) throws -> ARIResponse {
        let code = Int(status.code)
        guard (200..<300).contains(code) else { throw ARIError(status: code, message: message(from: body)) }
        return ARIResponse(status: code, contentType: headers.first(name: "Content-Type"), body: body)
    }

    public func stream(_ request: ARIRequest) async throws -> ARIStreamedResponse {
        let response = try await execute(request)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let buffer = try await mapErrors { try await response.body.collect(upTo: 64 << 10) }
            throw ARIError(status: status, message: Self.message(from: Data(buffer.readableBytesView)))
        }
        let length = response.headers.first(name: "Content-Length").flatMap { Int($0) }
        return ARIStreamedResponse(
            contentType: response.headers.first(name: "Content-Type"),
            contentLength: length,
            body: response.body.map { Data($0.readableBytesView) }
        )
    }

    /// Recording copies run on a thread of their own: the connection, the answer and the file writes all
    /// happen there, one wake-up of the caller at the end instead of one task hop per chunk, and a slow disk
    /// holds up only other copies, never a call (the call flow's loop) nor the web (the shared pool).
    /// It runs at a lower priority (nice 10): a copy can wait a little, a call should not wait for a copy.
    static let downloadLoop: any EventLoop = {
        // Named `copies-…` (in `top -H`, `perf` and the benchmark's CPU by thread).
        let loop = MultiThreadedEventLoopGroup._makePerpetualGroup(threadNamePrefix: "copies-", numberOfThreads: 1).next()
        #if os(Linux)
        // On Linux the nice value is per thread, and 0 names the calling thread (elsewhere it is the process's).
        loop.execute { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
        #endif
        return loop
    }()

    /// The body goes from AsyncHTTPClient's buffers straight into the file.
    public func download(_ request: ARIRequest, toFile path: String) async throws -> Int {
        try await startDownload(request, toFile: path).get()
    }

    /// The copy is started and ends on the copies' loop: the caller (the call flow) only hands it over.
    public func download(_ request: ARIRequest, toFile path: String, completion: @escaping @Sendable (Result<Int, any Error>) -> Void) {
        startDownload(request, toFile: path).whenComplete(completion)
    }

    /// One GET whose 2xx body goes into a new file as it arrives (AsyncHTTPClient, connections kept per
    /// Asterisk in the copies' loop's client); anything else leaves no file.
    func startDownload(_ request: ARIRequest, toFile path: String) -> EventLoopFuture<Int> {
        let loop = Self.downloadLoop
        let http: HTTPClient.Request
        do {
            http = try HTTPClient.Request(url: configuration.baseURL + request.pathAndQuery, method: .GET, headers: headers(for: request))
        } catch {
            return loop.makeFailedFuture(ARIError.transport(String(describing: error)))
        }
        return Self.client(for: loop)
            .execute(request: http, delegate: FileDownload(path: path), eventLoop: .indifferent, deadline: .now() + copyTimeout).futureResult
            .flatMapErrorThrowing { error in throw Self.mapError(error) }
    }

    /// Sends `request` from `loop` without a task: the connection and the answer stay on that loop (a client
    /// per loop, made on first use), so a call flow running there hands its request over and hears the answer
    /// without waking another thread. Asterisk versions without REST over WebSocket get their call requests
    /// this way.
    public func submit(_ request: ARIRequest, on loop: any EventLoop) -> EventLoopFuture<ARIResponse> {
        let http: HTTPClient.Request
        do {
            http = try HTTPClient.Request(url: configuration.baseURL + request.pathAndQuery, method: HTTPMethod(rawValue: request.method.rawValue),
                                          headers: headers(for: request), body: request.body.map { .bytes($0) })
        } catch {
            return loop.makeFailedFuture(ARIError.transport(String(describing: error)))
        }
        // The accumulator stops reading past `maxBodySize` (a hostile or broken server cannot fill memory).
        let accumulator = ResponseAccumulator(request: http, maxBodySize: min(maxBodySize, Int(UInt32.max)))
        return Self.client(for: loop).execute(request: http, delegate: accumulator, eventLoop: .indifferent, deadline: .now() + timeout)
            .futureResult
            .flatMapError { error in loop.makeFailedFuture(Self.mapError(error)) }
            .flatMapThrowing { response in
                try Self.answer(status: response.status, headers: response.headers, body: response.body.map { Data($0.readableBytesView) } ?? Data())
            }
    }

    /// Basic auth, and the content type when the request has a JSON body.
    func headers(for request: ARIRequest) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: configuration.basicAuthorization)
        if request.body != nil { headers.add(name: "Content-Type", value: "application/json") }
        return headers
    }

    /// `requestTimeout` as NIO counts time.
    var timeout: TimeAmount { TimeAmount(configuration.requestTimeout) }

    /// One HTTP client per event loop for `submit`, kept for the life of the process like `HTTPClient.shared`.
    /// Its only loop is that one, so its connections and callbacks are there; requests are `.indifferent`
    /// because a request that *requires* a loop may open a connection past the pool's limit, used once and
    /// closed (seen: 300–560 connections at once and 9,000 in TIME-WAIT in a 3,000-call run, where Asterisk
    /// allows 100 sessions).
    /// Its pool allows 32 connections to one Asterisk (Asterisk's `sessionlimit` defaults to 100): a burst of
    /// calls should not queue behind the default 8. Idle connections are closed after 10 s, before Asterisk
    /// closes them (`session_keep_alive`, 15 s by default), so a request is not sent on a connection that
    /// the server is closing at that moment.
    static let loopClients = Mutex<[ObjectIdentifier: HTTPClient]>([:])

    static func client(for loop: any EventLoop) -> HTTPClient {
        loopClients.withLock { clients in
            let key = ObjectIdentifier(loop)
            if let client = clients[key] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
            // No tracing spans: with the default (no-op) tracer each request still parsed its URL again for the
            // span's attributes, a share of every request's cost here.
            configuration.tracing.tracer = nil
            let client = HTTPClient(eventLoopGroup: loop, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    static func mapError(_ error: any Error) -> any Error {
        switch error {
        case let error as ARIError: error
        case let error as DownloadFile.Failure: error
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout: ARIError.timeout
        case is ResponseAccumulator.ResponseTooBigError: ARIError.transport("answer larger than allowed")
        default: ARIError.transport(String(describing: error))
        }
    }

    func execute(_ request: ARIRequest) async throws -> HTTPClientResponse {
        var http = HTTPClientRequest(url: configuration.baseURL + request.pathAndQuery)
        http.method = HTTPMethod(rawValue: request.method.rawValue)
        http.headers = headers(for: request)
        if let body = request.body { http.body = .bytes(ByteBuffer(bytes: body)) }
        return try await mapErrors { try await httpClient.execute(http, timeout: timeout) }
    }

    func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.mapError(error)
        }
    }

    /// ARI puts its reason in `message`, except for a few answers that use `error`; else the text itself.
    static func message(from data: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let message = object["message"] as? String { return message }
            if let message = object["error"] as? String { return message }
        }
        return String(decoding: data.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Writes a 2xx answer's body into a new file at `path` as it arrives (on the client's loop); any other answer
/// becomes the `ARIError` with ARI's message (from the first 64 KiB of its body), and no file is left.
final class FileDownload: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Int

    let path: String
    private var status = 0
    private var file: DownloadFile?
    private var errorBody = ByteBuffer()

    /// How many parts of the body arrived (each a wake-up of the copies' loop).
    private(set) var parts = 0

    init(path: String) { self.path = path }

    func didReceiveHead(task: HTTPClient.Task<Int>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        guard (200..<300).contains(status) else { return task.eventLoop.makeSucceededVoidFuture() }
        do {
            file = try DownloadFile(path: path)
            return task.eventLoop.makeSucceededVoidFuture()
        } catch {
            return task.eventLoop.makeFailedFuture(error)
        }
    }

    /// A part of the body: into the file (a failed write removes it), or kept for the error's message.
    func didReceiveBodyPart(task: HTTPClient.Task<Int>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        parts += 1
        if let file {
            do {
                try buffer.withUnsafeReadableBytes { try file.write($0) }
            } catch {
                discard()
                return task.eventLoop.makeFailedFuture(error)
            }
        } else if !(200..<300).contains(status), errorBody.readableBytes < 64 << 10 {
            var copy = buffer
            errorBody.writeBuffer(&copy)
        }
        // Asterisk writes a recording into the connection a few hundred bytes at a time; a reader that keeps up wakes
        // for every piece (up to 1,000 parts for 30 s of talk: 8–10 ms of CPU per copy, the app's largest cost at 300
        // calls). After a small part the next read waits a moment (backpressure: AsyncHTTPClient reads again when this
        // future completes), so that it finds the socket's buffer full. A copy is not an event anyone waits on.
        // At most one pause per 4 KiB read: an answer already buffered in small chunks (a chunked answer through a
        // proxy) reads at 2 MB/s or more instead of 128 KB/s, and a long recording stays well inside the copy's deadline.
        readSincePause += buffer.readableBytes
        if buffer.readableBytes < Self.smallPart, readSincePause >= Self.readBetweenPauses {
            readSincePause = 0
            return task.eventLoop.scheduleTask(in: Self.pause) {}.futureResult
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    private var readSincePause = FileDownload.readBetweenPauses
    static let readBetweenPauses = 4 << 10

    static let smallPart = 16 << 10
    static let pause = TimeAmount.milliseconds(2)

    func didReceiveError(task: HTTPClient.Task<Int>, _ error: any Error) {
        discard()
    }

    /// The file's size once it is closed, or the answer's `ARIError`.
    func didFinishRequest(task: HTTPClient.Task<Int>) throws -> Int {
        guard let file else {
            throw ARIError(status: status, message: HTTPARITransport.message(from: Data(errorBody.readableBytesView)))
        }
        self.file = nil
        return try file.finish()
    }

    /// Closes and removes the file, if one was begun.
    private func discard() {
        file?.discard()
        file = nil
    }
}
