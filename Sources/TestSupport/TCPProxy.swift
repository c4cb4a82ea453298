import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP proxy in front of a real server (PostgreSQL in the outage tests). `cut()` closes
/// every open connection and refuses new ones, as a network or database outage does; `restore()`
/// lets connections through again.
public final class TCPProxy: Sendable {
    let target: (host: String, port: Int)
    let group: MultiThreadedEventLoopGroup
    let state = Mutex<(up: Bool, open: [any Channel])>((true, []))
    let server = Mutex<(any Channel)?>(nil)

    public init(targetHost: String, targetPort: Int) {
        target = (targetHost, targetPort)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Starts listening on a free loopback port and returns it.
    public func start() async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in self.accept(inbound) }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        server.withLock { $0 = channel }
        return channel.localAddress?.port ?? 0
    }

    public func cut() {
        let open = state.withLock { value in
            value.up = false
            defer { value.open.removeAll() }
            return value.open
        }
        for channel in open { channel.close(promise: nil) }
    }

    public func restore() { state.withLock { $0.up = true } }

    public func stop() async {
        cut()
        try? await server.withLock { $0 }?.close()
        try? await group.shutdownGracefully()
    }

    func accept(_ inbound: any Channel) -> EventLoopFuture<Void> {
        guard state.withLock({ $0.up }) else { return inbound.close() }
        _ = inbound.setOption(.autoRead, value: false)
        return ClientBootstrap(group: inbound.eventLoop)
            .connect(host: target.host, port: target.port)
            .flatMap { outbound in
                let (a, b) = GlueHandler.pair()
                self.state.withLock { $0.open += [inbound, outbound] }
                return inbound.pipeline.addHandler(a).and(outbound.pipeline.addHandler(b)).map { _ in
                    _ = inbound.setOption(.autoRead, value: true)
                }
            }
            .flatMapError { _ in inbound.close() }
    }
}

/// Copies bytes between two channels; closing one closes the other.
final class GlueHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    var partner: GlueHandler?
    var context: ChannelHandlerContext?

    static func pair() -> (GlueHandler, GlueHandler) {
        let a = GlueHandler(), b = GlueHandler()
        a.partner = b
        b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.forward(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.flushPartner() }

    func channelInactive(context: ChannelHandlerContext) { partner?.closePartner() }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }

    func forward(_ data: NIOAny) {
        guard let context else { return }
        context.eventLoop.execute { context.write(data, promise: nil) }
    }

    func flushPartner() {
        guard let context else { return }
        context.eventLoop.execute { context.flush() }
    }

    func closePartner() {
        guard let context else { return }
        context.eventLoop.execute { context.close(promise: nil) }
    }
}
