import Foundation
import XCTest
import TestSupport

/// `edgelm bench`: llama-bench's flags and JSON shape, the kernel variant it reports, and the
/// refusal of a variant the CPU lacks.
final class BenchCommandTests: XCTestCase {
    struct Entry: Decodable {
        let model_type: String
        let model_size: Int
        let model_n_params: Int
        let weight_bytes_per_token: Int
        let kernels: String
        let n_threads: Int
        let n_prompt: Int
        let n_gen: Int
        let n_parallel: Int
        let avg_ts: Double
        let stddev_ts: Double
        let samples_ts: [Double]
    }

    func smolLM2() throws -> String {
        let (path, reason) = TestPaths.realModel("SmolLM2-135M-Instruct.Q4_1.gguf")
        guard let path else { throw XCTSkip(reason) }
        return path
    }

    func testJSONHasOneObjectPerTestAndThreadCount() throws {
        let path = try smolLM2()
        let r = try Binary.run("edgelm", ["bench", "-m", path, "-p", "16,32", "-n", "4", "-t", "1,2", "-r", "2", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let entries = try JSONDecoder().decode([Entry].self, from: Data(r.stdout.utf8))
        XCTAssertEqual(entries.map { "\($0.n_threads):\($0.n_prompt)/\($0.n_gen)" }, ["1:16/0", "1:32/0", "1:0/4", "2:16/0", "2:32/0", "2:0/4"])
        for e in entries {
            XCTAssertEqual(e.samples_ts.count, 2)
            XCTAssertGreaterThan(e.avg_ts, 0)
            XCTAssertGreaterThanOrEqual(e.stddev_ts, 0)
            XCTAssertEqual(e.model_type, "llama 135M Q4_1")
            XCTAssertEqual(e.model_n_params, 134_515_008)
            // The embedding doubles as the output head (read whole) and gives one row (576 Q8_0
            // values = 18 blocks of 34 bytes) as the input.
            XCTAssertEqual(e.weight_bytes_per_token, e.model_size + 18 * 34)
            XCTAssertFalse(e.kernels.isEmpty)
        }
        XCTAssertTrue(r.stderr.contains("kernels: \(entries[0].kernels)"), r.stderr)
    }

    func testTableNamesVariantAndTests() throws {
        let path = try smolLM2()
        let r = try Binary.run("edgelm", ["bench", "-m", path, "-p", "8", "-n", "2", "-t", "1", "-r", "1"],
                               environment: ["EDGELM_KERNELS": "scalar"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").filter { $0.contains("llama 135M Q4_1") }
        XCTAssertEqual(rows.count, 2, r.stdout)
        XCTAssertTrue(rows.allSatisfy { $0.contains(" scalar ") }, r.stdout)
        XCTAssertTrue(rows[0].contains("pp8") && rows[1].contains("tg2"), r.stdout)
    }

    func testVariantTheCPULacksIsRefused() throws {
        let path = try smolLM2()
        #if arch(x86_64)
        let missing = "neon"
        #else
        let missing = "avx2"
        #endif
        let r = try Binary.run("edgelm", ["bench", "-m", path, "-p", "8", "-n", "0", "-r", "1"], environment: ["EDGELM_KERNELS": missing])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("this CPU cannot run the \(missing) kernels"), r.stderr)
        let bogus = try Binary.run("edgelm", ["bench", "-m", path, "-p", "8", "-r", "1"], environment: ["EDGELM_KERNELS": "sse9"])
        XCTAssertNotEqual(bogus.status, 0)
        XCTAssertTrue(bogus.stderr.contains("EDGELM_KERNELS=sse9 is not a kernel variant"), bogus.stderr)
    }

    /// Parallel sequences: one tg test per width, tokens counted over every sequence.
    func testParallelSequencesAreOneTestPerWidth() throws {
        let path = try smolLM2()
        let r = try Binary.run("edgelm", ["bench", "-m", path, "-p", "0", "-n", "3", "--parallel", "1,4", "-t", "1", "-r", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let entries = try JSONDecoder().decode([Entry].self, from: Data(r.stdout.utf8))
        XCTAssertEqual(entries.map { "\($0.n_gen)x\($0.n_parallel)" }, ["3x1", "3x4"])
        XCTAssertTrue(entries.allSatisfy { $0.avg_ts > 0 })
        let table = try Binary.run("edgelm", ["bench", "-m", path, "-p", "0", "-n", "2", "--parallel", "2", "-t", "1", "-r", "1"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("tg2x2"), table.stdout)
    }

    func testBadListsAreRefused() throws {
        for args in [["-p", "12,x"], ["-n", "-3"], ["-t", "0"], ["-r", "0"], ["-o", "csv"], ["--parallel", "0"]] {
            let r = try Binary.run("edgelm", ["bench", "-m", "/nonexistent.gguf"] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains(args[0]), "\(args): \(r.stderr)")
        }
    }

    func testBandwidthIsMeasured() throws {
        let r = try Binary.run("edgelm", ["bench", "--bandwidth", "-t", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        struct Bandwidth: Decodable { let n_threads: Int; let read_bytes_per_s: Double }
        let b = try JSONDecoder().decode([Bandwidth].self, from: Data(r.stdout.utf8))
        XCTAssertEqual(b.count, 1)
        XCTAssertEqual(b[0].n_threads, 1)
        XCTAssertGreaterThan(b[0].read_bytes_per_s, 1e8)   // any real memory reads faster than 100 MB/s
    }
}
