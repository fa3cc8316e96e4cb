#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The writers' lock: `flock` on `<directory>/lock` (the store's root, or its staging area),
/// taken without waiting.
///
/// flock locks belong to an open file description, so two processes (or two opens in one
/// process) exclude each other, and the kernel releases the lock when its holder exits or
/// crashes: there is never a stale lock to clean up. The holder writes its pid into the file
/// only so that the refused writer can say who holds it.
final class StoreLock {
    private let file: OpenFile
    /// A refused init still runs deinit, which must not touch the holder's pid.
    private var held = false

    init(directory: URL, store root: URL) throws {
        let url = directory.appendingPathComponent("lock")
        file = try OpenFile(path: url.path, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o644)
        guard flock(file.fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            guard code == EWOULDBLOCK else { throw FileSystemError("lock", url.path, code: code) }
            throw StoreError.locked(root: root.path, holder: Self.holder(file))
        }
        held = true
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(file.fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(file.fd, $0.baseAddress, $0.count, 0) } }
    }

    /// The store's own lock, `<root>/lock`.
    convenience init(root: URL) throws { try self.init(directory: root, store: root) }

    /// The pid is cleared first, so a later holder that is not edgelm (flock(1)) is not
    /// mistaken for this process.
    deinit {
        guard held else { return }
        _ = ftruncate(file.fd, 0)
        flock(file.fd, LOCK_UN)
    }

    private static func holder(_ file: OpenFile) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = bytes.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: bytes[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
