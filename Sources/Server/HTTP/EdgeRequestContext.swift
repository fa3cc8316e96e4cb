import Hummingbird
import Logging
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the connection, so a
/// handler can read the peer's credentials and notice a client that went away.
public struct EdgeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var peer: PeerCredentials? {
        get async { await PeerCredentials.of(channel) }
    }

    /// False once the client closed its end.
    public var isConnected: Bool { channel.isActive }
}
