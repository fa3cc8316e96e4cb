import Foundation
import XCTest
@testable import ModelStore
import TestSupport

/// `edgelm update` and `edgelm pull` with a configuration file, run as the update service runs
/// them: the built binary against a channel served by nginx.
final class UpdateCommandTests: ChannelTestCase {
    var storeRoot: URL { dir.appendingPathComponent("store") }

    func config(_ text: String, name: String = "edgelm.yaml") throws -> String {
        try write(Array(text.utf8), to: name)
    }

    func goodConfig(models: [String], channel: String? = nil) -> String {
        """
        # a device's configuration
        store: \(storeRoot.path)
        channel: \(channel ?? nginx.baseURL)
        trust: \(trustedRootURL.path)
        models:
        \(models.map { "  - \($0)" }.joined(separator: "\n"))
        device_id: board-0042
        memory_budget_mb: 1024
        stall_timeout: 5
        limit_rate: 100000000
        daemon_socket: /run/edgelm/edgelm.sock
        """
    }

    func testUpdatePullsEveryListedModel() throws {
        let a = try publish(try model("a.gguf", seed: 1), name: "a", version: 1)
        let b = try publish(try model("b.gguf", seed: 2), name: "b", version: 1)
        let file = try config(goodConfig(models: ["a", "b"]))
        var r = try edgelm(["update", "--config", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        // No daemon listens: like the update service, the command writes only the staging area,
        // and the versions wait there for edgelmd's next start.
        XCTAssertEqual(r.stdout.split(separator: "\n").map { String($0.prefix(15)) },
                       ["downloaded a:1 ", "a:1 is staged; ", "downloaded b:1 ", "b:1 is staged; "], r.stdout)
        let store = try Store(root: storeRoot, create: false)
        XCTAssertEqual(try snapshot(store).keys.sorted(), ["layout"], "nothing outside staging was written")
        XCTAssertEqual(try store.stagedVersions(of: "a"), [1])
        XCTAssertEqual(try sha256sum(store.stagedGGUFURL("a", 1).path), a.ggufSHA256)
        XCTAssertEqual(try sha256sum(store.stagedGGUFURL("b", 1).path), b.ggufSHA256)
        // stderr is a pipe, not a terminal: plain progress lines, no carriage returns.
        XCTAssertFalse(r.stderr.contains("\r"), r.stderr)
        XCTAssertTrue(r.stderr.split(separator: "\n").contains { $0.hasPrefix("a  ") && $0.contains("(100%)") }, r.stderr)

        // Run by hand without a daemon, activation moves a staged version into the store.
        r = try edgelm(["activate", "a:1", "--store", storeRoot.path, "--no-daemon"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try sha256sum(store.activePath("a").path), a.ggufSHA256)
        XCTAssertEqual(try store.stagedVersions(of: "a"), [])

        // a has nothing new; b:2 replaces the staged b:1; --quiet prints no progress.
        try publish(try model("b2.gguf", seed: 3), name: "b", version: 2)
        r = try edgelm(["update", "--config", file, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").first, "a:1 is already the newest")
        XCTAssertTrue(r.stdout.contains("downloaded b:2 "), r.stdout)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(try store.stagedVersions(of: "b"), [2])
        XCTAssertEqual(try store.versions(of: "b"), [])
    }

    func testUpdateTriesEveryModelAndFailsIfOneFailed() throws {
        try publish(try model("b.gguf", seed: 2), name: "b", version: 1)
        let file = try config(goodConfig(models: ["a", "b"]))
        let r = try edgelm(["update", "--config", file, "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("error: a: the channel offers no version of a\n"), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("error: 1 of 2 updates failed: a\n"), r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("downloaded b:1 "), "b was pulled after a failed: \(r.stdout)")
    }

    func testFlagsOverrideTheFile() throws {
        try publish(try model("a.gguf", seed: 1), name: "a", version: 1)
        // The file names a channel nobody serves; the flag's channel wins.
        let file = try config(goodConfig(models: ["a"], channel: "http://127.0.0.1:\(try freePort())"))
        let other = dir.appendingPathComponent("other-store").path
        let r = try edgelm(["pull", "a", "--config", file, "--channel", nginx.baseURL, "--store", other, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Store(root: URL(fileURLWithPath: other), create: false).activeVersion("a"), 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: storeRoot.path), "the file's store was overridden")
    }

    func testConfigurationErrorsNameTheKeyAndValue() throws {
        let cases: [(String, String)] = [
            ("chanel: http://x\n", "unknown key \"chanel\""),
            ("memory_budget_mb: -3\n", "memory_budget_mb: \"-3\" is not valid; expected a whole number of MiB above 0"),
            ("stall_timeout: soon\n", "stall_timeout: \"soon\" is not valid; expected a number of seconds above 0"),
            ("channel: ftp://host/c\n", "channel: \"ftp://host/c\" is not valid; expected an http:// or https:// URL"),
            ("store: relative/dir\n", "store: \"relative/dir\" is not valid; expected an absolute path"),
            ("models: [a, Bad]\n", "models[1]: \"Bad\" is not valid; expected a model name"),
            ("models: a\n", "models: \"a\" is not valid; expected a list of model names"),
            ("models: [a, a]\n", "models[1]: \"a\" is not valid; expected each model listed once"),
            ("limit_rate:\n", "limit_rate: \"nothing\" is not valid"),
            ("- a\n- b\n", "the top level must be a mapping"),
        ]
        for (i, (text, expected)) in cases.enumerated() {
            let file = try config(text, name: "bad-\(i).yaml")
            for command in [["update"], ["pull", "a"]] {
                let r = try edgelm(command + ["--config", file])
                XCTAssertEqual(r.status, 1, "\(text): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
                XCTAssertTrue(r.stderr.contains(expected), "\(text): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(file), "the message names the file: \(r.stderr)")
            }
        }
    }

    func testMissingExplicitFileIsAnErrorAndMissingSettingsAreNamed() throws {
        let missing = path("nowhere.yaml")
        var r = try edgelm(["update", "--config", missing])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: configuration \(missing) cannot be read: no such file\n")

        // An empty file is all defaults: nothing listed, nothing to do.
        let empty = try config("# nothing yet\n", name: "empty.yaml")
        r = try edgelm(["update", "--config", empty])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "nothing to update: \(empty) lists no models\n")

        let noChannel = try config("models: [a]\nstore: \(storeRoot.path)\n", name: "no-channel.yaml")
        r = try edgelm(["update", "--config", noChannel])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: no channel: give --channel or set channel in \(noChannel)\n")
        r = try edgelm(["pull", "a", "--config", noChannel, "--channel", nginx.baseURL])
        XCTAssertEqual(r.stderr, "error: no trust: give --trust or set trust in \(noChannel)\n")
    }

    func testShippedDefaultConfigurationIsValid() throws {
        let shipped = TestPaths.repoRoot.appendingPathComponent("Packaging/edgelm.yaml").path
        let r = try edgelm(["update", "--config", shipped])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "nothing to update: \(shipped) lists no models\n")
    }
}
