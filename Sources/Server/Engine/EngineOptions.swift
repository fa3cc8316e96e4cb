/// The engine's settings (from the configuration file, environment and flags).
public struct EngineOptions: Sendable, Equatable {
    public var threads: Int
    public var slots = 4
    public var context = 4096
    /// Requests waiting for a slot beyond those running; more are refused with 503.
    public var queueLimit = 16
    public var keepAlive: Duration? = .seconds(300)
    public var memoryReserveBytes = 256 << 20
    /// Prompt tokens evaluated between two decode steps, so running streams keep flowing.
    public var prefillChunk = 64
    /// Events a client may leave unread before its sequence pauses (bounded buffering).
    public var maxUnreadEvents = 256

    public init(threads: Int) { self.threads = threads }
}

/// One model's state as `/api/ps` and `/edgelm/v1/info` show it.
public struct ResidentModel: Sendable {
    public var name: String
    public var description: ModelDescription
    public var residentBytes: Int
    public var activeSequences: Int
    public var slots: Int
    public var loadSeconds: Double
    public var expiresIn: Duration?
}
