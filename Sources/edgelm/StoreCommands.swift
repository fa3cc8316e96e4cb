import ArgumentParser
import Foundation
import ModelStore

/// `--store DIR`, shared by the commands that work on the model store.
struct StoreLocation: ParsableArguments {
    @Option(help: ArgumentHelp("The model store (default: $EDGELM_STORE, else /var/lib/edgelm).", valueName: "dir"))
    var store: String?

    var root: URL {
        if let store { return URL(fileURLWithPath: store) }
        if let dir = ProcessInfo.processInfo.environment["EDGELM_STORE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return Store.defaultRoot
    }

    /// Only an import creates a store; the other commands have nothing to do in a missing one.
    func open(create: Bool = false, keep: Int = 1) throws -> Store {
        let catalog = (try? Catalog.locate().entries) ?? []
        return try Store(root: root, create: create, options: .init(keep: keep, catalog: catalog))
    }
}

/// Runs a command's body; a failure prints as `error: <message>` and exits 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ValidationError {
        throw e
    } catch {
        standardError("error: \(error)\n")
        throw ExitCode.failure
    }
}

func megabytes(_ bytes: UInt64) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack", abstract: "Compress a GGUF into NAME-VERSION.gguf.zst and a JSON descriptor, for publishing.")

    @Argument(help: "The GGUF file.") var file: String
    @Option(help: "The model's name.") var name: String
    @Option(help: "The version (a whole number from 1).") var version: String
    @Option(help: ArgumentHelp("Where to write the archive and the descriptor.", valueName: "dir")) var out: String
    @Option(help: "zstd level (1-22).") var level: Int32 = 3
    @Option(help: "zstd worker threads (0: compress on one thread).") var threads: Int32 = 0

    func validate() throws {
        guard (1...22).contains(level) else { throw ValidationError("--level must be in 1...22") }
        guard (0...256).contains(threads) else { throw ValidationError("--threads must be in 0...256") }
    }

    func run() throws {
        try reportingErrors {
            let result = try Store.pack(gguf: file, name: name, version: ModelID.parseVersion(version),
                                        outDir: URL(fileURLWithPath: out), compression: .init(level: level, threads: threads))
            let d = result.descriptor
            print(result.archive.path)
            print(result.descriptorURL.path)
            standardError("\(d.name):\(d.version): \(megabytes(d.ggufSize)) → \(megabytes(d.archiveSize)), window 2^\(d.windowLog)\n")
        }
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Add a .gguf or .gguf.zst to the model store and make it the active version.")

    @OptionGroup var location: StoreLocation
    @Argument(help: "A .gguf or .gguf.zst file.") var file: String
    @Option(help: "The model's name (default: its catalog name, else the file name).") var name: String?
    @Option(help: "The version (default: the newest stored one plus one).") var version: String?
    @Flag(name: .customLong("no-activate"), help: "Store the version without making it the active one.") var noActivate = false

    func run() throws {
        try reportingErrors {
            let store = try location.open(create: true)
            let m = try store.importFile(file, name: name, version: version.map(ModelID.parseVersion), activate: !noActivate)
            print("\(m.name):\(m.version)\(noActivate ? "" : " (active)") \(m.architecture) \(m.quantization) \(megabytes(m.ggufSize))")
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the models in the store.")

    @OptionGroup var location: StoreLocation
    @Flag(help: "Print a JSON array of {name, version, active, sha256, size}.") var json = false

    func run() throws {
        try reportingErrors {
            let entries: [StoreEntry]
            do {
                entries = try location.open().list()
            } catch StoreError.noStore {
                entries = []  // nothing imported yet on this machine
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(entries), as: UTF8.self))
                return
            }
            let width = max(4, entries.map(\.name.count).max() ?? 0)
            func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
            print("\(pad("NAME", width))  \(pad("VERSION", 7))  \(pad("ACTIVE", 6))  \(pad("SIZE", 10))  SHA256")
            for e in entries {
                print("\(pad(e.name, width))  \(pad(String(e.version), 7))  \(pad(e.active ? "*" : "", 6))  \(pad(megabytes(e.size), 10))  \(e.sha256.prefix(12))")
            }
        }
    }
}

struct ActivateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate", abstract: "Make a stored version the active one (through edgelmd's health check when it runs).")

    @OptionGroup var location: StoreLocation
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: ArgumentHelp("The version to activate.", valueName: "name:version")) var model: String

    func run() throws {
        try reportingErrors {
            let (name, version) = try ModelID.parse(model)
            print(try switchVersion(location.open(), name, version, daemon: daemon.client()))
        }
    }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a stored version (never the active one).")

    @OptionGroup var location: StoreLocation
    @Argument(help: ArgumentHelp("The version to remove.", valueName: "name:version")) var model: String

    func run() throws {
        try reportingErrors {
            let (name, version) = try ModelID.parse(model)
            try location.open().remove(name, version)
            print("removed \(name):\(version)")
        }
    }
}

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Make the newest version older than the active one active again.")

    @OptionGroup var location: StoreLocation
    @OptionGroup var daemon: DaemonOptions
    @Argument(help: "The model's name.") var name: String

    func run() throws {
        try reportingErrors {
            let store = try location.open()
            print(try switchVersion(store, name, store.rollbackTarget(name), daemon: daemon.client()))
        }
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Delete old versions, unreferenced archives, stale GGUFs and staging leftovers.")

    @OptionGroup var location: StoreLocation
    @Option(help: "Versions of each model to keep besides the active one.") var keep = 1

    func validate() throws {
        guard keep >= 0 else { throw ValidationError("--keep must be 0 or more") }
    }

    func run() throws {
        try reportingErrors {
            let report = try location.open(keep: keep).gc()
            for v in report.removedVersions { print("removed \(v)") }
            print("\(report.removedFiles) files deleted, \(megabytes(report.freedBytes)) freed")
        }
    }
}
