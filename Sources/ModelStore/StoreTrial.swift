import Foundation

/// A version on trial: the active pointer already names it, and the daemon has yet to pass it
/// through its health check. Until the trial is committed, `trial/<name>` names the version to
/// return to, so a crash or power cut at any point is undone at the next start.
public struct Trial: Codable, Equatable, Sendable {
    public let name: String
    public let candidate: Int
    /// The version active before the trial; nil when there was none.
    public let previous: Int?
}

extension Store {
    var trials: URL { root.appendingPathComponent("trial") }
    func trialURL(_ name: String) -> URL { trials.appendingPathComponent(name) }
    func historyURL(_ name: String) -> URL { root.appendingPathComponent("history").appendingPathComponent(name) }

    private struct History: Codable { var tried: [Int] }

    /// Whether `name:version` was ever put on trial. An automatic update activates only versions
    /// that never were, so it neither retries one that failed its check nor undoes a rollback.
    public func wasTried(_ name: String, _ version: Int) throws -> Bool {
        try triedVersions(name).contains(version)
    }

    /// Records that `name:version` was switched to (called with the lock held).
    func markTried(_ name: String, _ version: Int) throws {
        let tried = try triedVersions(name)
        guard !tried.contains(version) else { return }
        try FS.makeDirectory(historyURL(name).deletingLastPathComponent())
        try FS.writeAtomically(JSONEncoder().encode(History(tried: Array((tried + [version]).suffix(1000)))),
                               to: historyURL(name), staging: staging)
    }

    func triedVersions(_ name: String) throws -> [Int] {
        guard let text = try Self.readSmallFile(historyURL(name), limit: 64 * 1024) else { return [] }
        guard let h = try? JSONDecoder().decode(History.self, from: Data(text.utf8)) else {
            throw StoreError.damaged(path: historyURL(name).path, reason: "it is not a list of tried versions")
        }
        return h.tried
    }

    /// The trial of `name`, if one is pending.
    public func trial(_ name: String) throws -> Trial? {
        try ModelID.validate(name: name)
        guard let text = try Self.readSmallFile(trialURL(name), limit: 1024) else { return nil }
        guard let t = try? JSONDecoder().decode(Trial.self, from: Data(text.utf8)), t.name == name else {
            throw StoreError.damaged(path: trialURL(name).path, reason: "it is not a trial record for \(name)")
        }
        return t
    }

    /// Every pending trial, by name.
    public func pendingTrials() throws -> [Trial] {
        try FS.list(trials).filter { (try? ModelID.validate(name: $0)) != nil }.compactMap { try trial($0) }
    }

    /// Starts the switch to `name:version`: its GGUF in place (moved in from staging, or
    /// decompressed from its archive), the trial record written, then the pointer flipped. Each
    /// step is durable before the next begins.
    public func beginTrial(_ name: String, _ version: Int) throws -> Trial {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        return try withWriteLock {
            if let pending = try trial(name) { throw StoreError.trialPending(name: name, candidate: pending.candidate) }
            let current = try activeVersion(name)
            if current == version { throw StoreError.alreadyActive(name: name, version: version) }
            let m = try storedManifest(name, version)
            try materialize(m)
            Fault.point(.beforeFlip)
            try markTried(name, version)
            let t = Trial(name: name, candidate: version, previous: current)
            try FS.makeDirectory(trials)
            try FS.writeAtomically(JSONEncoder().encode(t), to: trialURL(name), staging: staging)
            try setActive(name, version)
            return t
        }
    }

    /// The candidate passed: the trial record goes, then what the store no longer keeps: the
    /// previous version's GGUF (its archive stays for a rollback; a process still mapping the
    /// file keeps its pages until it unmaps) and versions beyond `options.keep`.
    public func commitTrial(_ t: Trial) throws {
        try withWriteLock {
            guard try trial(t.name) == t else { throw StoreError.noTrial(name: t.name) }
            Fault.point(.commit)
            try FS.remove(trialURL(t.name))
            try FS.syncDirectory(trials)
            if let previous = t.previous { try FS.remove(modelURL(t.name, previous)) }
            try prune(t.name, keeping: t.candidate)
        }
    }

    /// Moves the pointer back to the version active before the trial, then ends the trial. Safe
    /// to repeat: a crash in the middle leaves the record, and the next start finishes the job.
    /// Returns the trial that was undone, or nil when none was pending.
    @discardableResult
    public func abortTrial(_ name: String) throws -> Trial? {
        try ModelID.validate(name: name)
        return try withWriteLock {
            guard let t = try trial(name) else { return nil }
            if let previous = t.previous {
                try materialize(manifest(name, previous))
                try setActive(name, previous)
            } else {
                try FS.remove(activeURL(name))
                try FS.syncDirectory(active)
            }
            Fault.point(.rollback)
            try FS.remove(trialURL(name))
            try FS.syncDirectory(trials)
            if t.previous != t.candidate { try FS.remove(modelURL(name, t.candidate)) }
            return t
        }
    }

    /// Undoes every trial a previous run left uncommitted.
    public func recoverTrials() throws -> [Trial] {
        try pendingTrials().compactMap { try abortTrial($0.name) }
    }

    /// Removes versions of `name` older than the `options.keep` newest besides `active`.
    func prune(_ name: String, keeping active: Int) throws {
        let expired = try versions(of: name).filter { $0 != active }.dropLast(options.keep)
        for version in expired {
            let m = try manifest(name, version)
            try FS.remove(manifestURL(name, version))
            try FS.remove(modelURL(name, version))
            if try !referencedArchives().contains(m.archiveSHA256) { try FS.remove(blobURL(m.archiveSHA256)) }
        }
        if !expired.isEmpty { try FS.syncDirectory(manifests.appendingPathComponent(name)) }
    }
}
