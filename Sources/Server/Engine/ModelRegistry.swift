import Foundation
import GGUF
import ModelStore

/// A model the daemon can serve: a name and the GGUF file behind it.
public struct ModelSource: Sendable, Equatable {
    public var name: String
    public var path: String
    /// The catalog's sha256 when the file is a catalog model.
    public var sha256: String?
    /// Found in the model directory (so `/api/delete` may remove it), not configured explicitly.
    public var inModelDirectory = false
    /// The store version behind `path`, for a model served from the store.
    public var storeVersion: Int?

    public init(name: String, path: String, sha256: String? = nil, storeVersion: Int? = nil) {
        self.name = name
        self.path = path
        self.sha256 = sha256
        self.storeVersion = storeVersion
    }
}

/// The models the daemon knows by name: files given on the command line or in the
/// configuration, then every `*.gguf` in the model directory. The first is the default.
public struct ModelRegistry: Sendable {
    public private(set) var sources: [ModelSource]
    public var defaultName: String?

    public init(sources: [ModelSource], defaultName: String? = nil) {
        var seen = Set<String>()
        self.sources = sources.filter { seen.insert($0.name).inserted }
        self.defaultName = defaultName ?? self.sources.first?.name
    }

    public var names: [String] { sources.map(\.name) }

    public func source(named name: String) -> ModelSource? { sources.first { $0.name == name } }

    /// Points `source.name` at a new file (a store activation), or adds it.
    public mutating func replace(_ source: ModelSource) {
        if let i = sources.firstIndex(where: { $0.name == source.name }) { sources[i] = source } else { sources.append(source) }
        if defaultName == nil { defaultName = source.name }
    }

    public mutating func remove(_ name: String) {
        sources.removeAll { $0.name == name }
        if defaultName == name { defaultName = sources.first?.name }
    }

    /// The model a request names, or the default when it names none.
    public func resolve(_ requested: String?) throws(EngineError) -> ModelSource {
        guard let name = requested.flatMap({ $0.isEmpty ? nil : $0 }) ?? defaultName else { throw .noModelInstalled }
        if let s = source(named: name) { return s }
        // Ollama clients append a tag (":latest"); a name without one matches too.
        if let colon = name.lastIndex(of: ":"), let s = source(named: String(name[..<colon])) { return s }
        if sources.isEmpty { throw .noModelInstalled }
        throw .unknownModel(name, available: names)
    }

    /// Builds the registry: explicit files first (named by the catalog when the file is one of its
    /// models, else by the file's stem), then the active version of every model in the store, then
    /// the directory's files in name order.
    public static func discover(files: [(path: String, name: String?)], store: Store? = nil, directory: String?,
                                catalog: Catalog?, defaultName: String?) -> ModelRegistry {
        var sources: [ModelSource] = files.map { source(path: $0.path, name: $0.name, catalog: catalog) }
        if let store { sources += storeSources(store) }
        if let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for file in names.sorted() where file.hasSuffix(".gguf") {
                var s = source(path: directory + "/" + file, name: nil, catalog: catalog)
                s.inModelDirectory = true
                sources.append(s)
            }
        }
        return ModelRegistry(sources: sources, defaultName: defaultName)
    }

    /// The store's active models. A name whose active version cannot be served (a damaged
    /// manifest, a missing GGUF) is left out rather than stopping the daemon.
    public static func storeSources(_ store: Store) -> [ModelSource] {
        guard let names = try? store.names() else { return [] }
        return names.compactMap { name in
            guard let version = try? store.activeVersion(name), let path = try? store.activePath(name),
                  let m = try? store.manifest(name, version) else { return nil }
            return ModelSource(name: name, path: path.path, sha256: m.ggufSHA256, storeVersion: version)
        }
    }

    static func source(path: String, name: String?, catalog: Catalog?) -> ModelSource {
        let file = URL(fileURLWithPath: path).lastPathComponent
        let entry = catalog?.entries.first { $0.file == file }
        let stem = file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
        return ModelSource(name: name ?? entry?.name ?? stem, path: path, sha256: entry?.sha256)
    }
}

/// What `/api/tags`, `/api/show` and `/v1/models` say about a model, read from its header.
public struct ModelDescription: Sendable {
    public var name: String
    public var architecture: String
    public var parameterCount: Int64
    public var quantization: String
    public var fileSize: Int
    public var modified: Date?
    public var sha256: String?
    public var chatTemplate: String?
    public var contextLength: Int?

    public init(source: ModelSource) throws {
        let file = try GGUFFile(path: source.path)
        name = source.name
        architecture = file.architecture ?? "unknown"
        parameterCount = file.tensorInfos.reduce(0) { $0 + Int64($1.shape.reduce(1, *)) }
        var bytesByType: [String: UInt64] = [:]
        for t in file.tensorInfos { bytesByType[t.type.description, default: 0] += t.byteCount }
        quantization = bytesByType.max { $0.value < $1.value }?.key ?? "unknown"
        let attributes = try? FileManager.default.attributesOfItem(atPath: source.path)
        fileSize = (attributes?[.size] as? Int) ?? file.file.bytes.count
        modified = attributes?[.modificationDate] as? Date
        sha256 = source.sha256
        chatTemplate = try? file.metadata.string("tokenizer.chat_template")
        contextLength = (try? file.metadata.uint32("\(architecture).context_length")).map { Int($0) }
    }

    /// "494M", "1.5B": the way model cards round parameter counts.
    public var parameterSize: String {
        let n = Double(parameterCount)
        return n >= 1e9 ? String(format: "%.1fB", n / 1e9) : String(format: "%.0fM", n / 1e6)
    }
}
