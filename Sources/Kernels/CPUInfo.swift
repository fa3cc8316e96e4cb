#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Foundation

public enum CPUInfo {
    /// CPUs this process may run on: its affinity mask, further limited by a cgroup v2 CPU quota
    /// (`cpu.max`), so a container limited to 1.5 CPUs gets 2 threads, not the host's count.
    public static var usableCores: Int {
        var count = ProcessInfo.processInfo.activeProcessorCount
        #if os(Linux)
        let n = Int(ek_affinity_cpus())
        if n > 0 { count = min(count, n) }
        if let quota = cgroupQuota() { count = min(count, max(1, Int(quota.rounded(.up)))) }
        #endif
        return max(1, count)
    }

    /// CPUs allowed by `/sys/fs/cgroup/<own cgroup>/cpu.max`, or nil if unlimited or unknown.
    static func cgroupQuota() -> Double? {
        guard let cgroup = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let line = cgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let path = "/sys/fs/cgroup" + line.dropFirst(3) + "/cpu.max"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1]), period > 0 else { return nil }
        return quota / period
    }
}
