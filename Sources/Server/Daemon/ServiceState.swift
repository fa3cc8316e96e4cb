import Synchronization

/// What the daemon is doing, as `/health`, `STATUS=` and the logs report it.
public enum ServicePhase: Sendable, Equatable, CustomStringConvertible {
    case starting
    case loading(String)
    case ready(String)
    case noModel
    case modelFailed(String, String)
    case reloading
    /// A new model version is on trial: loaded beside the current one and being checked.
    case swapping(String)
    case draining

    public var description: String {
        switch self {
        case .starting: "starting"
        case let .loading(model): "loading \(model)"
        case let .ready(model): "ready: serving \(model)"
        case .noModel: "no model installed"
        case let .modelFailed(model, reason): "model \(model) failed to load: \(reason)"
        case .reloading: "reloading configuration"
        case let .swapping(model): "swapping in \(model): health check"
        case .draining: "draining: finishing running requests"
        }
    }

    /// Whether inference requests can be served.
    public var isServing: Bool {
        switch self {
        case .ready, .reloading, .swapping: true
        default: false
        }
    }
}

public final class ServiceState: Sendable {
    private let phase = Mutex(ServicePhase.starting)
    private let onChange: @Sendable (ServicePhase) -> Void

    public init(onChange: @escaping @Sendable (ServicePhase) -> Void = { _ in }) { self.onChange = onChange }

    public var current: ServicePhase { phase.withLock { $0 } }

    public func set(_ new: ServicePhase) {
        let changed = phase.withLock { p in
            defer { p = new }
            return p != new
        }
        if changed { onChange(new) }
    }
}
