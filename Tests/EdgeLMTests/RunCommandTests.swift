import Foundation
import Synchronization
import XCTest
import TestSupport

/// The `edgelm` binary end to end, as a user or a script comparing engines would run it.
final class RunCommandTests: XCTestCase {
    struct RunOutput: Decodable {
        struct Position: Decodable { let id: Int32; let logprob: Double; let top: [Candidate] }
        struct Candidate: Decodable { let id: Int32; let logprob: Double }
        struct Memory: Decodable { let kv_cache_bytes: Int; let rss_anon_bytes: Int? }
        let prompt_ids: [Int32]
        let generated_ids: [Int32]
        let text: String
        let finish_reason: String
        let positions: [Position]
        let memory: Memory
    }

    struct ReferenceFile: Decodable {
        struct Case: Decodable { let name: String; let prompt_text: String; let prompt_ids: [Int32]; let generated_ids: [Int32]; let generated_text: String }
        let cases: [Case]
    }

    func model(_ file: String) throws -> String {
        let (path, reason) = TestPaths.realModel(file)
        guard let path else { throw XCTSkip(reason) }
        return path
    }

    func edgelm(_ args: [String]) throws -> Binary.Result {
        let r = try Binary.run("edgelm", args)
        XCTAssertEqual(r.status, 0, "edgelm \(args.joined(separator: " ")) failed: \(r.stderr)")
        return r
    }

    /// The raw JSON mode reproduces llama.cpp's prompt ids and greedy continuation for a reference case.
    func testRawJSONMatchesReference() throws {
        let path = try model("SmolLM2-135M-Instruct.Q4_1.gguf")
        let url = TestPaths.reference.appendingPathComponent("generate-SmolLM2-135M-Instruct.Q4_1.json")
        let ref = try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: url))
        let c = try XCTUnwrap(ref.cases.first { $0.name == "fib_def" })
        let r = try edgelm(["run", "--model", path, "--prompt", c.prompt_text, "--raw", "--json", "--temperature", "0",
                            "--max-tokens", "\(c.generated_ids.count)"])
        let out = try JSONDecoder().decode(RunOutput.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(out.prompt_ids, c.prompt_ids)
        XCTAssertEqual(out.generated_ids, c.generated_ids)
        XCTAssertEqual(out.text, c.generated_text)
        XCTAssertEqual(out.positions.count, c.generated_ids.count)
        XCTAssertTrue(out.positions.allSatisfy { $0.top.count == 5 && $0.top[0].id == $0.id })
        XCTAssertEqual(out.finish_reason, "length")
    }

    /// Anonymous memory after 32 tokens with a 4096-token context stays within the KV cache + 64 MiB:
    /// the weights stay in the file mapping.
    func testMemoryStaysWithinKVCachePlus64MiB() throws {
        let path = try model("qwen2.5-coder-0.5b-instruct.gguf")
        let r = try edgelm(["run", "--model", path, "--prompt", "1, 2, 3, 4, 5,", "--raw", "--json", "--temperature", "0",
                            "--max-tokens", "32", "--ctx", "4096"])
        let out = try JSONDecoder().decode(RunOutput.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(out.generated_ids.count, 32)
        let anon = try XCTUnwrap(out.memory.rss_anon_bytes)
        let limit = out.memory.kv_cache_bytes + 64 << 20
        print("memory: RssAnon \(anon >> 20) MiB after \(out.generated_ids.count) tokens; KV cache \(out.memory.kv_cache_bytes >> 20) MiB; limit \(limit >> 20) MiB")
        XCTAssertEqual(out.memory.kv_cache_bytes, 24 * 4096 * 128 * 2 * 2, "f16 keys and values, 24 layers × 4096 positions × 128")
        XCTAssertLessThanOrEqual(anon, limit)
    }

    func testTokenizeJSON() throws {
        let path = try model("SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(try edgelm(["tokenize", "--model", path, "--text", "Hello, world!<|im_end|>", "--json"]).stdout,
                       "[19556,28,905,17,2]\n")
        XCTAssertNotEqual(try edgelm(["tokenize", "--model", path, "--text", "<|im_end|>", "--no-special", "--json"]).stdout, "[2]\n")
    }

    func testBadInputIsRefusedWithAMessage() throws {
        let missing = try Binary.run("edgelm", ["run", "--model", "/nonexistent/x.gguf", "--prompt", "hi"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("unknown model") || missing.stderr.contains("cannot open"), missing.stderr)
        let garbage = try GGUFBuilder.writeTemporary(Array(repeating: 0x41, count: 4096), name: "garbage")
        let notGGUF = try Binary.run("edgelm", ["run", "--model", garbage, "--prompt", "hi"])
        XCTAssertNotEqual(notGGUF.status, 0)
        XCTAssertTrue(notGGUF.stderr.contains("not a GGUF file: magic is 0x41414141"), notGGUF.stderr)
        let both = try Binary.run("edgelm", ["run", "--prompt", "hi", "--chat"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("exactly one of --prompt and --chat"), both.stderr)
        let temp = try Binary.run("edgelm", ["run", "--prompt", "hi", "--temperature", "-1"])
        XCTAssertNotEqual(temp.status, 0)
        XCTAssertTrue(temp.stderr.contains("temperature"), temp.stderr)
    }

    /// Chat mode keeps the conversation: the second turn is answered after the first.
    func testChatKeepsHistory() throws {
        let path = try model("SmolLM2-135M-Instruct.Q4_1.gguf")
        let r = try Binary.run("edgelm", ["run", "--model", path, "--chat", "--temperature", "0", "--max-tokens", "16"],
                               stdin: "Hello!\nWhat did I just say?\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "> ").count - 1, 3, "two turns, then the prompt that meets end of input: \(r.stderr)")
        XCTAssertGreaterThanOrEqual(r.stdout.split(separator: "\n", omittingEmptySubsequences: false).count, 2)
    }
}

/// Ctrl-C stops the generation cleanly: the text so far stays, the summary says why it ended, exit 0.
final class InterruptTests: XCTestCase {
    func testInterruptStopsGenerationCleanly() throws {
        let (path, reason) = TestPaths.realModel("SmolLM2-135M-Instruct.Q4_1.gguf")
        guard let path else { throw XCTSkip(reason) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binary.path("edgelm"))
        p.arguments = ["run", "--model", path, "--prompt", "1, 2, 3, 4, 5,", "--raw", "--temperature", "0",
                       "--max-tokens", "8000", "--ctx", "8192"]
        let output = Pipe(), errors = Pipe()
        p.standardOutput = output
        p.standardError = errors
        p.standardInput = FileHandle.nullDevice
        // Collect output on another thread: reads block, and the test must keep its own deadline.
        let streamed = Mutex(Data())
        let reader = Thread {
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                streamed.withLock { $0 += chunk }
            }
        }
        try p.run()
        reader.start()
        let deadline = Date().addingTimeInterval(120)
        while streamed.withLock({ $0.count }) < 100, p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(p.isRunning, "the generation was still running when interrupted")
        kill(p.processIdentifier, SIGINT)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("cancelled]"), stderr)
        XCTAssertGreaterThanOrEqual(streamed.withLock { $0.count }, 100)
    }
}
