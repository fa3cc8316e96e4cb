import Foundation
import XCTest
@testable import ModelStore

/// The staging area: a pull writes nothing else, and the store's owner re-hashes a staged version
/// from its own descriptors before moving it in by rename.
final class StoreStagingTests: TemporaryDirectoryTestCase {
    var root: URL { dir.appendingPathComponent("store") }
    func stored(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: stored(relative)) }

    /// Every regular file under the store outside staging, with its size.
    func outsideStaging() throws -> [String: Int] {
        var files: [String: Int] = [:]
        let walker = FileManager.default.enumerator(atPath: root.path)
        while let relative = walker?.nextObject() as? String {
            if relative == "staging" || relative.hasPrefix("staging/") || relative == "lock" { continue }
            let a = try FileManager.default.attributesOfItem(atPath: stored(relative))
            if a[.type] as? FileAttributeType == .typeRegular { files[relative] = (a[.size] as? NSNumber)?.intValue }
        }
        return files
    }

    func testStagingWritesOnlyTheStagingAreaAndActivationMovesTheFilesIn() throws {
        let s = try Store(root: root)
        let before = try outsideStaging()
        let m = try s.stage(try gguf("a.gguf", seed: 1), name: "m", version: 3, health: .init(prompt: "p", expect: "e"))
        XCTAssertEqual(try outsideStaging(), before, "staging wrote outside the staging area")
        XCTAssertEqual(try s.stagedVersions(of: "m"), [3])
        XCTAssertEqual(try s.stagedNames(), ["m"])
        XCTAssertEqual(try s.stagedManifest("m", 3), m)
        XCTAssertEqual(try s.versions(of: "m"), [])
        for file in ["3.gguf", "3.gguf.zst"] { XCTAssertEqual(try mode(stored("staging/ready/m/\(file)")), 0o444) }
        XCTAssertEqual(try sha256sum(stored("staging/ready/m/3.gguf")), try sha256sum(path("a.gguf")))
        let stagedInode = try inode(stored("staging/ready/m/3.gguf"))

        try s.activate("m", 3)
        XCTAssertEqual(try s.activeVersion("m"), 3)
        XCTAssertEqual(try s.manifest("m", 3), m, "the staged manifest is the stored one")
        XCTAssertEqual(try inode(stored("models/m/3.gguf")), stagedInode, "moved by rename, not copied")
        XCTAssertTrue(exists("blobs/sha256/\(m.archiveSHA256)"))
        XCTAssertEqual(try s.stagedVersions(of: "m"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stored("staging/ready")), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stored("staging/tmp")), [])
    }

    func testAVerifierRefusalLeavesNothingStaged() throws {
        let s = try Store(root: root)
        struct Refused: Error {}
        XCTAssertThrowsError(try s.stage(try gguf("a.gguf"), name: "m", version: 1) { _ in throw Refused() }) {
            XCTAssertTrue($0 is Refused, "\($0)")
        }
        XCTAssertEqual(try s.stagedVersions(of: "m"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stored("staging/tmp")), [])
        XCTAssertFalse(exists("staging/ready/m/1.gguf"))
    }

    func testAStagedFileChangedAfterStagingIsRefusedAndDiscarded() throws {
        for file in ["1.gguf", "1.gguf.zst"] {
            try? FileManager.default.removeItem(at: root)
            let s = try Store(root: root)
            try s.stage(try gguf("a.gguf", seed: 1), name: "m", version: 1)
            let url = root.appendingPathComponent("staging/ready/m/\(file)")
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
            var bytes = try Data(contentsOf: url)
            bytes[bytes.count / 2] ^= 0x20
            try bytes.write(to: url)

            XCTAssertThrowsError(try s.activate("m", 1)) { error in
                guard case let .damaged(path, reason) = error as? StoreError else { return XCTFail("\(file): \(error)") }
                XCTAssertEqual(path, url.path)
                XCTAssertTrue(reason.contains("sha256"), reason)
            }
            XCTAssertEqual(try outsideStaging().keys.filter { !$0.hasPrefix("blobs/") }, ["layout"], file)
            XCTAssertNil(try s.activeVersion("m"))
            XCTAssertEqual(try s.versions(of: "m"), [])
            XCTAssertEqual(try s.stagedVersions(of: "m"), [], "the damaged staging is deleted")
        }
    }

    func testATrialMovesTheStagedVersionIn() throws {
        let s = try Store(root: root)
        try s.importFile(try gguf("a.gguf", seed: 1), name: "m")
        try s.stage(try gguf("b.gguf", seed: 2), name: "m", version: 2)
        let t = try s.beginTrial("m", 2)
        XCTAssertEqual(t, Trial(name: "m", candidate: 2, previous: 1))
        XCTAssertEqual(try sha256sum(s.activePath("m").path), try sha256sum(path("b.gguf")))
        XCTAssertEqual(try s.stagedVersions(of: "m"), [])
        // Undone, the version stays stored (as an archive) and leaves staging for good.
        try s.abortTrial("m")
        XCTAssertEqual(try s.activeVersion("m"), 1)
        XCTAssertEqual(try s.versions(of: "m"), [1, 2])
        XCTAssertFalse(exists("models/m/2.gguf"))
    }

    func testStagingANewerVersionDropsOlderStagedOnes() throws {
        let s = try Store(root: root)
        try s.stage(try gguf("a.gguf", seed: 1), name: "m", version: 1)
        try s.stage(try gguf("b.gguf", seed: 2), name: "m", version: 2)
        XCTAssertEqual(try s.stagedVersions(of: "m"), [2])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: stored("staging/ready/m"))),
                       ["2.gguf", "2.gguf.zst", "2.json"])
        // Staging the same version again replaces it whole.
        try s.stage(try gguf("c.gguf", seed: 3), name: "m", version: 2)
        XCTAssertEqual(try sha256sum(stored("staging/ready/m/2.gguf")), try sha256sum(path("c.gguf")))
    }

    func testAMoveInterruptedAfterARenameResumes() throws {
        let s = try Store(root: root)
        let m = try s.stage(try gguf("a.gguf", seed: 1), name: "m", version: 1)
        // As if the owner crashed after renaming the archive into blobs/: the next move checks the
        // blob where it stands and carries on.
        try FileManager.default.createDirectory(atPath: stored("blobs/sha256"), withIntermediateDirectories: true)
        XCTAssertEqual(rename(stored("staging/ready/m/1.gguf.zst"), stored("blobs/sha256/\(m.archiveSHA256)")), 0)
        try s.activate("m", 1)
        XCTAssertEqual(try sha256sum(s.activePath("m").path), try sha256sum(path("a.gguf")))
        XCTAssertEqual(try s.stagedVersions(of: "m"), [])
    }

    func testGCRemovesStagingLeftoversButKeepsWaitingVersionsAndTrust() throws {
        let s = try Store(root: root)
        try s.importFile(try gguf("a.gguf", seed: 1), name: "m")
        try s.stage(try gguf("b.gguf", seed: 2), name: "m", version: 2)
        // Leftovers: a staging of a version already stored, a half staging (no manifest), scratch.
        try s.stage(try gguf("c.gguf", seed: 3), name: "n", version: 1)
        try s.importFile(try gguf("c.gguf", seed: 3), name: "n", version: 1)
        try FileManager.default.createDirectory(atPath: stored("staging/ready/o"), withIntermediateDirectories: true)
        try Data([1, 2]).write(to: root.appendingPathComponent("staging/ready/o/4.gguf"))
        try Data([3]).write(to: root.appendingPathComponent("staging/tmp/.leftover"))
        try FileManager.default.createDirectory(atPath: stored("staging/trust"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: root.appendingPathComponent("staging/trust/root.json"))

        try s.gc()
        XCTAssertEqual(try s.stagedVersions(of: "m"), [2])
        XCTAssertEqual(try s.stagedNames(), ["m"])
        XCTAssertFalse(exists("staging/ready/n"))
        XCTAssertFalse(exists("staging/ready/o"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: stored("staging/tmp")), [])
        XCTAssertTrue(exists("staging/trust/root.json"))
    }
}
