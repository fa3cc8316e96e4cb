extension Architecture {
    /// Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen): biases on Q, K and V; NEOX-style RoPE
    /// (the two halves of each head rotate together); usually an untied output head.
    public static let qwen2 = Architecture(name: "qwen2", ropeStyle: .neox, qkvBias: true, qkNorm: false)
}
