import Foundation

/// Figures from /proc/self/status, in bytes.
enum ProcessMemory {
    static func field(_ name: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let kb = line.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// Anonymous resident memory: the heap and stacks, not the mapped model file.
    static var residentAnonymous: Int? { field("RssAnon") }
    static var residentFile: Int? { field("RssFile") }
    static var peakResident: Int? { field("VmHWM") }
}
