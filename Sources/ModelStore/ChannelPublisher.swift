#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The publisher's side of a channel directory, which any static HTTP server can serve:
/// `<v>.root.json` for every root version (devices follow rotations one version at a time),
/// `root.json` (the latest), `targets.json`, and the archives and deltas it lists.
public enum ChannelPublisher {
    public static func signedRoot(_ root: RootMetadata, keys: [SigningKey]) throws -> Data {
        try Envelope(type: RootMetadata.payloadType, payload: MetadataCoding.encoder().encode(root), keys: keys).encoded()
    }

    public static func signedTargets(_ targets: TargetsMetadata, keys: [SigningKey]) throws -> Data {
        try Envelope(type: TargetsMetadata.payloadType, payload: MetadataCoding.encoder().encode(targets), keys: keys).encoded()
    }

    /// Writes root version `root.version`, signed by `signers` (for a rotation: a threshold of the
    /// previous root keys and of the new ones). An existing version is never replaced.
    public static func writeRoot(_ root: RootMetadata, signers: [SigningKey], channel: URL) throws {
        let data = try signedRoot(root, keys: signers)
        let versioned = channel.appendingPathComponent("\(root.version).root.json")
        guard !FileManager.default.fileExists(atPath: versioned.path) else { throw MetadataError.exists(path: versioned.path) }
        try FileManager.default.createDirectory(at: channel, withIntermediateDirectories: true)
        try replace(channel.appendingPathComponent("\(root.version).root.json"), with: data)
        try replace(channel.appendingPathComponent("root.json"), with: data)
    }

    /// The newest root in the channel, unverified (the publisher's own files).
    public static func latestRoot(channel: URL) throws -> RootMetadata? {
        let url = channel.appendingPathComponent("root.json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        let (_, payload) = try Envelope.decode(data, what: url.path, maxBytes: ChannelTrust.maxRootBytes)
        return try MetadataCoding.decode(RootMetadata.self, payload, what: url.path)
    }

    /// Signs `models` as the channel's next targets version and writes `targets.json`.
    @discardableResult
    public static func publish(channel: URL, models: [ChannelModel], keys: [SigningKey], expires: Date) throws -> TargetsMetadata {
        let url = channel.appendingPathComponent("targets.json")
        var version = 1
        if let data = try? Data(contentsOf: url) {
            let (_, payload) = try Envelope.decode(data, what: url.path, maxBytes: ChannelTrust.maxTargetsBytes)
            version = try MetadataCoding.decode(TargetsMetadata.self, payload, what: url.path).version + 1
        }
        let targets = TargetsMetadata(version: version, expires: expires, models: models)
        for m in models { try m.validate(what: "targets") }
        try replace(url, with: signedTargets(targets, keys: keys))
        return targets
    }

    /// The descriptors `edgelm pack` wrote into the channel, sorted by name and version.
    public static func descriptors(in channel: URL) throws -> [PackDescriptor] {
        let names = try FileManager.default.contentsOfDirectory(atPath: channel.path)
        var out: [PackDescriptor] = []
        for name in names where name.hasSuffix(".json") && !name.hasSuffix("root.json") && name != "targets.json"
            && !name.hasSuffix(DeltaDescriptor.suffix) {
            let data = try Data(contentsOf: channel.appendingPathComponent(name))
            if let d = try? JSONDecoder().decode(PackDescriptor.self, from: data) { out.append(d) }
        }
        return out.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
    }

    /// The patches `edgelm diff` wrote into the channel (`*.delta.json` beside each), sorted by
    /// file name. A descriptor whose patch is missing or has another size is an error: publishing
    /// it would send every device on a failed download first.
    public static func deltaDescriptors(in channel: URL) throws -> [DeltaDescriptor] {
        var out: [DeltaDescriptor] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: channel.path).sorted() where name.hasSuffix(DeltaDescriptor.suffix) {
            let url = channel.appendingPathComponent(name)
            let data = try Data(contentsOf: url)
            guard data.count <= 64 * 1024, let d = try? JSONDecoder().decode(DeltaDescriptor.self, from: data) else {
                throw MetadataError.malformed(what: url.path, reason: "not a delta descriptor")
            }
            let patch = channel.appendingPathComponent(d.file)
            let size = (try? FileManager.default.attributesOfItem(atPath: patch.path)[.size] as? NSNumber)?.uint64Value
            guard ChannelModel.isPlainFileName(d.file), size == d.size else {
                throw MetadataError.malformed(what: url.path, reason: "its patch \(d.file) is missing or not \(d.size) bytes")
            }
            out.append(d)
        }
        return out
    }

    /// The channel entry of a packed version, with the patches that rebuild its GGUF.
    public static func model(_ d: PackDescriptor, deltas: [DeltaDescriptor], memoryBytes: UInt64, minRuntime: String,
                             health: ChannelModel.HealthCheck?, rollout: Int = 100) -> ChannelModel {
        ChannelModel(descriptor: d, memoryBytes: memoryBytes, minRuntime: minRuntime, health: health,
                     deltas: deltas.filter { $0.targetSHA256 == d.ggufSHA256 && $0.targetSize == d.ggufSize }.map(\.channelDelta),
                     rollout: rollout)
    }

    /// Replaces a file by rename, so a server never serves half of it.
    static func replace(_ url: URL, with data: Data) throws {
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        try data.write(to: temp)
        if rename(temp.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: temp)
            throw MetadataError.malformed(what: url.path, reason: "cannot be written (\(String(cString: strerror(errno))))")
        }
    }
}
