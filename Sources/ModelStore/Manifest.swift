import Foundation

/// `manifests/<name>/<version>.json`: one stored version of a model and the hashes that tie it to
/// its archive (`blobs/sha256/<archive_sha256>`) and to its decompressed GGUF.
public struct Manifest: Codable, Equatable, Sendable {
    public let name: String
    public let version: Int
    public let archiveSHA256: String
    public let archiveSize: UInt64
    public let ggufSHA256: String
    public let ggufSize: UInt64
    public let architecture: String
    public let quantization: String
    /// When the version was imported (ISO 8601, UTC).
    public let added: String
    /// The golden prompt and answer from the signed metadata; the daemon's health check runs it.
    public var health: ChannelModel.HealthCheck? = nil

    enum CodingKeys: String, CodingKey {
        case name, version, architecture, quantization, added, health
        case archiveSHA256 = "archive_sha256", archiveSize = "archive_size"
        case ggufSHA256 = "gguf_sha256", ggufSize = "gguf_size"
    }

    /// Manifests are tiny; a large file at that path is not one.
    static let maxBytes = 64 * 1024

    static func isSHA256(_ s: String) -> Bool { s.utf8.count == 64 && s.utf8.allSatisfy { isLowerHex($0) } }

    private static func isLowerHex(_ b: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(b)
    }

    /// Reads and checks a manifest: it must describe the name and version its path says, and its
    /// hashes must be usable as blob names.
    static func read(_ url: URL, name: String, version: Int) throws -> Manifest {
        let file = try OpenFile.reading(url.path)
        let size = try file.size()
        guard size <= UInt64(maxBytes) else { throw StoreError.damaged(path: url.path, reason: "\(size) bytes is too large for a manifest") }
        var data = Data(count: Int(size))
        let n = try data.withUnsafeMutableBytes { try file.readFully(into: $0) }
        let m: Manifest
        do {
            m = try JSONDecoder().decode(Manifest.self, from: data.prefix(n))
        } catch {
            throw StoreError.damaged(path: url.path, reason: "not a valid manifest (\(error))")
        }
        guard m.name == name, m.version == version else {
            throw StoreError.damaged(path: url.path, reason: "it describes \(m.name):\(m.version)")
        }
        guard isSHA256(m.archiveSHA256), isSHA256(m.ggufSHA256) else {
            throw StoreError.damaged(path: url.path, reason: "a sha256 is not 64 lowercase hex digits")
        }
        return m
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}

/// One row of `Store.list()`.
public struct StoreEntry: Codable, Equatable, Sendable {
    public let name: String
    public let version: Int
    public let active: Bool
    /// SHA-256 of the decompressed GGUF.
    public let sha256: String
    /// Size of the decompressed GGUF in bytes.
    public let size: UInt64
}
