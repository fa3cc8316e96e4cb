import Dispatch
import Foundation
import Synchronization

/// Ctrl-C stops the generation in progress instead of killing the process; a second Ctrl-C
/// while nothing is generating exits as usual.
final class Interrupt: Sendable {
    static let shared = Interrupt()
    private let requested = Atomic<Bool>(false)
    private let generating = Atomic<Bool>(false)
    nonisolated(unsafe) private var source: DispatchSourceSignal?

    func install() {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler { [self] in
            if generating.load(ordering: .relaxed) {
                requested.store(true, ordering: .relaxed)
            } else {
                FileHandle.standardError.write(Data("\n".utf8))
                exit(130)
            }
        }
        s.resume()
        source = s
    }

    /// Runs `body` as one interruptible generation.
    func generation<T>(_ body: () throws -> T) rethrows -> T {
        requested.store(false, ordering: .relaxed)
        generating.store(true, ordering: .relaxed)
        defer { generating.store(false, ordering: .relaxed) }
        return try body()
    }

    var wasRequested: Bool { requested.load(ordering: .relaxed) }
}
