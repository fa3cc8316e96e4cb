import Foundation
import XCTest
@testable import ModelStore

/// Trials: the pointer flips before the health check, and every way a trial can end (commit,
/// rollback, a crash) leaves the store naming a version that passed.
final class StoreTrialTests: TemporaryDirectoryTestCase {
    var root: URL { dir.appendingPathComponent("store") }
    func stored(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: stored(relative)) }

    /// A store with m:1 active and m:2 and m:3 stored.
    func threeVersions(keep: Int = 5) throws -> Store {
        let s = try Store(root: root, options: .init(keep: keep))
        try s.importFile(try gguf("a.gguf", seed: 1), name: "m")
        try s.importFile(try gguf("b.gguf", seed: 2), name: "m", activate: false,
                         health: .init(prompt: "p", expect: "e"))
        try s.importFile(try gguf("c.gguf", seed: 3), name: "m", activate: false)
        return s
    }

    func testCommitKeepsTheCandidateAndDropsThePreviousGGUF() throws {
        let s = try threeVersions()
        XCTAssertEqual(try s.manifest("m", 2).health, .init(prompt: "p", expect: "e"))
        XCTAssertFalse(try s.wasTried("m", 2))
        let t = try s.beginTrial("m", 2)
        XCTAssertEqual(t, Trial(name: "m", candidate: 2, previous: 1))
        XCTAssertEqual(try s.activeVersion("m"), 2, "the pointer flips before the check")
        XCTAssertEqual(try s.trial("m"), t)
        XCTAssertTrue(exists("models/m/2.gguf"))
        XCTAssertThrowsError(try s.beginTrial("m", 3)) { XCTAssertEqual($0 as? StoreError, .trialPending(name: "m", candidate: 2)) }
        XCTAssertThrowsError(try s.activate("m", 3)) { XCTAssertEqual($0 as? StoreError, .trialPending(name: "m", candidate: 2)) }

        try s.commitTrial(t)
        XCTAssertNil(try s.trial("m"))
        XCTAssertEqual(try s.activeVersion("m"), 2)
        XCTAssertTrue(try s.wasTried("m", 2))
        XCTAssertFalse(exists("models/m/1.gguf"), "inactive versions are kept as archives only")
        XCTAssertTrue(exists("blobs/sha256/\(try s.manifest("m", 1).archiveSHA256)"))
        XCTAssertThrowsError(try s.commitTrial(t)) { XCTAssertEqual($0 as? StoreError, .noTrial(name: "m")) }
        XCTAssertThrowsError(try s.beginTrial("m", 2)) { XCTAssertEqual($0 as? StoreError, .alreadyActive(name: "m", version: 2)) }
    }

    func testAbortReturnsToThePreviousVersionAndIsRepeatable() throws {
        let s = try threeVersions()
        try s.commitTrial(try s.beginTrial("m", 2))
        _ = try s.beginTrial("m", 3)
        XCTAssertEqual(try s.abortTrial("m"), Trial(name: "m", candidate: 3, previous: 2))
        XCTAssertEqual(try s.activeVersion("m"), 2)
        XCTAssertTrue(exists("models/m/2.gguf"))
        XCTAssertFalse(exists("models/m/3.gguf"), "the refused candidate's GGUF goes")
        XCTAssertTrue(try s.wasTried("m", 3), "an automatic update does not retry it")
        XCTAssertNil(try s.abortTrial("m"), "nothing left to undo")

        // A rollback whose previous GGUF is gone (dropped at commit) decompresses it again.
        try s.commitTrial(try s.beginTrial("m", 1))
        XCTAssertFalse(exists("models/m/2.gguf"))
        _ = try s.beginTrial("m", 2)
        try s.abortTrial("m")
        XCTAssertEqual(try s.activeVersion("m"), 1)
        XCTAssertEqual(try sha256sum(try s.activePath("m").path), try s.manifest("m", 1).ggufSHA256)
    }

    func testATrialLeftByACrashIsUndoneAtTheNextStart() throws {
        let s = try threeVersions()
        _ = try s.beginTrial("m", 2)
        // A new process (the daemon restarting) finds the record.
        let reopened = try Store(root: root)
        XCTAssertEqual(try reopened.pendingTrials(), [Trial(name: "m", candidate: 2, previous: 1)])
        XCTAssertEqual(try reopened.recoverTrials().map(\.candidate), [2])
        XCTAssertEqual(try reopened.activeVersion("m"), 1)
        XCTAssertEqual(try reopened.pendingTrials(), [])
    }

    func testFirstVersionOnTrialRollsBackToNothing() throws {
        let s = try Store(root: root)
        try s.importFile(try gguf("a.gguf", seed: 1), name: "m", activate: false)
        _ = try s.beginTrial("m", 1)
        XCTAssertEqual(try s.activeVersion("m"), 1)
        try s.abortTrial("m")
        XCTAssertNil(try s.activeVersion("m"))
    }

    func testCommitPrunesVersionsBeyondKeep() throws {
        let s = try threeVersions(keep: 1)
        let first = try s.manifest("m", 1).archiveSHA256
        try s.commitTrial(try s.beginTrial("m", 3))
        XCTAssertEqual(try s.versions(of: "m"), [2, 3], "the active one and one more are kept")
        XCTAssertFalse(exists("blobs/sha256/\(first)"), "the pruned version's archive goes")
        XCTAssertTrue(exists("blobs/sha256/\(try s.manifest("m", 2).archiveSHA256)"))
    }

    func testDamagedTrialRecordIsRefusedByName() throws {
        let s = try threeVersions()
        try FileManager.default.createDirectory(atPath: stored("trial"), withIntermediateDirectories: true)
        try Data("{\"name\":\"other\",\"candidate\":2}".utf8).write(to: root.appendingPathComponent("trial/m"))
        XCTAssertThrowsError(try s.trial("m")) { error in
            guard case .damaged(let path, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, self.stored("trial/m"))
        }
    }
}
