import GGUF

/// What the store records about a model from its GGUF header. Opening the file through
/// `GGUFFile` also validates the whole header and tensor table, so a file that is not a
/// well-formed GGUF is refused before it enters the store.
struct GGUFSummary {
    let architecture: String
    let quantization: String

    init(path: String) throws {
        let file = try GGUFFile(path: path)
        architecture = file.architecture ?? "unknown"
        if let type = try file.metadata.uint32("general.file_type") {
            quantization = Self.fileTypeNames[type] ?? "file type \(type)"
        } else {
            // No declared file type: name the tensor type holding most of the bytes.
            var bytes: [TensorType: UInt64] = [:]
            for t in file.tensorInfos { bytes[t.type, default: 0] += t.byteCount }
            quantization = bytes.max { ($0.value, $0.key.rawValue) < ($1.value, $1.key.rawValue) }.map { $0.key.description } ?? "unknown"
        }
    }

    /// `general.file_type` values (llama.cpp's `llama_ftype`) as people write them.
    static let fileTypeNames: [UInt32: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
        10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
        16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
    ]
}
