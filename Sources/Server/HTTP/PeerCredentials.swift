import Glibc
import NIOCore

/// Who is on the other end of a Unix-socket connection, as the kernel reports it (`SO_PEERCRED`).
/// Never taken from anything the client sends.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "uid \(uid) gid \(gid) pid \(pid)" }

    /// Reads the credentials of `channel`'s peer, or nil if the socket cannot tell (not AF_UNIX).
    public static func of(_ channel: any Channel) async -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<KernelCredentials> = provider.unsafeGetSocketOption(
            level: .init(rawValue: SOL_SOCKET), name: .init(rawValue: SO_PEERCRED))
        guard let cred = try? await future.get() else { return nil }
        return PeerCredentials(pid: cred.pid, uid: cred.uid, gid: cred.gid)
    }

    /// `struct ucred` of <sys/socket.h> (only declared with _GNU_SOURCE, so mirrored here).
    struct KernelCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The peer's supplementary groups are not in `SO_PEERCRED`; they are read from the user
    /// database for the uid, as a login would get them.
    public var groups: Set<UInt32> {
        var result: Set<UInt32> = [gid]
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return result }
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, pw.pointee.pw_gid, &list, &count) == -1 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, pw.pointee.pw_gid, &list, &count)
        }
        for g in list.prefix(Int(max(0, count))) { result.insert(g) }
        return result
    }
}
