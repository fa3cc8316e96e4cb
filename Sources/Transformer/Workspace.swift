import Kernels

/// Scratch activations for one forward pass of up to `batch` tokens. Shape comments are
/// (tokens, width).
final class Workspace: @unchecked Sendable {
    let batch: Int
    let x: FloatBuffer          // (batch, embd) residual stream
    let xn: FloatBuffer         // (batch, embd) normed input of a sub-block, then its output projection
    let q: FloatBuffer          // (batch, heads * head_dim)
    let k: FloatBuffer          // (batch, kv_dim)
    let v: FloatBuffer          // (batch, kv_dim)
    let attention: FloatBuffer  // (batch, heads * head_dim)
    let gate: FloatBuffer       // (batch, ffn)
    let up: FloatBuffer         // (batch, ffn)
    let scores: FloatBuffer     // (heads, context)
    let logits: FloatBuffer     // (logitRows, vocab)
    let logitRows: Int
    let embdActs: QuantizedActivations
    let attentionActs: QuantizedActivations
    let ffnActs: QuantizedActivations

    init(config c: ModelConfig, batch: Int, context: Int, logitRows: Int = 8) {
        self.batch = batch
        x = FloatBuffer(count: batch * c.embeddingLength)
        xn = FloatBuffer(count: batch * c.embeddingLength)
        q = FloatBuffer(count: batch * c.qDim)
        k = FloatBuffer(count: batch * c.kvDim)
        v = FloatBuffer(count: batch * c.kvDim)
        attention = FloatBuffer(count: batch * c.qDim)
        gate = FloatBuffer(count: batch * c.feedForwardLength)
        up = FloatBuffer(count: batch * c.feedForwardLength)
        scores = FloatBuffer(count: c.headCount * context)
        self.logitRows = logitRows
        logits = FloatBuffer(count: logitRows * c.vocabularySize)
        embdActs = QuantizedActivations(maxTokens: batch, cols: c.embeddingLength)
        attentionActs = QuantizedActivations(maxTokens: batch, cols: c.qDim)
        ffnActs = QuantizedActivations(maxTokens: batch, cols: c.feedForwardLength)
    }
}
