#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What `gc` deleted.
public struct GCReport: Equatable, Sendable {
    /// Versions whose manifests were removed, as `name:version`.
    public var removedVersions: [String] = []
    /// Files deleted: archives, decompressed GGUFs, staging leftovers.
    public var removedFiles = 0
    public var freedBytes: UInt64 = 0
}

extension Store {
    /// Removes what the store no longer needs:
    /// - versions beyond the active one and the `options.keep` newest others;
    /// - archives no manifest names;
    /// - decompressed GGUFs of versions that are not active (a process mapping one keeps its
    ///   pages: unlinking does not touch them);
    /// - active pointers of names with no version left, files left in the staging area's scratch
    ///   directory, and staged versions already in the store or without their manifest (with
    ///   both locks held no writer is using them). The channel's trust state stays.
    /// Files the store did not create (a GGUF copied straight into `models/`) are left alone.
    @discardableResult
    public func gc() throws -> GCReport {
        try withWriteLock {
            var report = GCReport()
            try withStagingLock {
                for entry in try FS.list(staging) { try removeTree(staging.appendingPathComponent(entry), &report) }
                for name in try FS.list(ready) {
                    let dir = ready.appendingPathComponent(name)
                    guard (try? ModelID.validate(name: name)) != nil, FS.isDirectory(dir) else {
                        try removeTree(dir, &report)
                        continue
                    }
                    let stored = Set(try versions(of: name))
                    let complete = Set(try stagedVersions(of: name)).subtracting(stored)
                    for file in try FS.list(dir) {
                        let version = file.split(separator: ".", maxSplits: 1).first.flatMap { try? ModelID.parseVersion(String($0)) }
                        if let version, complete.contains(version) { continue }
                        try removeTree(dir.appendingPathComponent(file), &report)
                    }
                    removeIfEmpty(dir)
                }
            }

            for name in try names() {
                let current = try activeVersion(name)
                let expired = try versions(of: name).filter { $0 != current }.dropLast(options.keep)
                guard !expired.isEmpty else { continue }
                for version in expired {
                    try FS.remove(manifestURL(name, version))
                    report.removedVersions.append("\(name):\(version)")
                }
                try FS.syncDirectory(manifests.appendingPathComponent(name))
                removeIfEmpty(manifests.appendingPathComponent(name))
            }

            let referenced = try referencedArchives()
            for blob in try FS.list(blobs) where !referenced.contains(blob) {
                try removeFile(blobs.appendingPathComponent(blob), &report)
            }

            let stored = Set(try names())
            // Only directories named like models are the store's; loose files in models/ are not.
            for name in try FS.list(models) where (try? ModelID.validate(name: name)) != nil {
                let dir = models.appendingPathComponent(name)
                guard FS.isDirectory(dir) else { continue }
                let keepFile = try stored.contains(name) ? activeVersion(name).map { "\($0).gguf" } : nil
                for file in try FS.list(dir) where file != keepFile { try removeTree(dir.appendingPathComponent(file), &report) }
                removeIfEmpty(dir)
            }

            for name in try FS.list(active) where !stored.contains(name) {
                try removeFile(active.appendingPathComponent(name), &report)
            }
            return report
        }
    }

    private func removeFile(_ url: URL, _ report: inout GCReport) throws {
        var st = stat()
        let size = lstat(url.path, &st) == 0 ? UInt64(st.st_size) : 0
        if try FS.remove(url) {
            report.removedFiles += 1
            report.freedBytes += size
        }
    }

    /// Staging can hold only files; a directory there is removed whole all the same.
    private func removeTree(_ url: URL, _ report: inout GCReport) throws {
        guard FS.isDirectory(url) else { return try removeFile(url, &report) }
        for entry in try FS.list(url) { try removeTree(url.appendingPathComponent(entry), &report) }
        guard rmdir(url.path) == 0 else { throw FileSystemError("remove", url.path) }
    }
}
