#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ModelStore

/// Download progress on stderr: a bar redrawn in place on a terminal (at most 10 times a second),
/// else a plain line now and then (a log, the journal) that never needs a carriage return.
final class ProgressDisplay: @unchecked Sendable {
    enum Style { case bar, lines }

    let label: String
    let style: Style
    private let write: (String) -> Void
    private let interval: Duration
    private let clock = ContinuousClock()
    private let lock = NSLock()
    private var started: ContinuousClock.Instant?
    private var lastDraw: ContinuousClock.Instant?
    private var last: DownloadProgress?
    private var drawnBytes: UInt64?

    init(label: String, style: Style? = nil, write: @escaping (String) -> Void = standardError) {
        self.label = label
        self.style = style ?? (isatty(STDERR_FILENO) == 1 ? .bar : .lines)
        self.write = write
        interval = self.style == .bar ? .milliseconds(100) : .seconds(10)
    }

    func update(_ p: DownloadProgress) {
        lock.withLock {
            let now = clock.now
            // A new request (a restart from zero) restarts the rate measurement.
            if started == nil || last?.startOffset != p.startOffset { started = now }
            last = p
            if let lastDraw, lastDraw.duration(to: now) < interval, p.bytes < p.total { return }
            draw(p, now: now)
        }
    }

    /// Ends the display: the last state drawn if it was not, and the bar's line terminated.
    func finish() {
        lock.withLock {
            guard let p = last else { return }
            if drawnBytes != p.bytes { draw(p, now: clock.now) }
            if style == .bar { write("\n") }
            last = nil
        }
    }

    private func draw(_ p: DownloadProgress, now: ContinuousClock.Instant) {
        lastDraw = now
        drawnBytes = p.bytes
        let text = Self.render(p, elapsed: started.map { $0.duration(to: now) } ?? .zero, label: label, style: style)
        switch style {
        case .bar: write("\r" + text + "\u{1B}[K")
        case .lines: write(text + "\n")
        }
    }

    /// `label [#####-----] 12.3 / 45.6 MB  3.2 MB/s  ETA 0:11` (lines: without the bar).
    static func render(_ p: DownloadProgress, elapsed: Duration, label: String, style: Style) -> String {
        let fraction = p.total > 0 ? min(1, Double(p.bytes) / Double(p.total)) : 0
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let received = p.bytes >= p.startOffset ? p.bytes - p.startOffset : 0
        let rate = seconds > 0.2 ? Double(received) / seconds : 0
        var parts = [label]
        if style == .bar {
            let width = 24
            let filled = Int((fraction * Double(width)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]")
        }
        parts.append(String(format: "%.1f / %.1f MB (%.0f%%)", Double(p.bytes) / 1e6, Double(p.total) / 1e6, fraction * 100))
        if rate > 0 {
            parts.append(String(format: "%.1f MB/s", rate / 1e6))
            if p.bytes < p.total { parts.append("ETA " + duration(Double(p.total - p.bytes) / rate)) }
        }
        return parts.joined(separator: "  ")
    }

    /// `0:07`, `12:34`, `1:02:03`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 360_000 else { return "--:--" }
        let s = Int(seconds.rounded(.up))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
