import Foundation
import Glibc
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Where the daemon listens: a socket systemd passed (socket activation), else a path it binds.
public enum ListenAddress: Sendable, Equatable {
    case inherited(descriptor: Int32)
    case path(String, mode: mode_t)
}

public enum ListenerError: Error, CustomStringConvertible, Equatable {
    case notASocket(path: String)
    case cannotPrepare(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notASocket(path): "\(path) exists and is not a socket (refusing to remove it)"
        case let .cannotPrepare(path, reason): "cannot listen on \(path): \(reason)"
        }
    }
}

/// Limits a hostile or careless client cannot exceed.
public struct ConnectionLimits: Sendable, Equatable {
    public var maxConnections = 256
    public var idleTimeout: Duration = .seconds(60)
    public var maxHeaderFields = 100
    public var maxHeaderBytes = 16 * 1024

    public init() {}
}

/// HTTP/1.1 over a Unix socket: SwiftNIO accepts (it can adopt an inherited descriptor) and
/// Hummingbird's HTTP/1 channel and router serve each connection.
public final class UnixListener: Sendable {
    let address: ListenAddress
    let limits: ConnectionLimits
    let logger: Logger
    let http: HTTP1Channel
    private let open = Atomic<Int>(0)
    private let serverChannel = Mutex<(any Channel)?>(nil)

    public init(address: ListenAddress, limits: ConnectionLimits, router: Router<EdgeRequestContext>, logger: Logger) {
        self.address = address
        self.limits = limits
        self.logger = logger
        let responder = router.buildResponder()
        let configuration = HTTP1Channel.Configuration(
            idleTimeout: .nanoseconds(Int64(limits.idleTimeout.components.seconds) * 1_000_000_000),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes,
                               maxHeaderFieldCount: limits.maxHeaderFields))
        http = HTTP1Channel(responder: { [logger] request, writer, channel in
            let context = EdgeRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = try APIError.from(error).response(from: request, context: context)
            }
            try await writer.write(response: response.head, body: response.body)
        }, configuration: configuration)
    }

    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// Binds (or adopts) the socket. Call before `serve`, so the socket exists early.
    public func bind() async throws -> NIOAsyncChannel<HTTP1Channel.Value, Never> {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<HTTP1Channel.Value> = {
            [http, logger] channel in http.setup(channel: channel, logger: logger)
        }
        let server: NIOAsyncChannel<HTTP1Channel.Value, Never>
        switch address {
        case let .inherited(fd):
            server = try await bootstrap.bind(fd, childChannelInitializer: initializer)
            logger.info("listening on the socket passed by systemd", metadata: ["fd": "\(fd)"])
        case let .path(path, mode):
            try Self.removeStaleSocket(at: path)
            server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false,
                                              childChannelInitializer: initializer)
            guard chmod(path, mode) == 0 else {
                throw ListenerError.cannotPrepare(path: path, reason: "chmod: \(String(cString: strerror(errno)))")
            }
            logger.info("listening", metadata: ["socket": "\(path)", "mode": "\(String(mode, radix: 8))"])
        }
        serverChannel.withLock { $0 = server.channel }
        return server
    }

    /// Serves connections until the server channel closes (`close()`), then waits for open
    /// connections to end.
    public func serve(_ server: NIOAsyncChannel<HTTP1Channel.Value, Never>) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    let count = open.add(1, ordering: .relaxed).newValue
                    guard count <= limits.maxConnections else {
                        open.subtract(1, ordering: .relaxed)
                        logger.warning("connection refused: too many open connections", metadata: ["limit": "\(limits.maxConnections)"])
                        // An async channel must be finished through executeThenClose, never just dropped.
                        try? await connection.executeThenClose { _, _ in }
                        continue
                    }
                    group.addTask {
                        await self.http.handle(value: connection, logger: self.logger)
                        self.open.subtract(1, ordering: .relaxed)
                    }
                }
            }
        }
    }

    /// Stops accepting; connections already open carry on.
    public func close() async {
        let channel = serverChannel.withLock { $0 }
        try? await channel?.close()
    }

    /// Removes a leftover socket file from an earlier run, but never a file of another kind, and
    /// never through a symlink (lstat does not follow it).
    public static func removeStaleSocket(at path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw ListenerError.cannotPrepare(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw ListenerError.notASocket(path: path) }
        guard unlink(path) == 0 else {
            throw ListenerError.cannotPrepare(path: path, reason: "unlink: \(String(cString: strerror(errno)))")
        }
    }
}
