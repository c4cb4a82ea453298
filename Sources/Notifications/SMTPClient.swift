import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to deliver e-mail.
public struct SMTPConfiguration: Sendable, Equatable {
    public enum Security: String, Sendable, CaseIterable { case none, starttls, tls }
    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    public var from: String
    public var fromName: String?
    /// PEM file of extra trusted certificates (a private CA), besides the system's.
    public var trustRootsFile: String?
    public var timeout: TimeAmount

    public init(host: String, port: Int, security: Security, username: String? = nil, password: String? = nil, from: String,
                fromName: String? = nil, trustRootsFile: String? = nil, timeout: TimeAmount = .seconds(30)) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.fromName = fromName
        self.trustRootsFile = trustRootsFile
        self.timeout = timeout
    }
}

/// What went wrong talking to the SMTP server. `permanent` is true for 5xx replies: sending again will not help.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    public var code: Int?
    public var message: String
    public var permanent: Bool
    public var description: String { code.map { "SMTP \($0) \(message)" } ?? "SMTP: \(message)" }
    init(code: Int? = nil, _ message: String, permanent: Bool = false) {
        self.code = code
        self.message = message
        self.permanent = permanent
    }
}

/// One reply of the server: its code and its lines (a multi-line reply has several).
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: " ") }
}

/// Splits the byte stream into replies: `250-...` lines continue, `250 ...` ends one.
final class SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    private var lines: [String] = []

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPError("reply line longer than 4096 bytes") }
            return .needMoreData
        }
        var utf8 = buffer.readBytes(length: newline - buffer.readerIndex + 1) ?? []
        // Byte-wise: in Swift "\r\n" is one Character, so String suffix checks would not see "\n".
        while let last = utf8.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { utf8.removeLast() }
        let line = String(decoding: utf8, as: UTF8.self)
        guard utf8.count >= 3, let code = Int(String(decoding: utf8[0..<3], as: UTF8.self)), (200...599).contains(code) else {
            throw SMTPError("malformed reply '\(line.prefix(80))'")
        }
        let continues = utf8.count > 3 && utf8[3] == UInt8(ascii: "-")
        lines.append(utf8.count > 4 ? String(decoding: utf8[4...], as: UTF8.self) : "")
        guard lines.count <= 100 else { throw SMTPError("reply of more than 100 lines") }
        if !continues {
            context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
            lines = []
        }
        return .continue
    }
}

/// Hands replies and errors to the client's stream; the stream ends when the connection closes.
final class SMTPReplyForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = SMTPReply
    let continuation: AsyncStream<Result<SMTPReply, any Error>>.Continuation

    init(_ continuation: AsyncStream<Result<SMTPReply, any Error>>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(.success(unwrapInboundIn(data)))
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.yield(.failure(error))
        context.close(promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}

/// An SMTP client on SwiftNIO: plain, STARTTLS or implicit TLS, AUTH PLAIN or LOGIN, one connection per
/// message (alerts are few; a pooled connection would only add failure modes).
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    let group: any EventLoopGroup

    public init(configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    /// Sends the message; returns its Message-ID. Throws `SMTPError` (or a connection/TLS error).
    @discardableResult
    public func send(_ message: EmailMessage) async throws -> String {
        guard EmailAddress.normalise(configuration.from) != nil else { throw SMTPError("sender address '\(configuration.from)' is not valid", permanent: true) }
        guard !message.to.isEmpty else { throw SMTPError("no recipient", permanent: true) }
        for address in message.to where EmailAddress.normalise(address) == nil {
            throw SMTPError("recipient address '\(address.prefix(100))' is not valid", permanent: true)
        }
        let (text, messageID) = message.render(from: configuration.from, fromName: configuration.fromName)
        let session = try await SMTPSession.connect(configuration, group: group)
        do {
            try await session.deliver(from: configuration.from, to: message.to, data: text)
            await session.quit()
        } catch {
            await session.close()
            throw error
        }
        return messageID
    }
}

/// One conversation with the server.
final class SMTPSession: @unchecked Sendable {
    let channel: any Channel
    let configuration: SMTPConfiguration
    let sslContext: NIOSSLContext?
    var replies: AsyncStream<Result<SMTPReply, any Error>>.AsyncIterator

    init(channel: any Channel, configuration: SMTPConfiguration, sslContext: NIOSSLContext?,
         replies: AsyncStream<Result<SMTPReply, any Error>>) {
        self.channel = channel
        self.configuration = configuration
        self.sslContext = sslContext
        self.replies = replies.makeAsyncIterator()
    }

    static func tlsContext(_ configuration: SMTPConfiguration) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let file = configuration.trustRootsFile, !file.isEmpty {
            tls.additionalTrustRoots = [.file(file)]
        }
        return try NIOSSLContext(configuration: tls)
    }

    static func serverName(_ host: String) -> String? {
        // SNI carries names only; an IP address is verified against the certificate's IP entries instead.
        if host.allSatisfy({ $0.isNumber || $0 == "." }) || host.contains(":") { return nil }
        return host
    }

    static func connect(_ configuration: SMTPConfiguration, group: any EventLoopGroup) async throws -> SMTPSession {
        let (stream, continuation) = AsyncStream<Result<SMTPReply, any Error>>.makeStream()
        let sslContext = configuration.security == .none ? nil : try tlsContext(configuration)
        let implicitTLS = configuration.security == .tls
        let host = configuration.host
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS, let sslContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyForwarder(continuation))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw SMTPError("cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        let session = SMTPSession(channel: channel, configuration: configuration, sslContext: sslContext, replies: stream)
        do {
            try await session.handshake()
        } catch {
            await session.close()
            throw error
        }
        return session
    }

    func next() async throws -> SMTPReply {
        let timeout = configuration.timeout
        let result: Result<SMTPReply, any Error>? = try await withThrowingTaskGroup(of: Result<SMTPReply, any Error>?.self) { group in
            group.addTask { [self] in await self.replies.next() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))
                throw SMTPError("no reply within \(timeout.nanoseconds / 1_000_000_000) s")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        switch result {
        case .success(let reply): return reply
        case .failure(let error): throw SMTPError("connection failed: \(error)")
        case nil: throw SMTPError("the server closed the connection")
        }
    }

    @discardableResult
    func command(_ line: String?, expect: Set<Int>, what: String) async throws -> SMTPReply {
        if let line {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n"))
        }
        let reply = try await next()
        guard expect.contains(reply.code) else {
            throw SMTPError(code: reply.code, "\(what): \(reply.text.prefix(300))", permanent: (500...599).contains(reply.code))
        }
        return reply
    }

    func handshake() async throws {
        try await command(nil, expect: [220], what: "greeting")
        var capabilities = try await hello()
        if configuration.security == .starttls {
            guard capabilities.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                throw SMTPError("the server does not offer STARTTLS", permanent: true)
            }
            try await command("STARTTLS", expect: [220], what: "STARTTLS")
            guard let sslContext else { throw SMTPError("no TLS context") }
            let host = configuration.host
            let channel = self.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: Self.serverName(host)),
                                                               position: .first)
            }.get()
            capabilities = try await hello()
        }
        if let username = configuration.username, !username.isEmpty {
            try await authenticate(username: username, password: configuration.password ?? "", capabilities: capabilities)
        }
    }

    func hello() async throws -> [String] {
        let name = "murojaat.local"
        try await channel.writeAndFlush(ByteBuffer(string: "EHLO \(name)\r\n"))
        let reply = try await next()
        if reply.code == 250 { return Array(reply.lines.dropFirst()) }
        try await command("HELO \(name)", expect: [250], what: "HELO")
        return []
    }

    func authenticate(username: String, password: String, capabilities: [String]) async throws {
        let mechanisms = capabilities.first { $0.uppercased().hasPrefix("AUTH") }
            .map { $0.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).dropFirst().map(String.init) } ?? []
        func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
        if mechanisms.contains("PLAIN") {
            try await command("AUTH PLAIN " + b64("\u{0}\(username)\u{0}\(password)"), expect: [235], what: "AUTH PLAIN")
        } else if mechanisms.contains("LOGIN") {
            try await command("AUTH LOGIN", expect: [334], what: "AUTH LOGIN")
            try await command(b64(username), expect: [334], what: "AUTH LOGIN user")
            try await command(b64(password), expect: [235], what: "AUTH LOGIN password")
        } else {
            throw SMTPError("the server offers no AUTH PLAIN or LOGIN (offered: \(mechanisms.joined(separator: " ")))", permanent: true)
        }
    }

    func deliver(from: String, to: [String], data: String) async throws {
        try await command("MAIL FROM:<\(from)>", expect: [250], what: "MAIL FROM")
        for recipient in to {
            try await command("RCPT TO:<\(recipient)>", expect: [250, 251], what: "RCPT TO \(recipient)")
        }
        try await command("DATA", expect: [354], what: "DATA")
        // Dot-stuffing: a line that starts with "." gets a second one.
        var body = data.replacingOccurrences(of: "\r\n.", with: "\r\n..")
        if body.hasPrefix(".") { body = "." + body }
        try await command(body + ".", expect: [250], what: "end of data")
    }

    func quit() async {
        _ = try? await command("QUIT", expect: [221], what: "QUIT")
        await close()
    }

    func close() async {
        try? await channel.close()
    }
}
