import CSystemd
import Glibc

/// A listening socket passed by the service manager (socket activation).
public struct InheritedSocket: Sendable, Equatable {
    public let descriptor: Int32
    /// The unit's `FileDescriptorName=`, or "unknown" when none was set.
    public let name: String
}

public enum ListenSockets {
    /// Takes the sockets systemd passed (`LISTEN_FDS`, `LISTEN_FDNAMES`), once: the variables are
    /// removed so a child process never believes they are its own.
    public static func take() -> [InheritedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(count) { free(names[i]) }
                free(names)
            }
        }
        return (0..<count).map { i in
            let name = names?[Int(i)].map { String(cString: $0) } ?? "unknown"
            return InheritedSocket(descriptor: SD_LISTEN_FDS_START + i, name: name)
        }
    }
}
