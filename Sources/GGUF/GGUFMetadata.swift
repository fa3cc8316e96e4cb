/// The key/value section of a GGUF file, with typed accessors that refuse a value stored with
/// the wrong type rather than guessing.
public struct GGUFMetadata: Sendable {
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]

    public init() {}

    mutating func insert(_ key: String, _ value: GGUFValue) throws {
        guard values.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
        keys.append(key)
    }

    public subscript(key: String) -> GGUFValue? { values[key] }
    public var count: Int { keys.count }

    private func mismatch(_ key: String, _ expected: String, _ value: GGUFValue) -> GGUFError {
        .wrongValueType(key: key, expected: expected, found: value.typeDescription)
    }

    public func string(_ key: String) throws -> String? {
        guard let v = values[key] else { return nil }
        guard case let .string(s) = v else { throw mismatch(key, "string", v) }
        return s
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = values[key] else { return nil }
        guard case let .bool(b) = v else { throw mismatch(key, "bool", v) }
        return b
    }

    /// An unsigned 32-bit value. Writers disagree on the integer width of some keys (token ids
    /// stored as int32), so any integer type is accepted when its value fits.
    public func uint32(_ key: String) throws -> UInt32? {
        guard let v = values[key] else { return nil }
        guard let i = v.integerValue, let u = UInt32(exactly: i) else { throw mismatch(key, "uint32", v) }
        return u
    }

    public func float32(_ key: String) throws -> Float? {
        guard let v = values[key] else { return nil }
        switch v {
        case let .float32(f): return f
        case let .float64(d): return Float(d)
        default: throw mismatch(key, "float32", v)
        }
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let v = values[key] else { return nil }
        guard case let .array(.string, items) = v else { throw mismatch(key, "array of string", v) }
        return items.map { if case let .string(s) = $0 { s } else { "" } }
    }

    public func int32Array(_ key: String) throws -> [Int32]? {
        guard let v = values[key] else { return nil }
        guard case let .array(elementType, items) = v, elementType != .string, elementType != .array else {
            throw mismatch(key, "array of int32", v)
        }
        var out = [Int32]()
        out.reserveCapacity(items.count)
        for item in items {
            guard let i = item.integerValue, let x = Int32(exactly: i) else { throw mismatch(key, "array of int32", v) }
            out.append(x)
        }
        return out
    }

    public func floatArray(_ key: String) throws -> [Float]? {
        guard let v = values[key] else { return nil }
        guard case let .array(.float32, items) = v else { throw mismatch(key, "array of float32", v) }
        return items.map { if case let .float32(f) = $0 { f } else { 0 } }
    }
}

/// Keys whose type the format fixes: a file that stores one of them with another type is refused
/// when opened, so later code never reads a misinterpreted hyperparameter.
enum KnownKeys {
    static let fixed: [String: GGUFValueType] = [
        "general.alignment": .uint32,
        "general.architecture": .string,
        "general.name": .string,
        "general.quantization_version": .uint32,
        "general.file_type": .uint32,
        "tokenizer.ggml.model": .string,
        "tokenizer.ggml.pre": .string,
        "tokenizer.ggml.tokens": .array,
        "tokenizer.ggml.merges": .array,
        "tokenizer.ggml.token_type": .array,
        "tokenizer.ggml.add_bos_token": .bool,
        "tokenizer.ggml.add_eos_token": .bool,
        "tokenizer.chat_template": .string,
    ]

    /// Per-architecture hyperparameters, keyed by the suffix after `<arch>.`.
    static let architectureScalars: [String: [GGUFValueType]] = [
        "context_length": [.uint32, .uint64],
        "embedding_length": [.uint32, .uint64],
        "block_count": [.uint32, .uint64],
        "feed_forward_length": [.uint32, .uint64, .array],
        "attention.head_count": [.uint32, .uint64, .array],
        "attention.head_count_kv": [.uint32, .uint64, .array],
        "attention.key_length": [.uint32],
        "attention.value_length": [.uint32],
        "rope.freq_base": [.float32],
        "rope.dimension_count": [.uint32],
        "attention.layer_norm_rms_epsilon": [.float32],
        "vocab_size": [.uint32, .uint64],
    ]

    static func check(_ key: String, _ value: GGUFValue, architecture: String?) throws {
        if let expected = fixed[key] {
            guard value.type == expected else {
                throw GGUFError.wrongValueType(key: key, expected: expected.description, found: value.typeDescription)
            }
            return
        }
        if let arch = architecture, key.hasPrefix(arch + "."),
           let allowed = architectureScalars[String(key.dropFirst(arch.count + 1))] {
            guard allowed.contains(value.type) else {
                throw GGUFError.wrongValueType(key: key, expected: allowed.map(\.description).joined(separator: " or "),
                                               found: value.typeDescription)
            }
        }
    }
}
