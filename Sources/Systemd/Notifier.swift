import CSystemd
import Foundation

/// One assignment of the service-manager notification protocol (`sd_notify(3)`).
public enum NotifyField: Sendable, Equatable {
    case ready
    case reloading
    case stopping
    case watchdog
    case status(String)
    /// Asks the manager to extend the start (or stop) timeout by this much from now.
    case extendTimeout(microseconds: UInt64)

    var assignment: String {
        switch self {
        case .ready: "READY=1"
        case .reloading: "RELOADING=1\nMONOTONIC_USEC=\(Notifier.monotonicMicroseconds())"
        case .stopping: "STOPPING=1"
        case .watchdog: "WATCHDOG=1"
        // A status is one line: the protocol separates assignments by newlines.
        case let .status(text): "STATUS=" + text.replacingOccurrences(of: "\n", with: " ")
        case let .extendTimeout(us): "EXTEND_TIMEOUT_USEC=\(us)"
        }
    }
}

/// Tells systemd about the service's state. Without `NOTIFY_SOCKET` (not started by systemd)
/// every call is a no-op, so callers never need to ask.
public enum Notifier {
    /// True when a service manager listens for notifications.
    public static var isActive: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    @discardableResult
    public static func notify(_ fields: NotifyField...) -> Bool { notify(fields) }

    /// Sends the fields in one datagram; returns false if there is no manager or sending failed.
    @discardableResult
    public static func notify(_ fields: [NotifyField]) -> Bool {
        let message = fields.map(\.assignment).joined(separator: "\n")
        return sd_notify(0, message) > 0
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}

/// The watchdog the manager expects us to feed (`WatchdogSec=`), if any.
public enum Watchdog {
    /// The timeout the manager set for this process, or nil when the watchdog is off.
    public static var timeout: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// How often to ping: half the timeout, as sd_watchdog_enabled(3) recommends.
    public static var pingInterval: Duration? { timeout.map { $0 / 2 } }
}
