/// Why the engine refused or ended a request; each maps to one HTTP status.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownModel(String, available: [String])
    case noModelInstalled
    case queueFull(limit: Int)
    case promptTooLong(tokens: Int, context: Int)
    case insufficientMemory(model: String, needed: Int, available: Int)
    case loadFailed(model: String, reason: String)
    case healthCheckFailed(model: String, reason: String)
    case timedOut(seconds: Double)
    case shuttingDown
    case internalError(String)

    public var description: String {
        switch self {
        case let .unknownModel(name, available):
            "model \"\(name)\" is not installed" + (available.isEmpty ? "" : " (available: \(available.joined(separator: ", ")))")
        case .noModelInstalled:
            "no model installed: put a .gguf file in the model directory or start edgelmd with --model FILE.gguf"
        case let .queueFull(limit): "the server is busy: \(limit) requests are already waiting; retry later"
        case let .promptTooLong(tokens, context): "the prompt has \(tokens) tokens but the context holds \(context)"
        case let .insufficientMemory(model, needed, available):
            "loading \(model) needs \(needed / (1 << 20)) MiB but only \(available / (1 << 20)) MiB are available"
        case let .loadFailed(model, reason): "model \(model) could not be loaded: \(reason)"
        case let .healthCheckFailed(model, reason): "model \(model) failed its health check: \(reason)"
        case let .timedOut(seconds): "the request timed out after \(Int(seconds)) s"
        case .shuttingDown: "the server is shutting down"
        case let .internalError(message): message
        }
    }
}
