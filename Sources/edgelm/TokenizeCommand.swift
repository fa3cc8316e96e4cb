import ArgumentParser
import Foundation
import GGUF
import ModelStore
import Tokenizer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Print the token ids of a text.")

    @Option(name: .shortAndLong, help: "A catalog name or a path to a GGUF file.")
    var model: String = "qwen2.5-coder-0.5b-instruct"
    @Option(help: "The text to tokenize.")
    var text: String?
    @Option(help: "A file whose contents to tokenize.")
    var file: String?
    @Flag(name: .customLong("no-special"), help: "Treat special-token text as plain text.")
    var noSpecial = false
    @Flag(help: "Print a JSON array of ids.")
    var json = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        do {
            let path = FileManager.default.fileExists(atPath: model) ? model : try Catalog.locate().resolve(model).path
            let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
            let input: String
            if let text { input = text } else {
                guard let data = FileManager.default.contents(atPath: file!) else { throw CommandFailure(description: "cannot read \(file!)") }
                input = String(decoding: data, as: UTF8.self)
            }
            let ids = tokenizer.encode(input, parseSpecial: !noSpecial)
            if json {
                print("[" + ids.map(String.init).joined(separator: ",") + "]")
            } else {
                for id in ids {
                    let piece = String(decoding: tokenizer.tokenBytes(id, renderSpecial: true), as: UTF8.self)
                    print("\(id)\t\(piece.debugDescription)")
                }
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            standardError("error: \(error)\n")
            throw ExitCode.failure
        }
    }
}
