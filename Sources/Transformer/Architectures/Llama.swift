extension Architecture {
    /// Llama 2/3, SmolLM, DeepSeek-R1-Distill-Llama: no biases; GGUF converters permute Q and K
    /// so that adjacent-pair ("normal") RoPE applies.
    public static let llama = Architecture(name: "llama", ropeStyle: .normal, qkvBias: false, qkNorm: false)
}
