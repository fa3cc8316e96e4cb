#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Crash points for the power-loss tests: with `EDGELM_FAULT=<step>` (or `<step>@<n>`, the n-th
/// time the step is reached) in its environment, a process kills itself with SIGKILL there,
/// leaving the disk as a power cut would: no cleanup, nothing beyond what was already written.
/// Unset, each call is a comparison against nil.
public enum Fault {
    public enum Step: String, CaseIterable, Sendable {
        /// Some of an archive has reached the staging area.
        case download
        /// Some of a GGUF has been decompressed into staging.
        case decompress
        /// A staged file is synced but not yet renamed into place.
        case beforeRename = "before-rename"
        /// The new version's GGUF is in place; the active pointer still names the old one.
        case beforeFlip = "before-flip"
        /// The pointer names the new version; the daemon has not checked it yet.
        case beforeHealth = "before-health"
        /// The health check passed; the trial is being committed.
        case commit
        /// The health check failed; the pointer is being moved back.
        case rollback
    }

    static let armed: (step: Step, occurrence: Int)? = {
        guard let text = ProcessInfo.processInfo.environment["EDGELM_FAULT"] else { return nil }
        let parts = text.split(separator: "@", maxSplits: 1)
        guard let step = Step(rawValue: String(parts[0])) else { return nil }
        let n = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        return (step, max(1, n))
    }()
    static let reached = Atomic<Int>(0)

    /// Dies here if this is the armed step (and occurrence).
    public static func point(_ step: Step) {
        guard let armed, armed.step == step else { return }
        guard reached.add(1, ordering: .relaxed).newValue == armed.occurrence else { return }
        kill(getpid(), SIGKILL)
        // SIGKILL cannot be caught; nothing after this runs.
        while true { pause() }
    }
}
