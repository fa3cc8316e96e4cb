extension Architecture {
    /// Qwen3 dense: no QKV biases; per-head RMSNorm of Q and K before NEOX RoPE.
    public static let qwen3 = Architecture(name: "qwen3", ropeStyle: .neox, qkvBias: false, qkNorm: true)
}
