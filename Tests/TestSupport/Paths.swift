import Foundation

/// Locations tests share: the repository, the reference outputs beside it, and the model cache.
public enum TestPaths {
    /// The repository root, found from this file's location.
    public static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// `../shared/reference` beside the checkout (llama.cpp's outputs on the real models), or
    /// `$EDGELM_REFERENCE_DIR`: the same files produced by llama.cpp on the machine at hand, to
    /// tell numeric differences of the engine from those of the machine.
    public static var reference: URL {
        if let dir = ProcessInfo.processInfo.environment["EDGELM_REFERENCE_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")
    }

    public static var modelCache: URL {
        if let dir = ProcessInfo.processInfo.environment["EDGELM_MODELS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/edgelm/models")
    }

    /// The cached real model file for a catalog name, or nil (with the reason) if it is absent.
    public static func realModel(_ fileName: String) -> (path: String?, reason: String) {
        let path = modelCache.appendingPathComponent(fileName).path
        if FileManager.default.fileExists(atPath: path) { return (path, "") }
        return (nil, "\(path) is absent: run `make models` to fetch it")
    }
}
