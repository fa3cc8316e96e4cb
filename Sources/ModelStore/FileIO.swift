#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// A failed system call, naming what was being done to which path and the system's reason.
public struct FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32

    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// An open file descriptor with one owner; closed when the owner lets go of it.
final class OpenFile {
    let fd: Int32
    let path: String
    private let owned: Bool

    init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileSystemError("open", path) }
        self.fd = fd
        self.path = path
        owned = true
    }

    /// A descriptor someone else opened and will close.
    init(borrowing fd: Int32, name: String) {
        self.fd = fd
        path = name
        owned = false
    }

    static func reading(_ path: String) throws -> OpenFile { try OpenFile(path: path, flags: O_RDONLY) }

    /// A new file that must not exist yet: staging names are unique, so an existing one is a bug
    /// or an attack (a planted symlink), never something to overwrite.
    static func creating(_ path: String, mode: mode_t = 0o644) throws -> OpenFile {
        try OpenFile(path: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
    }

    deinit { if owned { close(fd) } }

    func status() throws -> stat {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileSystemError("stat", path) }
        return st
    }

    var isRegularFile: Bool { ((try? status()).map { $0.st_mode & S_IFMT == S_IFREG }) ?? false }

    func size() throws -> UInt64 { UInt64(try status().st_size) }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    func readChunk(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw FileSystemError("read", path) }
        }
    }

    /// Reads until the buffer is full or the file ends.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try readChunk(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }

    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path)
            }
            done += n
        }
    }

    func writeAll(_ data: Data) throws { try data.withUnsafeBytes { try writeAll($0) } }

    /// Writes at an absolute offset, leaving the file offset alone.
    func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path)
            }
            done += n
        }
    }

    /// The first bytes of the file, without moving the offset.
    func peek(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
        guard n >= 0 else { throw FileSystemError("read", path) }
        return Array(bytes[..<n])
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw FileSystemError("fsync", path) }
    }

    func setMode(_ mode: mode_t) throws {
        guard fchmod(fd, mode) == 0 else { throw FileSystemError("chmod", path) }
    }

    func seekToStart() throws {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw FileSystemError("seek", path) }
    }

    /// Size and SHA-256 of the whole file, read from offset 0 whatever the current offset, through
    /// one fixed buffer; each chunk is also written to `copy` when given. Reading stops once more
    /// than `limit` bytes were seen (the caller, expecting at most that, refuses the file).
    func sha256(copyingTo copy: OpenFile? = nil, limit: UInt64 = .max) throws -> (size: UInt64, sha256: String) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var hash = SHA256()
        var total: UInt64 = 0
        while total <= limit {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(total))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("read", path)
            }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            hash.update(bufferPointer: chunk)
            try copy?.writeAll(chunk)
            total += UInt64(n)
        }
        return (total, hash.finalize().hex)
    }

    /// Bytes from the current offset to the end of a regular file; nil for pipes and the like.
    func remainingBytes() -> UInt64? {
        guard let st = try? status(), st.st_mode & S_IFMT == S_IFREG else { return nil }
        let offset = lseek(fd, 0, SEEK_CUR)
        return offset >= 0 && offset <= st.st_size ? UInt64(st.st_size - offset) : nil
    }
}

/// Directory-level operations whose durability the store depends on.
enum FS {
    /// A rename is durable only once the directory holding the new name is on disk.
    static func syncDirectory(_ dir: URL) throws {
        let d = try OpenFile(path: dir.path, flags: O_RDONLY | O_DIRECTORY)
        try d.sync()
    }

    /// Atomically puts `from` at `to` (same file system) and makes the change durable.
    static func moveIntoPlace(_ from: URL, to: URL) throws {
        Fault.point(.beforeRename)
        guard rename(from.path, to.path) == 0 else { throw FileSystemError("rename to \(to.path)", from.path) }
        try syncDirectory(to.deletingLastPathComponent())
    }

    static func makeDirectory(_ dir: URL) throws {
        guard !isDirectory(dir) else { return }
        let parent = dir.deletingLastPathComponent()
        if parent.path != dir.path { try makeDirectory(parent) }
        guard mkdir(dir.path, 0o755) == 0 || errno == EEXIST else { throw FileSystemError("create directory", dir.path) }
    }

    /// Removes a file; one that is already gone is not an error.
    @discardableResult
    static func remove(_ url: URL) throws -> Bool {
        if unlink(url.path) == 0 { return true }
        if errno == ENOENT { return false }
        throw FileSystemError("remove", url.path)
    }

    static func exists(_ url: URL) -> Bool { access(url.path, F_OK) == 0 }

    /// Names in a directory (none if it does not exist), sorted so every walk is deterministic.
    static func list(_ dir: URL) throws -> [String] {
        guard exists(dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    static func isDirectory(_ url: URL) -> Bool {
        var st = stat()
        return lstat(url.path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// Writes small content (a manifest, a pointer) through a staging file, so readers see either
    /// the old file or the complete new one.
    static func writeAtomically(_ data: Data, to url: URL, staging: URL, mode: mode_t = 0o644) throws {
        let temp = staging.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        do {
            let f = try OpenFile.creating(temp.path, mode: mode)
            try f.writeAll(data)
            try f.sync()
            try moveIntoPlace(temp, to: url)
        } catch {
            _ = try? remove(temp)
            throw error
        }
    }

    /// Bytes an unprivileged writer may still use on the file system holding `url`.
    static func availableBytes(_ url: URL) throws -> UInt64 {
        var s = statvfs()
        guard statvfs(url.path, &s) == 0 else { throw FileSystemError("statvfs", url.path) }
        return UInt64(s.f_bavail) * UInt64(s.f_frsize)
    }
}

/// A new file under a staging directory. It reaches its final name only through `place`, complete
/// and on disk; a staged file that is dropped (an error, a refusal) is deleted.
final class StagedFile {
    let url: URL
    let file: OpenFile
    private var placed = false

    init(in directory: URL, suffix: String) throws {
        url = directory.appendingPathComponent(".\(UUID().uuidString).\(suffix)")
        file = try OpenFile.creating(url.path, mode: 0o600)
    }

    /// Syncs the content, sets the final mode, renames it to `destination` and syncs that directory.
    func place(at destination: URL, mode: mode_t) throws {
        try file.setMode(mode)
        try file.sync()
        try FS.makeDirectory(destination.deletingLastPathComponent())
        try FS.moveIntoPlace(url, to: destination)
        placed = true
    }

    deinit { if !placed { _ = try? FS.remove(url) } }
}
