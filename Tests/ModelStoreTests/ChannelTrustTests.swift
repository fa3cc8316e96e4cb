import Foundation
import XCTest
@testable import ModelStore

/// Signed channel metadata as a device checks it: thresholds, rotation, replay, expiry, caps.
final class ChannelTrustTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let rootKeys = (0..<3).map { _ in SigningKey() }
    let targetsKey = SigningKey()

    func root(version: Int = 1, keys: [SigningKey]? = nil, threshold: Int = 2, targets: [SigningKey]? = nil,
              expires: TimeInterval = 86400 * 365) -> RootMetadata {
        RootMetadata(version: version, expires: now + expires, rootKeys: (keys ?? rootKeys).map(\.publicKey), rootThreshold: threshold,
                     targetKeys: (targets ?? [targetsKey]).map(\.publicKey), targetThreshold: 1)
    }

    func model(_ version: Int = 1, memory: UInt64 = 100 << 20, minRuntime: String = "0.1.0", rollout: Int = 100) -> ChannelModel {
        let d = PackDescriptor(name: "m", version: version, archive: "m-\(version).gguf.zst", archiveSHA256: String(repeating: "a", count: 64),
                               archiveSize: 10, ggufSHA256: String(repeating: "b", count: 64), ggufSize: 20, windowLog: 20, level: 3,
                               architecture: "llama", quantization: "Q4_1")
        return ChannelModel(descriptor: d, memoryBytes: memory, minRuntime: minRuntime,
                            health: .init(prompt: "2+2=", expect: "4"), rollout: rollout)
    }

    func targets(version: Int, expires: TimeInterval = 86400, keys: [SigningKey]? = nil, models: [ChannelModel]? = nil) throws -> Data {
        try ChannelPublisher.signedTargets(TargetsMetadata(version: version, expires: now + expires, models: models ?? [model()]),
                                           keys: keys ?? [targetsKey])
    }

    func trust() throws -> ChannelTrust {
        try ChannelTrust(trustedRoot: ChannelPublisher.signedRoot(root(), keys: Array(rootKeys.prefix(2))))
    }

    func testValidTargetsAreAccepted() throws {
        var t = try trust()
        try t.updateRoot(now: now) { _ in nil }
        let meta = try t.verifyTargets(targets(version: 3), now: now)
        XCTAssertEqual(meta.version, 3)
        XCTAssertEqual(meta.models.first?.health?.expect, "4")
        XCTAssertEqual(t.seenTargetsVersion, 3)
    }

    func testRootNeedsItsThreshold() throws {
        let oneOfThree = try ChannelPublisher.signedRoot(root(), keys: [rootKeys[0]])
        XCTAssertThrowsError(try ChannelTrust(trustedRoot: oneOfThree)) {
            XCTAssertEqual($0 as? MetadataError, .notEnoughSignatures(what: "trusted root", role: "root", valid: 1, threshold: 2))
        }
        // The same key signing twice is still one signature.
        var env = try JSONDecoder().decode(Envelope.self, from: oneOfThree)
        env.signatures += env.signatures
        XCTAssertThrowsError(try ChannelTrust(trustedRoot: try env.encoded()))
    }

    func testWrongSignatureAndTamperingAreRefused() throws {
        var t = try trust()
        XCTAssertThrowsError(try t.verifyTargets(targets(version: 1, keys: [SigningKey()]), now: now)) {
            XCTAssertEqual($0 as? MetadataError, .notEnoughSignatures(what: "targets metadata", role: "targets", valid: 0, threshold: 1))
        }
        // A root key is not a targets key.
        XCTAssertThrowsError(try t.verifyTargets(targets(version: 1, keys: [rootKeys[0]]), now: now))
        // One payload byte changed after signing.
        var env = try JSONDecoder().decode(Envelope.self, from: targets(version: 1))
        var payload = Data(base64Encoded: env.payload)!
        payload[payload.count / 2] ^= 0x01
        env = Envelope(payloadType: env.payloadType, payload: payload.base64EncodedString(), signatures: env.signatures)
        XCTAssertThrowsError(try t.verifyTargets(try env.encoded(), now: now)) {
            guard case .notEnoughSignatures = $0 as? MetadataError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(t.seenTargetsVersion, 0, "nothing refused is remembered")
    }

    func testReplayedOlderTargetsAreRefused() throws {
        var t = try trust()
        _ = try t.verifyTargets(targets(version: 5), now: now)
        _ = try t.verifyTargets(targets(version: 5), now: now)   // the same version again is no rollback
        XCTAssertThrowsError(try t.verifyTargets(targets(version: 4), now: now)) {
            XCTAssertEqual($0 as? MetadataError, .rollback(what: "targets metadata", version: 4, seen: 5))
        }
        // A device restarted with the remembered version refuses it too.
        var again = try ChannelTrust(trustedRoot: t.rootData, seenTargetsVersion: t.seenTargetsVersion)
        XCTAssertThrowsError(try again.verifyTargets(targets(version: 2), now: now))
    }

    func testExpiryWithClockSkewAllowance() throws {
        var t = try trust()
        t.clockSkew = 300
        XCTAssertNoThrow(try t.verifyTargets(targets(version: 1, expires: -120), now: now), "within the allowance")
        XCTAssertThrowsError(try t.verifyTargets(targets(version: 2, expires: -3600), now: now)) {
            guard case .expired = $0 as? MetadataError else { return XCTFail("\($0)") }
        }
        var expiredRoot = try ChannelTrust(trustedRoot: ChannelPublisher.signedRoot(root(expires: -86400), keys: rootKeys))
        XCTAssertThrowsError(try expiredRoot.updateRoot(now: now) { _ in nil }) {
            guard case .expired = $0 as? MetadataError else { return XCTFail("\($0)") }
        }
    }

    func testRootRotation() throws {
        let newRootKeys = (0..<2).map { _ in SigningKey() }
        let newTargets = SigningKey()
        let v2 = root(version: 2, keys: newRootKeys, threshold: 2, targets: [newTargets])
        // Signed by a threshold of the old root keys and of the new ones: followed.
        let good = try ChannelPublisher.signedRoot(v2, keys: Array(rootKeys.prefix(2)) + newRootKeys)
        var t = try trust()
        try t.updateRoot(now: now) { $0 == 2 ? good : nil }
        XCTAssertEqual(t.root.version, 2)
        XCTAssertNoThrow(try t.verifyTargets(targets(version: 1, keys: [newTargets]), now: now))
        XCTAssertThrowsError(try t.verifyTargets(targets(version: 2), now: now), "the old targets key is retired")

        // Only the new keys, or only one old key: refused, and the old root stays.
        for signers in [newRootKeys, [rootKeys[0]] + newRootKeys, Array(rootKeys.prefix(2)) + [newRootKeys[0]]] {
            var u = try trust()
            let data = try ChannelPublisher.signedRoot(v2, keys: signers)
            XCTAssertThrowsError(try u.updateRoot(now: now) { $0 == 2 ? data : nil }) {
                guard case .notEnoughSignatures = $0 as? MetadataError else { return XCTFail("\($0)") }
            }
            XCTAssertEqual(u.root.version, 1)
        }
    }

    func testRotationThatSkipsAVersionIsRefused() throws {
        let v3 = try ChannelPublisher.signedRoot(root(version: 3), keys: rootKeys)
        var t = try trust()
        XCTAssertThrowsError(try t.updateRoot(now: now) { $0 == 2 ? v3 : nil }) {
            XCTAssertEqual($0 as? MetadataError, .rootVersionSkipped(expected: 2, found: 3))
        }
        XCTAssertEqual(t.root.version, 1)
    }

    func testOversizedAndMalformedMetadataAreRefused() throws {
        var t = try trust()
        let big = Data(repeating: 0x20, count: ChannelTrust.maxTargetsBytes + 1)
        XCTAssertThrowsError(try t.verifyTargets(big, now: now)) {
            XCTAssertEqual($0 as? MetadataError, .tooLarge(what: "targets metadata", size: big.count, cap: ChannelTrust.maxTargetsBytes))
        }
        XCTAssertThrowsError(try t.verifyTargets(Data("{\"payload\": 3}".utf8), now: now))
        // A root envelope where targets are expected.
        XCTAssertThrowsError(try t.verifyTargets(ChannelPublisher.signedRoot(root(), keys: rootKeys), now: now)) {
            guard case .wrongType = $0 as? MetadataError else { return XCTFail("\($0)") }
        }
        // Entries that would escape the channel directory or repeat.
        let escaping = try ChannelPublisher.signedTargets(
            TargetsMetadata(version: 1, expires: now + 60, models: [ChannelModel(descriptor: PackDescriptor(
                name: "m", version: 1, archive: "../m.gguf.zst", archiveSHA256: String(repeating: "a", count: 64), archiveSize: 1,
                ggufSHA256: String(repeating: "b", count: 64), ggufSize: 1, windowLog: 20, level: 3, architecture: "llama",
                quantization: "Q4_1"), memoryBytes: 1, minRuntime: "0.1.0", health: nil)]), keys: [targetsKey])
        XCTAssertThrowsError(try t.verifyTargets(escaping, now: now))
        XCTAssertThrowsError(try t.verifyTargets(targets(version: 1, models: [model(), model()]), now: now)) {
            XCTAssertEqual($0 as? MetadataError, .duplicateModel(name: "m", version: 1))
        }
    }

    func testModelsThatDoNotFitAreRefusedBeforeDownload() throws {
        XCTAssertNoThrow(try model(memory: 100 << 20).checkFits(memoryBudget: 200 << 20, runtime: "0.1.0"))
        XCTAssertThrowsError(try model(memory: 300 << 20).checkFits(memoryBudget: 200 << 20, runtime: "0.1.0")) {
            XCTAssertEqual($0 as? MetadataError, .overBudget(name: "m", version: 1, needs: 300 << 20, budget: 200 << 20))
        }
        XCTAssertThrowsError(try model(minRuntime: "0.10.0").checkFits(memoryBudget: 1 << 30, runtime: "0.9.3")) {
            XCTAssertEqual($0 as? MetadataError, .runtimeTooOld(name: "m", version: 1, needs: "0.10.0", have: "0.9.3"))
        }
    }

    func testRolloutIsAStablePercentageOfDevices() {
        let devices = (0..<2000).map { "device-\($0)" }
        XCTAssertTrue(devices.allSatisfy { model(rollout: 100).isOffered(to: $0) })
        XCTAssertFalse(devices.contains { model(rollout: 0).isOffered(to: $0) })
        let offered = devices.filter { model(rollout: 30).isOffered(to: $0) }
        XCTAssertGreaterThan(offered.count, 500)
        XCTAssertLessThan(offered.count, 700)
        XCTAssertEqual(offered, devices.filter { model(rollout: 30).isOffered(to: $0) }, "the same devices every time")
        // A device in a 30% rollout stays in when it widens.
        XCTAssertTrue(offered.allSatisfy { model(rollout: 60).isOffered(to: $0) })
    }
}

extension StoreCommandTests {
    /// keygen → pack → publish gives a channel a device can verify from root.json alone.
    func testKeygenPackPublishMakesAVerifiableChannel() throws {
        let keys = dir.appendingPathComponent("keys").path, channel = dir.appendingPathComponent("channel").path
        var r = try edgelm(["keygen", "--out", keys])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotEqual(try edgelm(["keygen", "--out", keys]).status, 0, "existing keys are never overwritten")
        let mode = try FileManager.default.attributesOfItem(atPath: keys + "/root.key")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        r = try edgelm(["pack", try gguf("m.gguf"), "--name", "m", "--version", "1", "--out", channel])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try edgelm(["publish", channel, "--key", keys + "/signing.key"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--root-key"), r.stderr)
        r = try edgelm(["publish", channel, "--key", keys + "/signing.key", "--root-key", keys + "/root.key", "--expires", "2d"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try edgelm(["publish", channel, "--key", keys + "/signing.key", "--health-prompt", "2+2=", "--health-expect", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("targets version 2"), r.stdout)

        var trust = try ChannelTrust(trustedRoot: Data(contentsOf: URL(fileURLWithPath: channel + "/1.root.json")))
        try trust.updateRoot(now: Date()) { try? Data(contentsOf: URL(fileURLWithPath: channel + "/\($0).root.json")) }
        let t = try trust.verifyTargets(Data(contentsOf: URL(fileURLWithPath: channel + "/targets.json")), now: Date())
        XCTAssertEqual(t.version, 2)
        XCTAssertEqual(t.models.map { "\($0.name):\($0.version)" }, ["m:1"])
        let descriptor = try JSONDecoder().decode(PackDescriptor.self, from: Data(contentsOf: URL(fileURLWithPath: channel + "/m-1.json")))
        XCTAssertEqual(t.models[0].archiveSHA256, descriptor.archiveSHA256)
        XCTAssertEqual(t.models[0].health, .init(prompt: "2+2=", expect: "4"))
        // Signed with the wrong key: a device refuses it.
        r = try edgelm(["keygen", "--out", keys, "--name", "intruder"])
        r = try edgelm(["publish", channel, "--key", keys + "/intruder.key"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertThrowsError(try trust.verifyTargets(Data(contentsOf: URL(fileURLWithPath: channel + "/targets.json")), now: Date()))
    }
}
