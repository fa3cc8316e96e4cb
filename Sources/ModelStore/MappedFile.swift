#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto

/// A file mapped into memory: read-only for the inputs of a patch (the base and the new model),
/// read-write and shared for a patch's output, so that models of any size pass through the page
/// cache instead of the heap.
final class MappedFile {
    let path: String
    let count: Int
    private let address: UnsafeMutableRawPointer?

    /// Maps the whole of `file` read-only, at the size fstat reports now.
    init(reading file: OpenFile) throws {
        path = file.path
        let size = try file.size()
        guard size <= UInt64(Int.max) else { throw FileSystemError("map", file.path, code: EFBIG) }
        count = Int(size)
        address = try Self.map(file, count: count, protection: PROT_READ, flags: MAP_PRIVATE)
        if let address { _ = madvise(address, count, MADV_SEQUENTIAL) }
    }

    /// Sizes `file` to `count` bytes with its blocks allocated (a full disk then fails here, not
    /// as a SIGBUS on a later store into the mapping) and maps it for writing.
    init(writing file: OpenFile, count: Int) throws {
        path = file.path
        self.count = count
        if count > 0 {
            let rc = posix_fallocate(file.fd, 0, off_t(count))
            guard rc == 0 else { throw FileSystemError("allocate \(count) bytes for", file.path, code: rc) }
        }
        address = try Self.map(file, count: count, protection: PROT_READ | PROT_WRITE, flags: MAP_SHARED)
    }

    private static func map(_ file: OpenFile, count: Int, protection: Int32, flags: Int32) throws -> UnsafeMutableRawPointer? {
        guard count > 0 else { return nil }
        let p = mmap(nil, count, protection, flags, file.fd, 0)
        guard let p, p != MAP_FAILED else { throw FileSystemError("map", file.path) }
        return p
    }

    deinit { if let address { munmap(address, count) } }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: address, count: count) }
    var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: address, count: count) }

    func slice(_ offset: UInt64, _ length: UInt64) -> UnsafeRawBufferPointer {
        precondition(offset <= UInt64(count) && length <= UInt64(count) - offset)
        return UnsafeRawBufferPointer(rebasing: bytes[Int(offset)..<Int(offset + length)])
    }

    /// Writes dirty pages back before the file is renamed into place.
    func sync() throws {
        guard let address else { return }
        guard msync(address, count, MS_SYNC) == 0 else { throw FileSystemError("msync", path) }
    }

    /// SHA-256 of a range, fed in slices so the hasher never sees a model-sized span at once.
    static func sha256(_ bytes: UnsafeRawBufferPointer, into hash: inout SHA256) {
        var offset = 0
        while offset < bytes.count {
            let n = min(1 << 20, bytes.count - offset)
            hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
        }
    }

    func sha256() -> String {
        var hash = SHA256()
        Self.sha256(bytes, into: &hash)
        return hash.finalize().hex
    }
}
