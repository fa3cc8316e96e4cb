#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What `pull` did.
public enum PullOutcome: Sendable, Equatable, CustomStringConvertible {
    case alreadyNewest(name: String, version: Int)
    case installed(name: String, version: Int, archiveBytes: UInt64)
    /// Rebuilt from a patch against the installed `base`; only the patch was downloaded.
    case patched(name: String, version: Int, base: Int, patchBytes: UInt64)
    /// The channel's patch could not be used (`reason`); the full archive was downloaded instead.
    case installedAfterDeltaFailed(name: String, version: Int, archiveBytes: UInt64, reason: String)
    /// Downloaded by an earlier pull that stopped before the switch (a crash, a daemon that did not
    /// answer), and never switched to since: switched to now, with nothing downloaded.
    case switched(name: String, version: Int)

    /// Bytes of archive or patch this pull fetched for the version it installed.
    public var downloadedBytes: UInt64 {
        switch self {
        case .alreadyNewest, .switched: 0
        case let .installed(_, _, bytes), let .installedAfterDeltaFailed(_, _, bytes, _), let .patched(_, _, _, bytes): bytes
        }
    }

    public var usedDelta: Bool { if case .patched = self { true } else { false } }

    public var description: String {
        func mb(_ bytes: UInt64) -> String { String(format: "%.1f", Double(bytes) / 1e6) + " MB" }
        switch self {
        case let .alreadyNewest(name, version): return "\(name):\(version) is already the newest"
        case let .installed(name, version, bytes): return "downloaded \(name):\(version) (\(mb(bytes)))"
        case let .patched(name, version, base, bytes):
            return "patched \(name):\(base) to \(name):\(version) (downloaded \(mb(bytes)))"
        case let .installedAfterDeltaFailed(name, version, bytes, reason):
            return "\(reason); downloaded \(name):\(version) (\(mb(bytes)))"
        case let .switched(name, version): return "\(name):\(version) was already downloaded"
        }
    }
}

public enum PullError: Error, Equatable, Sendable, CustomStringConvertible {
    case notInChannel(name: String)
    case noneOffered(name: String, reasons: [String])
    case verification(name: String, version: Int, reason: String)
    case badTrustState(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notInChannel(name): "the channel offers no version of \(name)"
        case let .noneOffered(name, reasons):
            "no version of \(name) in the channel fits this device: \(reasons.joined(separator: "; "))"
        case let .verification(name, version, reason): "\(name):\(version) was refused: \(reason)"
        case let .badTrustState(path, reason): "\(path): \(reason)"
        }
    }
}

/// Fetches a model from a signed channel into the store: trust update, targets check, choice of
/// version for this device, download, import, activation.
public struct Pull: Sendable {
    public static let runtimeVersion = "0.1.0"

    public var store: Store
    /// The channel's base URL (`<channel>/targets.json` and so on).
    public var channel: String
    /// The root the device was shipped with (used when the store has none persisted, or an older one).
    public var trustedRoot: Data
    public var deviceID: String
    public var memoryBudget: UInt64
    public var downloader: Downloader
    public var now: @Sendable () -> Date
    /// Who switches to a new version once it is verified and staged.
    public var activation: Activation = .store
    /// Told when a version is staged, before the switch is asked for.
    public var onStaged: (@Sendable (Manifest) async -> Void)?
    /// Receives the report of a switch (the daemon's, or the store's).
    public var onSwitch: (@Sendable (String) -> Void)?

    public enum Activation: Sendable {
        /// Move the version into the store and flip its active pointer here (no daemon runs; it
        /// serves the version from its next start). Needs write access to the whole store.
        case store
        /// Ask the running daemon, which moves the version in, loads and checks it, then commits.
        case daemon(DaemonClient)
        /// Leave the version staged: edgelmd switches to it, through its health check, when it
        /// next starts. What the update service does when no daemon listens.
        case later
    }

    public init(store: Store, channel: String, trustedRoot: Data, deviceID: String, memoryBudget: UInt64,
                downloader: Downloader = Downloader(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        var c = channel
        while c.hasSuffix("/") { c.removeLast() }
        self.channel = c
        self.trustedRoot = trustedRoot
        self.deviceID = deviceID
        self.memoryBudget = memoryBudget
        self.downloader = downloader
        self.now = now
    }

    var trustDir: URL { store.stagingArea.appendingPathComponent("trust") }
    var rootURL: URL { trustDir.appendingPathComponent("root.json") }
    var seenURL: URL { trustDir.appendingPathComponent("seen.json") }

    struct Seen: Codable { let targetsVersion: Int; enum CodingKeys: String, CodingKey { case targetsVersion = "targets_version" } }

    /// The trust state: the persisted root when it is at least as new as the shipped one.
    func loadTrust() throws -> ChannelTrust {
        var seen = 0
        if let data = try? Data(contentsOf: seenURL) {
            guard data.count <= 4096, let s = try? JSONDecoder().decode(Seen.self, from: data), s.targetsVersion >= 0 else {
                throw PullError.badTrustState(path: seenURL.path, reason: "does not hold {\"targets_version\": N}")
            }
            seen = s.targetsVersion
        }
        let shipped = try ChannelTrust(trustedRoot: trustedRoot, seenTargetsVersion: seen)
        if let data = try? Data(contentsOf: rootURL) {
            let persisted = try ChannelTrust(trustedRoot: data, seenTargetsVersion: seen)
            if persisted.root.version >= shipped.root.version { return persisted }
        }
        return shipped
    }

    func saveTrust(_ trust: ChannelTrust) throws {
        try store.withStagingLock {
            try FS.makeDirectory(trustDir)
            try FS.writeAtomically(trust.rootData, to: rootURL, staging: store.staging)
            let seen = try JSONEncoder().encode(Seen(targetsVersion: trust.seenTargetsVersion))
            try FS.writeAtomically(seen, to: seenURL, staging: store.staging)
        }
    }

    func url(_ file: String) -> String { "\(channel)/\(file)" }

    /// Verifies the channel's metadata and returns the version of `name` this device should run.
    public func choose(_ name: String) async throws -> ChannelModel {
        try ModelID.validate(name: name)
        var trust = try loadTrust()
        var roots: [Int: Data] = [:]
        var v = trust.root.version + 1
        while roots.count < 1024, let data = try await downloader.fetchSmall(url("\(v).root.json"), cap: ChannelTrust.maxRootBytes) {
            roots[v] = data
            v += 1
        }
        let date = now()
        try trust.updateRoot(now: date) { roots[$0] }
        guard let targetsData = try await downloader.fetchSmall(url("targets.json"), cap: ChannelTrust.maxTargetsBytes) else {
            throw DownloadError.httpStatus(url: url("targets.json"), status: 404)
        }
        let targets = try trust.verifyTargets(targetsData, now: date)
        try saveTrust(trust)

        let candidates = targets.models.filter { $0.name == name }.sorted { $0.version > $1.version }
        guard !candidates.isEmpty else { throw PullError.notInChannel(name: name) }
        var reasons: [String] = []
        for m in candidates {
            guard m.isOffered(to: deviceID) else {
                reasons.append("\(m.name):\(m.version) is not offered to this device yet (rollout \(m.rollout)%)")
                continue
            }
            do {
                try m.checkFits(memoryBudget: memoryBudget, runtime: Self.runtimeVersion)
                return m
            } catch {
                reasons.append("\(error)")
            }
        }
        throw PullError.noneOffered(name: name, reasons: reasons)
    }

    /// The whole pull. Only the staging area is written until a version is verified against the
    /// signed metadata; then whoever `activation` names moves it in and switches to it.
    public func run(_ name: String) async throws -> PullOutcome {
        let model = try await choose(name)
        let stored = try store.versions(of: name)
        // Downloaded by an earlier pull that stopped before the switch, and never switched to.
        let known = stored.contains(model.version) ? try store.manifest(name, model.version)
            : try store.stagedManifest(name, model.version)
        if let known, known.ggufSHA256 == model.ggufSHA256, try store.activeVersion(name) != model.version,
           try !store.wasTried(name, model.version) {
            try await switchTo(known)
            return .switched(name: name, version: model.version)
        }
        if let newest = stored.last, newest >= model.version {
            return .alreadyNewest(name: name, version: newest)
        }
        // A patch against an installed version when one applies (PullDelta.swift), else the archive.
        let delta = try await installFromDelta(model)
        let m: Manifest
        if let patched = delta.manifest { m = patched } else { m = try await installArchive(model) }
        await onStaged?(m)
        try await switchTo(m)
        return delta.outcome(m, archiveBytes: model.archiveSize)
    }

    /// Makes a verified, staged version the one served: the daemon asked to switch (it moves the
    /// version in and runs the health check, and may refuse, keeping the old version), or with no
    /// daemon the store switched here, or nothing yet (the daemon does it when it next starts).
    func switchTo(_ m: Manifest) async throws {
        switch activation {
        case .store:
            try store.activate(m.name, m.version)
            onSwitch?("\(m.name):\(m.version) is active")
        case let .daemon(client):
            let answer = try await client.activate(m.name, version: m.version)
            onSwitch?(answer.description)
        case .later:
            onSwitch?("\(m.name):\(m.version) is staged; edgelmd switches to it when it next starts")
        }
    }

    /// Downloads the full archive and stages it, checked against the signed hashes.
    func installArchive(_ model: ChannelModel) async throws -> Manifest {
        let partial = store.staging.appendingPathComponent("download-\(model.archiveSHA256).partial")
        try FS.makeDirectory(store.staging)
        let result = try await downloader.download(url(model.archive), to: partial,
                                                   expectedSize: model.archiveSize, expectedSHA256: model.archiveSHA256)
        defer {
            _ = try? FS.remove(partial)
            _ = try? FS.remove(Downloader.sidecarURL(for: partial))
        }
        // The archive may ask for no larger a decoder window than its signed metadata states.
        var capped = store.options
        capped.maxWindowLog = min(capped.maxWindowLog, model.windowLog)
        return try Store(root: store.root, create: false, options: capped)
            .stage(result.path.path, name: model.name, version: model.version, health: model.health,
                   maxGGUFBytes: model.ggufSize) { m in
                guard m.archiveSHA256 == model.archiveSHA256, m.ggufSHA256 == model.ggufSHA256, m.ggufSize == model.ggufSize else {
                    throw PullError.verification(name: m.name, version: m.version,
                                                 reason: "the archive decompresses to GGUF sha256 \(m.ggufSHA256) (\(m.ggufSize) bytes); the signed metadata says \(model.ggufSHA256) (\(model.ggufSize) bytes)")
                }
            }
    }

    /// This machine's id: /etc/machine-id, else the host name.
    public static func defaultDeviceID() -> String {
        if let text = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        return ProcessInfo.processInfo.hostName
    }

    /// MemAvailable from /proc/meminfo, in bytes; nil when it cannot be read.
    public static func availableMemory() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = UInt64(parts[1]) { return kb * 1024 }
        }
        return nil
    }
}
