#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore
import TestSupport

/// A fresh directory per test, removed afterwards, and small files to feed the store.
class TemporaryDirectoryTestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgelm-store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        // Stored files are read-only; the directories holding them are not, so removal works.
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The edgelm built beside this test bundle (not another build folder's older copy).
    var edgelmPath: String {
        let candidates = [Bundle.main.executableURL?.deletingLastPathComponent(), Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .compactMap { $0?.appendingPathComponent("edgelm").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Runs the CLI with `$EDGELM_STORE` unset (tests name their store), plus `environment`.
    func edgelm(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: edgelmPath)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["EDGELM_STORE"] = nil
        p.environment = env.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Outputs are a few lines: reading one pipe after the other cannot fill either.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// A small valid GGUF; each seed gives different weights (and so a different sha256).
    func gguf(_ name: String, seed: UInt64 = 7) throws -> String {
        try write(SyntheticModel(architecture: "llama", seed: seed).builder().build(), to: name)
    }

    /// Deterministic bytes that compress somewhat: random runs, some of them repeated far apart.
    func pseudoRandom(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            if state >> 60 == 0, out.count > 4096 {
                let start = Int(state >> 20) % (out.count - 4096)
                out.append(contentsOf: out[start..<start + 4096])
            } else {
                withUnsafeBytes(of: state) { out.append(contentsOf: $0) }
            }
        }
        return Array(out.prefix(count))
    }

    /// Compresses file `from` into file `to` through the public fd API.
    @discardableResult
    func compress(_ from: String, _ to: String, _ options: ZstdCompression = .init()) throws -> ZstdResult {
        let input = try OpenFile.reading(from)
        let output = try OpenFile(path: to, flags: O_WRONLY | O_CREAT | O_TRUNC)
        // The raw descriptors must outlive the call: keep their owners alive.
        return try withExtendedLifetime((input, output)) { try Zstd.compress(from: input.fd, to: output.fd, options: options) }
    }

    /// Compresses through a pipe, so the frame cannot declare its content size.
    func compressFromPipe(_ bytes: [UInt8], _ to: String, _ options: ZstdCompression = .init()) throws -> ZstdResult {
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let output = try OpenFile(path: to, flags: O_WRONLY | O_CREAT | O_TRUNC)
        return try withExtendedLifetime((pipe, output)) {
            try Zstd.compress(from: pipe.fileHandleForReading.fileDescriptor, to: output.fd, options: options)
        }
    }

    @discardableResult
    func decompress(_ from: String, _ to: String, maxWindowLog: Int = 27, maxOutputBytes: UInt64 = 1 << 30) throws -> ZstdResult {
        let input = try OpenFile.reading(from)
        let output = try OpenFile(path: to, flags: O_WRONLY | O_CREAT | O_TRUNC)
        return try withExtendedLifetime((input, output)) {
            try Zstd.decompress(from: input.fd, to: output.fd, maxWindowLog: maxWindowLog, maxOutputBytes: maxOutputBytes)
        }
    }

    /// SHA-256 by coreutils: an independent check of the hashes computed while streaming.
    func sha256sum(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    func inode(_ path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as! NSNumber).uint64Value
    }

    /// Asserts that `body` throws an error equal to `expected`.
    func assertThrows<E: Error & Equatable, T>(_ expected: E, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? E, expected, "\(error)", file: file, line: line)
        }
    }

    /// The error `body` throws, for tests that check part of it.
    func thrownError<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) -> Error? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }
}
