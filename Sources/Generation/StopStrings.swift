/// Finds stop strings in streamed text. Text that might be the start of a stop string is held
/// back until the next piece shows whether it is, so a stop string is never half printed.
public struct StopStringMatcher: Sendable {
    public let stops: [String]
    private var pending = ""

    public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds a piece of text. Returns the text that is safe to emit, and whether a stop string was
    /// found (then nothing after it is returned, and generation should end).
    public mutating func push(_ piece: String) -> (text: String, stopped: Bool) {
        pending += piece
        guard !stops.isEmpty else { defer { pending = "" }; return (pending, false) }
        if let hit = stops.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let out = String(pending[..<hit.lowerBound])
            pending = ""
            return (out, true)
        }
        // Hold back the longest suffix that is a prefix of some stop string.
        var keep = 0
        for stop in stops {
            var n = min(stop.count, pending.count)
            while n > keep {
                if pending.hasSuffix(stop.prefix(n)) { keep = n; break }
                n -= 1
            }
        }
        let cut = pending.index(pending.endIndex, offsetBy: -keep)
        let out = String(pending[..<cut])
        pending = String(pending[cut...])
        return (out, false)
    }

    /// Whatever was held back, at the end of generation.
    public mutating func flush() -> String {
        defer { pending = "" }
        return pending
    }
}
