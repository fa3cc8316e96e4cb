#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The on-disk store of versioned, zstd-compressed GGUF models.
///
/// ```
/// <root>/layout                        "1": the layout of everything below
/// <root>/lock                          flock'd by every writer of what follows staging
/// <root>/staging/                      the staging area: all an update (edgelm-update) may write
/// <root>/staging/lock                  flock'd by every writer of the staging area
/// <root>/staging/tmp/                  files being written; moved into place by rename
/// <root>/staging/trust/                the newest verified channel root and targets version
/// <root>/staging/ready/<name>/<v>.*    a version downloaded and verified (.gguf.zst, .gguf,
///                                      then .json last), waiting to be moved into the store
/// <root>/blobs/sha256/<hex>            archives (.gguf.zst), named by their own sha256
/// <root>/manifests/<name>/<v>.json     one per stored version
/// <root>/active/<name>                 the active version number, as text
/// <root>/models/<name>/<v>.gguf        the active version decompressed (mode 0444)
/// ```
///
/// Every change is a rename of a complete, fsync'd file followed by an fsync of its directory,
/// so a reader (the daemon) never needs the lock and never sees a half-written file, and a
/// mapped GGUF is never written in place. Writers hold `<root>/lock`; a second writer fails at
/// once with `StoreError.locked` rather than queueing behind an import that may take minutes.
///
/// A pull writes only the staging area (StoreStaging.swift): the process that owns the store
/// (edgelmd, or `edgelm` run by hand) re-hashes a staged version from its own descriptors and
/// moves it in by rename, so the network-facing update service needs no write access elsewhere.
public struct Store: Sendable {
    public static let layoutVersion = "1"
    public static let defaultRoot = URL(fileURLWithPath: "/var/lib/edgelm")

    public struct Options: Sendable {
        /// Versions kept besides the active one (older ones go at the next `gc`).
        public var keep: Int
        /// Largest zstd window (log2 bytes) an archive may ask this machine for.
        public var maxWindowLog: Int
        /// How imported `.gguf` files are compressed.
        public var compression: ZstdCompression
        /// Known models: an import whose GGUF hash matches one takes its name.
        public var catalog: [CatalogEntry]
        /// Free bytes for a path; statvfs when nil (tests inject a smaller disk).
        public var freeSpace: (@Sendable (URL) throws -> UInt64)?
        public var now: @Sendable () -> Date

        public init(keep: Int = 1, maxWindowLog: Int = Zstd.defaultMaxWindowLog, compression: ZstdCompression = .init(),
                    catalog: [CatalogEntry] = [], freeSpace: (@Sendable (URL) throws -> UInt64)? = nil,
                    now: @escaping @Sendable () -> Date = { Date() }) {
            self.keep = max(0, keep)
            self.maxWindowLog = maxWindowLog
            self.compression = compression
            self.catalog = catalog
            self.freeSpace = freeSpace
            self.now = now
        }
    }

    public let root: URL
    public let options: Options

    /// Opens the store at `root`. A missing root (or one without a layout file) is created when
    /// `create` is set; a layout other than this one's is refused, so an older edgelm never
    /// rewrites a store it does not understand.
    public init(root: URL = Store.defaultRoot, create: Bool = true, options: Options = .init()) throws {
        self.root = root.standardizedFileURL
        self.options = options
        if try readLayout() == nil {
            guard create else { throw StoreError.noStore(root: self.root.path) }
            try FS.makeDirectory(self.root)
            try withWriteLock {
                // Another process may have created it since we looked.
                if try readLayout() == nil {
                    try FS.writeAtomically(Data("\(Self.layoutVersion)\n".utf8), to: layoutURL, staging: staging)
                }
            }
        }
    }

    // MARK: - Paths

    var layoutURL: URL { root.appendingPathComponent("layout") }
    /// The staging area, the only directory an update may write.
    public var stagingArea: URL { root.appendingPathComponent("staging") }
    /// Scratch space for files being written (inside the staging area, so renames stay on one
    /// file system).
    var staging: URL { stagingArea.appendingPathComponent("tmp") }
    var ready: URL { stagingArea.appendingPathComponent("ready") }
    var blobs: URL { root.appendingPathComponent("blobs/sha256") }
    var manifests: URL { root.appendingPathComponent("manifests") }
    var active: URL { root.appendingPathComponent("active") }
    var models: URL { root.appendingPathComponent("models") }

    func blobURL(_ sha256: String) -> URL { blobs.appendingPathComponent(sha256) }
    func manifestURL(_ name: String, _ version: Int) -> URL { manifests.appendingPathComponent("\(name)/\(version).json") }
    func modelURL(_ name: String, _ version: Int) -> URL { models.appendingPathComponent("\(name)/\(version).gguf") }
    func activeURL(_ name: String) -> URL { active.appendingPathComponent(name) }

    private func readLayout() throws -> String? {
        guard let text = try Self.readSmallFile(layoutURL) else { return nil }
        let found = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard found == Self.layoutVersion else { throw StoreError.unknownLayout(root: root.path, found: found) }
        return found
    }

    /// The text of a small file, nil if it does not exist.
    static func readSmallFile(_ url: URL, limit: Int = 64) throws -> String? {
        let file: OpenFile
        do { file = try OpenFile.reading(url.path) } catch let e as FileSystemError where e.code == ENOENT { return nil }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        let n = try bytes.withUnsafeMutableBytes { try file.readFully(into: $0) }
        guard n <= limit else { throw StoreError.damaged(path: url.path, reason: "longer than \(limit) bytes") }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }

    // MARK: - Reading (no lock: every file a reader opens was complete when it got its name)

    /// Names with at least one stored version.
    public func names() throws -> [String] {
        try FS.list(manifests).filter { (try? ModelID.validate(name: $0)) != nil && FS.isDirectory(manifests.appendingPathComponent($0)) }
    }

    /// Stored versions of `name`, oldest first.
    public func versions(of name: String) throws -> [Int] {
        try ModelID.validate(name: name)
        return try Self.manifestVersions(in: manifests.appendingPathComponent(name))
    }

    /// The versions whose manifests (`<v>.json`) a directory holds, oldest first; other names are ignored.
    static func manifestVersions(in dir: URL) throws -> [Int] {
        try FS.list(dir).compactMap { file -> Int? in
            guard file.hasSuffix(".json") else { return nil }
            return try? ModelID.parseVersion(String(file.dropLast(5)))
        }.sorted()
    }

    public func manifest(_ name: String, _ version: Int) throws -> Manifest {
        try ModelID.validate(name: name)
        try ModelID.validate(version: version)
        let url = manifestURL(name, version)
        guard FS.exists(url) else { throw StoreError.notFound(name: name, version: version) }
        return try Manifest.read(url, name: name, version: version)
    }

    /// The active version of `name`, or nil if none was activated.
    public func activeVersion(_ name: String) throws -> Int? {
        try ModelID.validate(name: name)
        let url = activeURL(name)
        guard let text = try Self.readSmallFile(url) else { return nil }
        do {
            return try ModelID.parseVersion(text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw StoreError.damaged(path: url.path, reason: "it does not hold a version number")
        }
    }

    /// The decompressed GGUF of the active version of `name`: the file the daemon maps.
    public func activePath(_ name: String) throws -> URL {
        guard let version = try activeVersion(name) else {
            throw try versions(of: name).isEmpty ? StoreError.notFound(name: name, version: nil) : StoreError.notActive(name: name)
        }
        let url = modelURL(name, version)
        guard FS.exists(url) else {
            throw StoreError.damaged(path: url.path, reason: "the active version's GGUF is missing (activate \(name):\(version) again)")
        }
        return url
    }

    /// Every stored version, by name and then version.
    public func list() throws -> [StoreEntry] {
        var entries: [StoreEntry] = []
        for name in try names() {
            let current = try activeVersion(name)
            for version in try versions(of: name) {
                // A version removed by a concurrent writer since the directory was read is skipped.
                guard let m = try? manifest(name, version) else { continue }
                entries.append(StoreEntry(name: name, version: version, active: version == current, sha256: m.ggufSHA256, size: m.ggufSize))
            }
        }
        return entries
    }

    // MARK: - Writing

    /// Runs `body` holding the store's write lock, with the directories a writer needs in place.
    func withWriteLock<T>(_ body: () throws -> T) throws -> T {
        try FS.makeDirectory(root)
        let lock = try StoreLock(directory: root, store: root)
        defer { withExtendedLifetime(lock) {} }
        for dir in [staging, blobs, manifests, active, models] { try FS.makeDirectory(dir) }
        return try body()
    }

    /// Runs `body` holding the staging area's lock: what an update takes, touching nothing else.
    func withStagingLock<T>(_ body: () throws -> T) throws -> T {
        try FS.makeDirectory(stagingArea)
        let lock = try StoreLock(directory: stagingArea, store: root)
        defer { withExtendedLifetime(lock) {} }
        for dir in [staging, ready] { try FS.makeDirectory(dir) }
        return try body()
    }

    /// Refuses to start writing `needed` bytes onto a file system that lacks them.
    func checkSpace(needed: UInt64) throws {
        let available = try options.freeSpace.map { try $0(staging) } ?? FS.availableBytes(staging)
        guard needed <= available else { throw StoreError.insufficientSpace(path: root.path, needed: needed, available: available) }
    }
}
