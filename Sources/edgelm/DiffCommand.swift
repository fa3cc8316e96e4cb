import ArgumentParser
import Foundation
import ModelStore

/// `edgelm diff`: a patch that rebuilds NEW from OLD, for devices that already have OLD.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Write a zstd patch from one model version to the next, and its descriptor, for publishing.",
        discussion: """
        NEW is compressed with OLD as zstd prefix (long-distance matching, one frame per chunk of at most 1 GiB, \
        each frame's window within 2 GiB). Writes [NAME-]<old>-to-<new>.patch and .delta.json into --out; \
        `edgelm publish` lists the patch under the version whose GGUF is NEW.
        """)

    @Argument(help: "The base model (.gguf or .gguf.zst).") var old: String
    @Argument(help: "The new model (.gguf or .gguf.zst).") var new: String
    @Option(help: ArgumentHelp("Where to write the patch and its descriptor (the channel directory).", valueName: "dir")) var out: String
    @Option(help: "A model name to start the file names with.") var name: String?
    @Option(help: "zstd level (1-22).") var level: Int32 = 3

    func validate() throws {
        guard (1...22).contains(level) else { throw ValidationError("--level must be in 1...22") }
    }

    func run() throws {
        try reportingErrors {
            let result = try Delta.make(old: old, new: new, outDir: URL(fileURLWithPath: out), name: name, options: .init(level: level))
            let d = result.descriptor
            print(result.patch.path)
            print(result.descriptorURL.path)
            standardError("\(megabytes(d.targetSize)) → patch of \(d.size) bytes against \(d.baseSHA256.prefix(12)), "
                + "\(d.frames) frame\(d.frames == 1 ? "" : "s"), window 2^\(d.windowLog)\n")
        }
    }
}
