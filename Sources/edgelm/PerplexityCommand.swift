import ArgumentParser
import Foundation
import Generation

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file.",
        discussion: "Non-overlapping chunks of --ctx tokens, each scored over its second half; the running value is printed after each chunk as [1]…[N], then the final figure.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .shortAndLong, help: "The text file.")
    var file: String
    @Option(help: "Stop after this many chunks.")
    var chunks: Int?

    func validate() throws {
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
    }

    func run() throws {
        do {
            let loaded = try modelOptions.load(defaultContext: 512, batchSize: 256)
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure(description: "cannot read \(file)") }
            let tokens = loaded.tokenizer.encode(String(decoding: data, as: UTF8.self), parseSpecial: false)
            let perplexity = try Perplexity(model: loaded.model, context: loaded.context)
            let available = perplexity.chunkCount(tokens: tokens.count)
            standardError("\(tokens.count) tokens, \(available) chunks of \(loaded.context)\n")
            let start = Date()
            let value = try perplexity.evaluate(tokens, chunks: chunks) { p in
                print("[\(p.chunk)]\(String(format: "%.4f", p.running))", terminator: p.chunk == p.chunks ? "\n" : ",")
                flushOutput()
            }
            print("Final estimate: PPL = \(String(format: "%.4f", value))")
            standardError(String(format: "%.1f s\n", Date().timeIntervalSince(start)))
        } catch let e as ValidationError {
            throw e
        } catch {
            standardError("error: \(error)\n")
            throw ExitCode.failure
        }
    }
}
