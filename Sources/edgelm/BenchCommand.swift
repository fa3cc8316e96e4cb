import ArgumentParser
import Foundation
import GGUF
import Generation
import Kernels
import ModelStore
import Transformer

/// `edgelm bench`: prompt-processing and generation speed, measured the way llama-bench measures
/// them (same flag letters, same test meaning, same JSON fields) so the two can be compared by one
/// script. ppN evaluates N random tokens in one batch on a fresh context; tgN generates N tokens one
/// at a time on a fresh context. Each test runs once to warm up, then `-r` times.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt processing (ppN) and text generation (tgN) speed.",
        discussion: "Prints a table of tokens/s (mean ± sd over the repetitions), or with --json an array with one object per test (n_prompt, n_gen, n_threads, avg_ts, stddev_ts, samples_ts, kernels, …).")

    @Option(name: .shortAndLong, help: "A catalog name (fetched on first use) or a path to a GGUF file.")
    var model: String = "qwen2.5-coder-0.5b-instruct"
    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt lengths, comma-separated (0 to skip).")
    var prompt: String = "512"
    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generation lengths, comma-separated (0 to skip).")
    var gen: String = "128"
    @Option(name: .shortAndLong, help: "Thread counts, comma-separated (default: the CPUs this process may use).")
    var threads: String?
    @Option(name: .shortAndLong, help: "Repetitions of each test.")
    var repetitions: Int = 5
    @Option(name: [.customShort("b"), .customLong("batch-size")], help: "Prompt tokens per pass over the weights.")
    var batchSize: Int = 256
    @Option(name: [.customLong("parallel"), .customLong("np")], help: "Sequences generating together in tgN tests, comma-separated: each decode step advances all of them in one pass over the weights.")
    var parallel: String = "1"
    @Flag(help: "Print JSON instead of a table.")
    var json = false
    @Flag(help: "Measure main-memory read bandwidth at each thread count instead (512 MiB, best of 8 passes).")
    var bandwidth = false
    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: md (table) or json.")
    var output: String?

    func validate() throws {
        _ = try list(prompt, "-p", minimum: 0)
        _ = try list(gen, "-n", minimum: 0)
        if let threads { _ = try list(threads, "-t", minimum: 1, maximum: 1024) }
        _ = try list(parallel, "--parallel", minimum: 1, maximum: 256)
        if repetitions < 1 || repetitions > 1000 { throw ValidationError("-r must be in 1...1000") }
        if batchSize < 1 || batchSize > 8192 { throw ValidationError("-b must be in 1...8192") }
        if let output, output != "md" && output != "json" { throw ValidationError("-o must be md or json") }
    }

    private func measureBandwidth(json: Bool) throws {
        let counts = try threads.map { try list($0, "-t", minimum: 1, maximum: 1024) } ?? [CPUInfo.usableCores]
        var objects: [[String: Any]] = []
        for t in counts {
            let rate = MemoryBandwidth.measure(threads: t)
            if json { objects.append(["test": "bandwidth", "n_threads": t, "read_bytes_per_s": rate]) }
            else { print(String(format: "memory read bandwidth, %d thread%@: %.1f GB/s", t, t == 1 ? "" : "s", rate / 1e9)) }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    private func list(_ text: String, _ flag: String, minimum: Int, maximum: Int = 1 << 20) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) expects comma-separated integers, got \"\(text)\"") }
        let ints = values.map { $0! }
        guard ints.allSatisfy({ (minimum...maximum).contains($0) }) else { throw ValidationError("\(flag) values must be in \(minimum)...\(maximum)") }
        return ints
    }

    func run() throws {
        do {
            try KernelSet.applyEnvironment(ProcessInfo.processInfo.environment)
            let asJSON = json || output == "json"
            if bandwidth { return try measureBandwidth(json: asJSON) }
            let path = FileManager.default.fileExists(atPath: model) ? model : try Catalog.locate().resolve(model).path
            let file = try GGUFFile(path: path)
            let config = try ModelConfig(gguf: file)
            let description = ModelDescription(file: file)
            let prompts = try list(prompt, "-p", minimum: 0).filter { $0 > 0 }
            let gens = try list(gen, "-n", minimum: 0).filter { $0 > 0 }
            let threadCounts = try threads.map { try list($0, "-t", minimum: 1, maximum: 1024) } ?? [CPUInfo.usableCores]
            let widths = try list(parallel, "--parallel", minimum: 1, maximum: 256)
            let tests = prompts.map { BenchTest(prompt: $0, gen: 0) }
                + gens.flatMap { g in widths.map { BenchTest(prompt: 0, gen: g, parallel: $0) } }
            guard !tests.isEmpty else { throw ValidationError("nothing to measure: give -p or -n values above 0") }
            let longest = tests.map { $0.prompt + $0.gen }.max()!
            guard longest <= config.trainedContext else {
                throw ValidationError("a test needs \(longest) positions but the model's context is \(config.trainedContext)")
            }
            let kernels = String(cString: ek_variant_label(ek_selected_variant()))
            standardError("kernels: \(kernels)\n")
            if !asJSON { BenchTable.printHeader() }

            var results: [BenchResult] = []
            for t in threadCounts {
                let model = try Model(file: file, threads: t, context: longest, batchSize: max(min(batchSize, prompts.max() ?? 1), widths.max() ?? 1))
                for test in tests {
                    let caches = try (0..<test.parallel).map { _ in try model.makeCache(context: test.prompt + test.gen) }
                    var random = SeededGenerator(seed: 1234)
                    let vocabulary = UInt64(config.vocabularySize)
                    let tokens = { (n: Int) in (0..<n).map { _ in Int32(truncatingIfNeeded: random.next() % vocabulary) } }
                    var samples: [Double] = []
                    for rep in 0...repetitions {   // rep 0 warms caches and page tables up
                        for cache in caches { cache.clear() }
                        let ids = tokens(max(test.prompt, test.gen * test.parallel))
                        let start = DispatchTime.now().uptimeNanoseconds
                        if test.prompt > 0 {
                            try model.forward(Array(ids.prefix(test.prompt)), cache: caches[0]) { _, _ in }
                        } else if test.parallel == 1 {
                            for i in 0..<test.gen { try model.forward([ids[i]], cache: caches[0]) { _, _ in } }
                        } else {
                            for i in 0..<test.gen {
                                let steps = caches.enumerated().map { (token: ids[i * test.parallel + $0.offset], cache: $0.element) }
                                try model.decode(steps) { _, _ in }
                            }
                        }
                        let elapsed = DispatchTime.now().uptimeNanoseconds - start
                        if rep > 0 { samples.append(Double(elapsed)) }
                    }
                    let result = BenchResult(model: description, test: test, threads: t, kernels: kernels, samplesNs: samples)
                    results.append(result)
                    if !asJSON { BenchTable.printRow(result) }
                }
            }
            if asJSON { print(BenchResult.json(results)) }
            if let peak = ProcessMemory.peakResident {
                standardError(String(format: "peak RSS %.1f MiB\n", Double(peak) / 1_048_576))
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            standardError("error: \(error)\n")
            throw ExitCode.failure
        }
    }
}

struct BenchTest {
    let prompt: Int
    let gen: Int
    /// Sequences decoding together (tg tests); tokens/s counts the tokens of all of them.
    var parallel: Int = 1
    var name: String { prompt > 0 ? "pp\(prompt)" : parallel > 1 ? "tg\(gen)x\(parallel)" : "tg\(gen)" }
    var tokens: Int { prompt > 0 ? prompt : gen * parallel }
}

/// What llama-bench reports about a model: "qwen2 494M Q5_0", size and parameter count.
struct ModelDescription {
    let filename: String
    let type: String
    let bytes: Int
    let parameters: Int
    /// Weight bytes a decode step reads: every matrix once, one row of the token embedding, and the
    /// whole embedding again when it doubles as the output head.
    let bytesPerToken: Int

    init(file: GGUFFile) {
        filename = file.path
        bytes = file.tensorInfos.reduce(0) { $0 + Int($1.byteCount) }
        parameters = file.tensorInfos.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var perToken = bytes
        if let embedding = file.tensorInfos.first(where: { $0.name == "token_embd.weight" }) {
            let rows = max(1, embedding.shape.dropFirst().reduce(1, *))
            perToken -= Int(embedding.byteCount) - Int(embedding.byteCount) / rows
            if !file.tensorInfos.contains(where: { $0.name == "output.weight" }) { perToken += Int(embedding.byteCount) }
        }
        bytesPerToken = perToken
        let arch = file.architecture ?? "unknown"
        let fileType = (try? file.metadata.uint32("general.file_type")).flatMap { $0 }.map(Self.fileTypeName) ?? "?"
        type = "\(arch) \(Self.count(parameters)) \(fileType)"
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000_000 ? String(format: "%.1fB", Double(n) / 1e9) : String(format: "%dM", Int((Double(n) / 1e6).rounded()))
    }

    /// Names of general.file_type values (the mostly-used quantization of the file).
    static func fileTypeName(_ t: UInt32) -> String {
        let names: [UInt32: String] = [
            0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
            11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
            18: "Q6_K", 32: "BF16",
        ]
        return names[t] ?? "type \(t)"
    }
}

struct BenchResult {
    let model: ModelDescription
    let test: BenchTest
    let threads: Int
    let kernels: String
    let samplesNs: [Double]

    /// Tokens per second of each repetition.
    var samplesTs: [Double] { samplesNs.map { Double(test.tokens) * 1e9 / $0 } }

    static func meanAndDeviation(_ xs: [Double]) -> (mean: Double, sd: Double) {
        let mean = xs.reduce(0, +) / Double(xs.count)
        guard xs.count > 1 else { return (mean, 0) }
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
        return (mean, variance.squareRoot())
    }

    var object: [String: Any] {
        let ts = Self.meanAndDeviation(samplesTs), ns = Self.meanAndDeviation(samplesNs)
        return [
            "model_filename": model.filename, "model_type": model.type, "model_size": model.bytes,
            "model_n_params": model.parameters, "weight_bytes_per_token": model.bytesPerToken, "kernels": kernels, "n_threads": threads,
            "n_prompt": test.prompt, "n_gen": test.gen, "n_batch": test.prompt, "n_parallel": test.parallel,
            "avg_ns": Int(ns.mean), "stddev_ns": Int(ns.sd), "avg_ts": ts.mean, "stddev_ts": ts.sd,
            "samples_ns": samplesNs.map { Int($0) }, "samples_ts": samplesTs,
        ]
    }

    static func json(_ results: [BenchResult]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: results.map(\.object), options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

enum BenchTable {
    static let columns: [(title: String, width: Int)] = [
        ("model", 22), ("size", 10), ("params", 9), ("kernels", 12), ("threads", 7), ("test", 8), ("t/s", 16),
    ]

    static func line(_ cells: [String]) -> String {
        "| " + zip(cells, columns).enumerated().map { i, pair in
            i >= 4 ? String(repeating: " ", count: max(0, pair.1.width - pair.0.count)) + pair.0
                   : pair.0.padding(toLength: max(pair.1.width, pair.0.count), withPad: " ", startingAt: 0)
        }.joined(separator: " | ") + " |"
    }

    static func printHeader() {
        print(line(columns.map(\.title)))
        print("| " + columns.enumerated().map { i, c in i >= 4 ? String(repeating: "-", count: c.width - 1) + ":" : String(repeating: "-", count: c.width) }.joined(separator: " | ") + " |")
    }

    static func printRow(_ r: BenchResult) {
        let ts = BenchResult.meanAndDeviation(r.samplesTs)
        print(line([
            r.model.type, String(format: "%.2f MiB", Double(r.model.bytes) / 1_048_576), ModelDescription.count(r.model.parameters),
            r.kernels, "\(r.threads)", r.test.name, String(format: "%.2f ± %.2f", ts.mean, ts.sd),
        ]))
        flushOutput()
    }
}
