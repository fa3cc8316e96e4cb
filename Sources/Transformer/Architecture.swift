import GGUF

/// What distinguishes one member of the Llama family of decoders from another. Each supported
/// `general.architecture` is one value of this type, declared in `Architectures/`.
public struct Architecture: Sendable {
    public enum RopeStyle: Sendable { case normal, neox }

    public let name: String
    public let ropeStyle: RopeStyle
    /// Q, K and V projections carry biases (`attn_q.bias` …).
    public let qkvBias: Bool
    /// Per-head RMSNorm of queries and keys before RoPE (`attn_q_norm`, `attn_k_norm`).
    public let qkNorm: Bool

    /// The registry, keyed by `general.architecture`.
    public static let registry: [String: Architecture] = Dictionary(
        uniqueKeysWithValues: [Architecture.llama, .qwen2, .qwen3].map { ($0.name, $0) })

    public static var supported: [String] { registry.keys.sorted() }

    public static func named(_ name: String) throws -> Architecture {
        guard let a = registry[name] else { throw ModelError.unsupportedArchitecture(name, supported: supported) }
        return a
    }
}
