import Metrics

/// The engine's figures, exported by whatever metrics backend the daemon bootstrapped.
struct EngineMetrics: Sendable {
    let promptTokens = Counter(label: "edgelm_prompt_tokens_total")
    let cachedTokens = Counter(label: "edgelm_prompt_cached_tokens_total")
    let generatedTokens = Counter(label: "edgelm_generated_tokens_total")
    let timeToFirstToken = Timer(label: "edgelm_time_to_first_token_seconds", preferredDisplayUnit: .seconds)
    let interTokenLatency = Timer(label: "edgelm_inter_token_latency_seconds", preferredDisplayUnit: .seconds)
    let queueDepth = Gauge(label: "edgelm_queue_depth")
    let batchSize = Recorder(label: "edgelm_decode_batch_size")
    let modelLoadSeconds = Gauge(label: "edgelm_model_load_seconds")
    let residentBytes = Gauge(label: "edgelm_model_resident_bytes")
    let loadedModels = Gauge(label: "edgelm_models_loaded")
}
