import Foundation
import XCTest
@testable import ModelStore

/// The writers' lock across descriptors and processes, and the `edgelm` store commands as a user
/// runs them.
final class StoreCommandTests: TemporaryDirectoryTestCase {
    var root: URL { dir.appendingPathComponent("store") }

    func testSecondLockOnAnotherDescriptorIsRefused() throws {
        let s = try Store(root: root)
        let src = try gguf("m.gguf")
        do {
            let held = try StoreLock(root: root)
            try withExtendedLifetime(held) {
                assertThrows(StoreError.locked(root: root.path, holder: getpid())) { try StoreLock(root: root) }
                assertThrows(StoreError.locked(root: root.path, holder: getpid())) { try s.importFile(src) }
                XCTAssertEqual(try s.list(), [], "readers need no lock")
            }
        }
        XCTAssertEqual(try s.importFile(src).version, 1)
    }

    func testLockHeldByAnotherProcessRefusesWriters() throws {
        let s = try Store(root: root)
        let src = try gguf("m.gguf")
        // A shell takes the lock with flock(1) on its own descriptor, then becomes `sleep`.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9>>\"$0\" && flock 9 && echo held && exec sleep 60", root.appendingPathComponent("lock").path]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        XCTAssertEqual(String(decoding: out.fileHandleForReading.availableData, as: UTF8.self), "held\n")

        let error = thrownError { try s.importFile(src) }
        XCTAssertEqual(error as? StoreError, .locked(root: root.path, holder: nil))
        XCTAssertTrue("\(error!)".contains("another edgelm process is changing the store at \(root.path)"), "\(error!)")
        XCTAssertThrowsError(try s.gc())
        holder.terminate()
        holder.waitUntilExit()
        XCTAssertEqual(try s.importFile(src).version, 1)
    }

    func testSecondEdgelmProcessIsToldWhoHoldsTheLock() throws {
        _ = try Store(root: root)
        let src = try gguf("m.gguf")
        do {
            let held = try StoreLock(root: root)
            let refused = try withExtendedLifetime(held) { try edgelm(["import", src, "--store", root.path]) }
            XCTAssertEqual(refused.status, 1)
            XCTAssertEqual(refused.stderr, "error: another edgelm process (pid \(getpid())) is changing the store at \(root.path); try again when it has finished\n")
        }
        let accepted = try edgelm(["import", src, "--store", root.path])
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
    }

    func testCommandsDriveTheStore() throws {
        let store = ["--store", root.path]
        let empty = try edgelm(["list", "--json"] + store)
        XCTAssertEqual(empty.status, 0, empty.stderr)
        XCTAssertEqual(empty.stdout, "[]\n")

        var r = try edgelm(["import", try gguf("first.gguf", seed: 1), "--name", "m"] + store)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("m:1 (active) llama F32"), r.stdout)
        // The environment names the store when --store does not.
        r = try edgelm(["import", try gguf("second.gguf", seed: 2), "--name", "m"], environment: ["EDGELM_STORE": root.path])
        XCTAssertEqual(r.status, 0, r.stderr)

        r = try edgelm(["list", "--json"] + store)
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(Set(rows[0].keys), ["name", "version", "active", "sha256", "size"])
        XCTAssertEqual(rows.map { $0["version"] as? Int }, [1, 2])
        XCTAssertEqual(rows.map { $0["active"] as? Bool }, [false, true])
        XCTAssertEqual(rows[0]["sha256"] as? String, try sha256sum(path("first.gguf")))
        XCTAssertEqual((rows[0]["size"] as? NSNumber)?.intValue, try read(path("first.gguf")).count)
        r = try edgelm(["list"] + store)
        XCTAssertTrue(r.stdout.hasPrefix("NAME  VERSION  ACTIVE"), r.stdout)

        r = try edgelm(["rm", "m:2"] + store)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: m:2 is the active version; activate or roll back to another version before removing it\n")
        r = try edgelm(["rollback", "m", "--no-daemon"] + store)
        XCTAssertEqual(r.stdout, "m:1 (active)\n")
        XCTAssertEqual(try edgelm(["rm", "m:2"] + store).status, 0)
        r = try edgelm(["rollback", "m", "--no-daemon"] + store)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: m has no version older than the active m:1 to roll back to\n")
        r = try edgelm(["rm", "../etc:1"] + store)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: invalid model name \"../etc\""), r.stderr)
        r = try edgelm(["gc"] + store)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("freed\n"), r.stdout)
        // The next version follows the newest stored one: 2 was removed, so 2 again.
        r = try edgelm(["import", try gguf("third.gguf", seed: 3), "--name", "m"] + store)
        XCTAssertTrue(r.stdout.hasPrefix("m:2 (active)"), r.stdout)
        r = try edgelm(["gc", "--keep", "0"] + store)
        XCTAssertTrue(r.stdout.hasPrefix("removed m:1\n"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("manifests/m/1.json").path))

        r = try edgelm(["pack", path("first.gguf"), "--name", "m", "--version", "5", "--out", path("pub")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(path("pub/m-5.gguf.zst"))\n\(path("pub/m-5.json"))\n")
        r = try edgelm(["import", path("pub/m-5.gguf.zst"), "--name", "other"] + store)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try edgelm(["import", path("missing.gguf")] + store)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: open \(path("missing.gguf")): No such file or directory"), r.stderr)
        r = try edgelm(["list", "--store", path("elsewhere"), "--json"])
        XCTAssertEqual(r.stdout, "[]\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("elsewhere")), "listing creates nothing")
    }
}
