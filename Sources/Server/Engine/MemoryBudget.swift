import Foundation

/// How much memory a model load may use: what the cgroup still allows (`memory.max` −
/// `memory.current`), else the system's `MemAvailable`, minus a reserve kept for everything else.
public struct MemoryBudget: Sendable {
    public var reserveBytes: Int

    public init(reserveBytes: Int) { self.reserveBytes = reserveBytes }

    public var availableBytes: Int {
        let free = Self.cgroupHeadroom().map { min($0, Self.memAvailable() ?? $0) } ?? Self.memAvailable() ?? Int.max / 2
        return max(0, free - reserveBytes)
    }

    static func memAvailable() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let parts = line.split(whereSeparator: \.isWhitespace)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
        }
        return nil
    }

    /// Bytes this process's cgroup may still allocate, or nil without a limit.
    static func cgroupHeadroom() -> Int? {
        guard let cgroup = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let line = cgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let dir = "/sys/fs/cgroup" + line.dropFirst(3)
        func read(_ name: String) -> String? {
            (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let max = read("memory.max"), max != "max", let limit = Int(max) else { return nil }
        let current = read("memory.current").flatMap { Int($0) } ?? 0
        return Swift.max(0, limit - current)
    }
}
