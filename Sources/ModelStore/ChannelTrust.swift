import Crypto
import Foundation

/// Why channel metadata was refused.
public enum MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    case badKeyFile(path: String, reason: String)
    case exists(path: String)
    case tooLarge(what: String, size: Int, cap: Int)
    case malformed(what: String, reason: String)
    case wrongType(what: String, found: String)
    case notEnoughSignatures(what: String, role: String, valid: Int, threshold: Int)
    case rootVersionSkipped(expected: Int, found: Int)
    case rollback(what: String, version: Int, seen: Int)
    case expired(what: String, expires: Date, now: Date)
    case duplicateModel(name: String, version: Int)
    case overBudget(name: String, version: Int, needs: UInt64, budget: UInt64)
    case runtimeTooOld(name: String, version: Int, needs: String, have: String)

    public var description: String {
        switch self {
        case let .badKeyFile(path, reason): "key file \(path): \(reason)"
        case let .exists(path): "\(path) exists already; refusing to overwrite it"
        case let .tooLarge(what, size, cap): "\(what) is \(size) bytes, over the \(cap)-byte cap for metadata"
        case let .malformed(what, reason): "\(what): \(reason)"
        case let .wrongType(what, found): "\(what) holds \(found) metadata"
        case let .notEnoughSignatures(what, role, valid, threshold):
            "\(what): \(valid) valid signature\(valid == 1 ? "" : "s") from the \(role) keys, \(threshold) required"
        case let .rootVersionSkipped(expected, found):
            "root rotation skips a version: expected root version \(expected), got \(found)"
        case let .rollback(what, version, seen):
            "\(what) version \(version) is older than version \(seen) seen before (a replay or rollback)"
        case let .expired(what, expires, now):
            "\(what) expired at \(ISO8601DateFormatter().string(from: expires)) (now \(ISO8601DateFormatter().string(from: now)))"
        case let .duplicateModel(name, version): "the channel lists \(name):\(version) twice"
        case let .overBudget(name, version, needs, budget):
            "\(name):\(version) needs \(needs / 1_048_576) MiB of memory; this device's budget is \(budget / 1_048_576) MiB"
        case let .runtimeTooOld(name, version, needs, have): "\(name):\(version) needs edgelm \(needs) or newer; this is \(have)"
        }
    }
}

/// What a device trusts about a channel: the root it has verified up to and the highest targets
/// version it has accepted. Every check follows the chain from the root the device was given.
public struct ChannelTrust: Sendable {
    public static let maxRootBytes = 64 * 1024
    public static let maxTargetsBytes = 1024 * 1024

    public private(set) var root: RootMetadata
    /// The verified root envelope, to persist as the next trust anchor.
    public private(set) var rootData: Data
    public private(set) var seenTargetsVersion: Int
    /// Allowance for boards without a real-time clock: metadata counts as expired only this long
    /// after its expiry.
    public var clockSkew: TimeInterval

    /// `trustedRoot`: a root envelope shipped with the device (or persisted by the last update);
    /// it must be signed by a threshold of its own root keys. Its expiry is checked after updates.
    public init(trustedRoot data: Data, seenTargetsVersion: Int = 0, clockSkew: TimeInterval = 300) throws {
        let (env, payload) = try Envelope.decode(data, what: "trusted root", maxBytes: Self.maxRootBytes)
        let r = try Self.rootPayload(env, payload, what: "trusted root")
        try Self.require(env, payload, keys: r.keys(of: r.root, what: "trusted root"), threshold: r.root.threshold, what: "trusted root", role: "root")
        root = r
        rootData = data
        self.seenTargetsVersion = seenTargetsVersion
        self.clockSkew = clockSkew
    }

    /// Follows root rotations: `fetch(v)` gives `<v>.root.json`, or nil when the channel has no
    /// such version. Each new root must be version v exactly and be signed by a threshold of the
    /// previous root's root keys and of its own. The final root must not have expired.
    public mutating func updateRoot(now: Date, fetch: (Int) throws -> Data?) throws {
        for _ in 0..<1024 {
            let next = root.version + 1
            guard let data = try fetch(next) else { break }
            let what = "root version \(next)"
            let (env, payload) = try Envelope.decode(data, what: what, maxBytes: Self.maxRootBytes)
            let r = try Self.rootPayload(env, payload, what: what)
            guard r.version == next else { throw MetadataError.rootVersionSkipped(expected: next, found: r.version) }
            try Self.require(env, payload, keys: root.keys(of: root.root, what: "trusted root"), threshold: root.root.threshold,
                             what: what, role: "previous root")
            try Self.require(env, payload, keys: r.keys(of: r.root, what: what), threshold: r.root.threshold, what: what, role: "new root")
            root = r
            rootData = data
        }
        try checkExpiry(root.expires, what: "root version \(root.version)", now: now)
    }

    /// Verifies the channel's targets against the current root, refusing a version older than
    /// one seen before, expired metadata and inconsistent entries; remembers the version.
    public mutating func verifyTargets(_ data: Data, now: Date) throws -> TargetsMetadata {
        let what = "targets metadata"
        let (env, payload) = try Envelope.decode(data, what: what, maxBytes: Self.maxTargetsBytes)
        guard env.payloadType == TargetsMetadata.payloadType else { throw MetadataError.wrongType(what: what, found: env.payloadType) }
        try Self.require(env, payload, keys: root.keys(of: root.targets, what: "root"), threshold: root.targets.threshold,
                         what: what, role: "targets")
        let t = try MetadataCoding.decode(TargetsMetadata.self, payload, what: what)
        guard t.type == "targets", t.version >= 1, t.models.count <= 4096 else {
            throw MetadataError.malformed(what: what, reason: "not a targets payload, or too many models")
        }
        guard t.version >= seenTargetsVersion else { throw MetadataError.rollback(what: what, version: t.version, seen: seenTargetsVersion) }
        try checkExpiry(t.expires, what: "\(what) version \(t.version)", now: now)
        var seen = Set<String>()
        for m in t.models {
            try m.validate(what: what)
            guard seen.insert("\(m.name):\(m.version)").inserted else { throw MetadataError.duplicateModel(name: m.name, version: m.version) }
        }
        seenTargetsVersion = t.version
        return t
    }

    func checkExpiry(_ expires: Date, what: String, now: Date) throws {
        if now.timeIntervalSince(expires) > clockSkew { throw MetadataError.expired(what: what, expires: expires, now: now) }
    }

    static func rootPayload(_ env: Envelope, _ payload: Data, what: String) throws -> RootMetadata {
        guard env.payloadType == RootMetadata.payloadType else { throw MetadataError.wrongType(what: what, found: env.payloadType) }
        return try MetadataCoding.decode(RootMetadata.self, payload, what: what)
    }

    static func require(_ env: Envelope, _ payload: Data, keys: [String: PublicKey], threshold: Int, what: String, role: String) throws {
        let valid = env.validSigners(payload: payload, trusted: keys).count
        guard valid >= threshold else { throw MetadataError.notEnoughSignatures(what: what, role: role, valid: valid, threshold: threshold) }
    }
}

extension ChannelModel {
    /// Refuses, before anything is downloaded, a model this device cannot hold or run.
    public func checkFits(memoryBudget: UInt64, runtime: String) throws {
        guard memoryBytes <= memoryBudget else {
            throw MetadataError.overBudget(name: name, version: version, needs: memoryBytes, budget: memoryBudget)
        }
        if let need = RuntimeVersion(minRuntime), let have = RuntimeVersion(runtime), have < need {
            throw MetadataError.runtimeTooOld(name: name, version: version, needs: minRuntime, have: runtime)
        }
    }

    /// Whether a staged rollout offers this version to `deviceID`: a stable hash of the model,
    /// version and device puts each device at a fixed point of 0..<100.
    public func isOffered(to deviceID: String) -> Bool {
        let digest = Array(SHA256.hash(data: Data("\(name):\(version):\(deviceID)".utf8)))
        let point = (UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])) % 100
        return Int(point) < rollout
    }
}
