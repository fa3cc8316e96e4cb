import Foundation

/// Runs a built executable of this package, as a user would.
public enum Binary {
    /// The build folder the tests were built into (where the executables are too).
    public static var buildDirectory: URL {
        Bundle.main.bundleURL.deletingLastPathComponent()
    }

    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public static func path(_ name: String) -> String {
        // The xctest bundle sits beside the products; fall back to the conventional path.
        let candidates = [buildDirectory.appendingPathComponent(name), TestPaths.repoRoot.appendingPathComponent(".build/release/\(name)")]
        return (candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]).path
    }

    public static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path(name))
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
