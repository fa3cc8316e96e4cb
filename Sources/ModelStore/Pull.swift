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

    public var description: String {
        switch self {
        case let .alreadyNewest(name, version): "\(name):\(version) is already the newest"
        case let .installed(name, version, bytes):
            "downloaded \(name):\(version) (\(String(format: "%.1f", Double(bytes) / 1e6)) MB) and activated it"
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

    var trustDir: URL { store.root.appendingPathComponent("trust") }
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
        try store.withWriteLock {
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

    /// The whole pull. Nothing in the store changes unless the archive and the GGUF match the
    /// signed metadata; the new version becomes active only once both were checked.
    public func run(_ name: String) async throws -> PullOutcome {
        let model = try await choose(name)
        if let newest = try store.versions(of: name).last, newest >= model.version {
            return .alreadyNewest(name: name, version: newest)
        }
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
        let m = try Store(root: store.root, create: false, options: capped)
            .importFile(result.path.path, name: model.name, version: model.version, activate: false)
        guard m.archiveSHA256 == model.archiveSHA256, m.ggufSHA256 == model.ggufSHA256, m.ggufSize == model.ggufSize else {
            try? store.remove(m.name, m.version)
            throw PullError.verification(name: m.name, version: m.version,
                                         reason: "the archive decompresses to GGUF sha256 \(m.ggufSHA256) (\(m.ggufSize) bytes); the signed metadata says \(model.ggufSHA256) (\(model.ggufSize) bytes)")
        }
        try store.activate(m.name, m.version)
        return .installed(name: m.name, version: m.version, archiveBytes: model.archiveSize)
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
