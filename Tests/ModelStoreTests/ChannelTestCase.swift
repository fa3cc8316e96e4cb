#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore
import TestSupport

/// A signed channel directory served by nginx, and models of chosen sizes to publish into it.
class ChannelTestCase: TemporaryDirectoryTestCase {
    var channel: URL!
    var nginx: NginxServer!
    var targetsKey: SigningKey!
    var trustedRootURL: URL!
    var trustedRoot: Data { get throws { try Data(contentsOf: trustedRootURL) } }
    let progress = ProgressLog()

    override func setUpWithError() throws {
        try super.setUpWithError()
        channel = dir.appendingPathComponent("channel")
        let rootKey = SigningKey()
        targetsKey = SigningKey()
        let root = RootMetadata(version: 1, expires: Date() + 86400 * 365, rootKeys: [rootKey.publicKey], rootThreshold: 1,
                                targetKeys: [targetsKey.publicKey], targetThreshold: 1)
        try ChannelPublisher.writeRoot(root, signers: [rootKey], channel: channel)
        trustedRootURL = channel.appendingPathComponent("1.root.json")
        nginx = try NginxServer(root: channel, prefix: dir.appendingPathComponent("nginx"))
    }

    override func tearDownWithError() throws {
        nginx?.stop()
        nginx = nil
        try super.tearDownWithError()
    }

    /// A synthetic GGUF with an extra tensor of `padding` bytes: random (the archive is as large
    /// as the GGUF) or zeros (the archive stays small, the GGUF does not).
    func model(_ file: String, seed: UInt64, padding: Int = 0, random: Bool = true) throws -> String {
        var b = SyntheticModel(architecture: "llama", seed: seed).builder()
        if padding > 0 {
            let count = padding / 4
            var bytes = [UInt8](repeating: 0, count: count * 4)
            if random {
                var state = seed | 1
                for i in stride(from: 0, to: bytes.count, by: 8) {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    withUnsafeBytes(of: state) { for j in 0..<min(8, bytes.count - i) { bytes[i + j] = $0[j] } }
                }
            }
            b.add(.init(name: "padding.weight", type: .f32, shape: [Int64(count)], data: bytes))
        }
        return try write(b.build(), to: file)
    }

    /// Packs `gguf` as `name:version` into the channel and signs targets listing every packed version.
    @discardableResult
    func publish(_ gguf: String, name: String, version: Int) throws -> ChannelModel {
        _ = try Store.pack(gguf: gguf, name: name, version: version, outDir: channel)
        return try sign().first { $0.name == name && $0.version == version }!
    }

    /// Signs targets over every descriptor in the channel.
    @discardableResult
    func sign(_ extra: [ChannelModel] = []) throws -> [ChannelModel] {
        let models = try ChannelPublisher.descriptors(in: channel).map {
            ChannelModel(descriptor: $0, memoryBytes: 1 << 20, minRuntime: "0.1.0", health: nil)
        } + extra
        try ChannelPublisher.publish(channel: channel, models: models, keys: [targetsKey], expires: Date() + 86400)
        return models
    }

    func pull(_ store: Store) throws -> Pull {
        let log = progress
        return Pull(store: store, channel: nginx.baseURL, trustedRoot: try trustedRoot, deviceID: "test-device",
                    memoryBudget: 1 << 30, downloader: Downloader(options: .init(stallTimeout: 10, progress: { log.add($0) })))
    }

    /// What a store holds outside staging, file by file with sizes, to show a failed pull left it alone.
    func snapshot(_ store: Store) throws -> [String: UInt64] {
        var files: [String: UInt64] = [:]
        let root = store.root.path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return files }
        while let relative = walker.nextObject() as? String {
            if relative == "staging" || relative.hasPrefix("staging/") || relative == "lock" { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + relative)
            guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            files[relative] = (attributes[.size] as? NSNumber)?.uint64Value
        }
        return files
    }

    /// A zstd frame that does not declare its content size: a valid GGUF followed by `zeros`
    /// zero bytes, so it decompresses to far more than the GGUF it is signed as.
    func bomb(wrapping gguf: String, zeros: Int, into file: String) throws -> PackDescriptor {
        let bytes = try read(gguf) + [UInt8](repeating: 0, count: zeros)
        let archive = channel.appendingPathComponent(file)
        _ = try compressFromPipe(bytes, archive.path)
        let size = UInt64(try read(archive.path).count)
        let summary = try GGUFSummary(path: gguf)
        return PackDescriptor(name: "m", version: 2, archive: file, archiveSHA256: try sha256sum(archive.path), archiveSize: size,
                              ggufSHA256: try sha256sum(gguf), ggufSize: UInt64(try read(gguf).count), windowLog: 27,
                              level: 3, architecture: summary.architecture, quantization: summary.quantization)
    }
}
