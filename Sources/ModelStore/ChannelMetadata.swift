import Foundation

/// The root role: which keys may sign the root itself and the channel's targets, and how many
/// of each must. A new root must be signed by a threshold of the old root keys and of its own.
public struct RootMetadata: Codable, Sendable, Equatable {
    public struct Role: Codable, Sendable, Equatable {
        public let keyids: [String]
        public let threshold: Int
    }

    public var type = "root"
    public let version: Int
    public let expires: Date
    /// key id → public key (base64 of the raw 32 bytes)
    public let keys: [String: String]
    public let root: Role
    public let targets: Role

    static let payloadType = "application/vnd.edgelm.root+json"
    static let maxKeys = 32

    public init(version: Int, expires: Date, rootKeys: [PublicKey], rootThreshold: Int, targetKeys: [PublicKey], targetThreshold: Int) {
        self.version = version
        self.expires = expires
        var keys: [String: String] = [:]
        for k in rootKeys + targetKeys { keys[k.id] = k.base64 }
        self.keys = keys
        root = Role(keyids: rootKeys.map(\.id), threshold: rootThreshold)
        targets = Role(keyids: targetKeys.map(\.id), threshold: targetThreshold)
    }

    /// Checks the payload's own consistency and returns the public keys of `role`.
    func keys(of role: Role, what: String) throws -> [String: PublicKey] {
        guard type == "root", version >= 1, keys.count <= Self.maxKeys, role.keyids.count <= Self.maxKeys else {
            throw MetadataError.malformed(what: what, reason: "not a root payload, or too many keys")
        }
        guard Set(role.keyids).count == role.keyids.count, role.threshold >= 1, role.threshold <= role.keyids.count else {
            throw MetadataError.malformed(what: what, reason: "a role's threshold must be between 1 and its number of distinct keys")
        }
        var out: [String: PublicKey] = [:]
        for id in role.keyids {
            guard let b64 = keys[id], let raw = Data(base64Encoded: b64) else {
                throw MetadataError.malformed(what: what, reason: "key \(id) is listed in a role but not defined")
            }
            let key = try PublicKey(raw: raw, what: "\(what) key \(id)")
            guard key.id == id else { throw MetadataError.malformed(what: what, reason: "key id \(id) is not the hash of its key") }
            out[id] = key
        }
        return out
    }
}

/// One published version of a model, as the channel's targets list it.
public struct ChannelModel: Codable, Sendable, Equatable {
    /// A patch (`edgelm diff`) that rebuilds this version's GGUF from an older one's.
    public struct Delta: Codable, Sendable, Equatable {
        public let file: String
        public let sha256: String
        public let size: UInt64
        /// SHA-256 of the decompressed base GGUF the patch applies to (a version's `gguf_sha256`).
        public let baseSHA256: String
        /// log2 of the largest window of the patch's frames (prefix + chunk): the decoder's cap.
        public let windowLog: Int

        enum CodingKeys: String, CodingKey { case file, sha256, size, baseSHA256 = "base_sha256", windowLog = "window_log" }

        public init(file: String, sha256: String, size: UInt64, baseSHA256: String, windowLog: Int) {
            self.file = file
            self.sha256 = sha256
            self.size = size
            self.baseSHA256 = baseSHA256
            self.windowLog = windowLog
        }
    }

    public struct HealthCheck: Codable, Sendable, Equatable {
        public let prompt: String
        public let expect: String

        public init(prompt: String, expect: String) {
            self.prompt = prompt
            self.expect = expect
        }
    }

    public let name: String
    public let version: Int
    public let archive: String
    public let archiveSHA256: String
    public let archiveSize: UInt64
    public let ggufSHA256: String
    public let ggufSize: UInt64
    public let windowLog: Int
    public let architecture: String
    public let quantization: String
    /// Bytes of memory the model needs to serve (weights mapped, KV cache, scratch).
    public let memoryBytes: UInt64
    /// The lowest edgelm version that can run it ("0.1.0").
    public let minRuntime: String
    public let health: HealthCheck?
    public let deltas: [Delta]
    /// Percentage of devices (0-100, by a stable hash of the device id) offered this version.
    public let rollout: Int

    enum CodingKeys: String, CodingKey {
        case name, version, archive, architecture, quantization, health, deltas, rollout
        case archiveSHA256 = "archive_sha256", archiveSize = "archive_size", ggufSHA256 = "gguf_sha256", ggufSize = "gguf_size"
        case windowLog = "window_log", memoryBytes = "memory_bytes", minRuntime = "min_runtime"
    }

    public init(descriptor d: PackDescriptor, memoryBytes: UInt64, minRuntime: String, health: HealthCheck?,
                deltas: [Delta] = [], rollout: Int = 100) {
        name = d.name; version = d.version; archive = d.archive
        archiveSHA256 = d.archiveSHA256; archiveSize = d.archiveSize; ggufSHA256 = d.ggufSHA256; ggufSize = d.ggufSize
        windowLog = d.windowLog; architecture = d.architecture; quantization = d.quantization
        self.memoryBytes = memoryBytes; self.minRuntime = minRuntime; self.health = health
        self.deltas = deltas; self.rollout = rollout
    }

    func validate(what: String) throws {
        func bad(_ reason: String) -> MetadataError { .malformed(what: what, reason: "\(name):\(version): \(reason)") }
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        let files = [archive] + deltas.map(\.file)
        guard files.allSatisfy(Self.isPlainFileName) else { throw bad("file names must be plain names in the channel") }
        let hashes = [archiveSHA256, ggufSHA256] + deltas.flatMap { [$0.sha256, $0.baseSHA256] }
        guard hashes.allSatisfy(Self.isSHA256) else { throw bad("sha256 values must be 64 lowercase hex digits") }
        guard (10...31).contains(windowLog) else { throw bad("window_log \(windowLog) is outside 10...31") }
        guard (0...100).contains(rollout) else { throw bad("rollout \(rollout) is not a percentage") }
        guard deltas.count <= 16, RuntimeVersion(minRuntime) != nil else { throw bad("too many deltas or a bad min_runtime") }
        for d in deltas {
            guard (10...31).contains(d.windowLog) else { throw bad("delta \(d.file): window_log \(d.windowLog) is outside 10...31") }
            guard d.baseSHA256 != ggufSHA256 else { throw bad("delta \(d.file) applies to this version itself") }
            guard d.size > 0 else { throw bad("delta \(d.file) is empty") }
        }
        guard Set(deltas.map(\.baseSHA256)).count == deltas.count else { throw bad("two deltas apply to the same base") }
    }

    static func isPlainFileName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128 && s != "." && s != ".." && !s.contains("/") && !s.contains("\0")
    }

    static func isSHA256(_ s: String) -> Bool { s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }
}

/// The channel's list of models, signed by the targets role.
public struct TargetsMetadata: Codable, Sendable, Equatable {
    public var type = "targets"
    public let version: Int
    public let expires: Date
    public let models: [ChannelModel]

    static let payloadType = "application/vnd.edgelm.targets+json"

    public init(version: Int, expires: Date, models: [ChannelModel]) {
        self.version = version
        self.expires = expires
        self.models = models
    }
}

/// `major.minor.patch`, compared numerically.
public struct RuntimeVersion: Comparable, Sendable {
    let parts: [Int]

    public init?(_ text: String) {
        let p = text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard p.count == 3, p.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        parts = p.map { $0! }
    }

    public static func < (a: RuntimeVersion, b: RuntimeVersion) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
}

enum MetadataCoding {
    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return e
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        do {
            return try d.decode(type, from: data)
        } catch {
            throw MetadataError.malformed(what: what, reason: "payload does not parse (\(error))")
        }
    }
}
