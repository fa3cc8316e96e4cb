import ArgumentParser
import Foundation
import GGUF
import Kernels
import ModelStore
import Tokenizer
import Transformer

/// `--model`, `--ctx`, `--threads`: shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A catalog name (fetched on first use) or a path to a GGUF file.")
    var model: String = "qwen2.5-coder-0.5b-instruct"

    @Option(help: "Context length in tokens (default 4096, never above the model's).")
    var ctx: Int?

    @Option(name: .shortAndLong, help: "Compute threads (default: the CPUs this process may use).")
    var threads: Int?

    func validate() throws {
        if let ctx, ctx < 1 { throw ValidationError("--ctx must be at least 1") }
        if let threads, threads < 1 || threads > 1024 { throw ValidationError("--threads must be in 1...1024") }
    }

    /// The GGUF path `--model` names, fetching a catalog model if it is not cached yet.
    func resolvePath() throws -> (path: String, entry: CatalogEntry?) {
        if FileManager.default.fileExists(atPath: model) { return (model, nil) }
        return try Catalog.locate().resolve(model)
    }

    struct Loaded {
        let file: GGUFFile
        let model: Model
        let tokenizer: Tokenizer
        let context: Int
        let entry: CatalogEntry?
    }

    func load(defaultContext: Int = 4096, batchSize: Int = 64) throws -> Loaded {
        try KernelSet.applyEnvironment(ProcessInfo.processInfo.environment)
        let (path, entry) = try resolvePath()
        let file = try GGUFFile(path: path)
        let trained = try ModelConfig(gguf: file).trainedContext
        let context = min(ctx ?? defaultContext, trained)
        if let ctx, ctx > trained {
            throw ValidationError("--ctx \(ctx) exceeds the model's context of \(trained) tokens")
        }
        let model = try Model(file: file, threads: threads ?? CPUInfo.usableCores, context: context, batchSize: batchSize)
        return Loaded(file: file, model: model, tokenizer: try Tokenizer(gguf: file), context: context, entry: entry)
    }
}

/// Errors print as `error: <message>` and exit 1, without a stack trace.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}

func standardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// Flushes standard output so streamed text appears as it is generated.
func flushOutput() { fflush(nil) }
