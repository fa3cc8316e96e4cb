import CKernels

/// Persistent compute threads shared by every op of a model (see `ek_pool_*`).
public final class WorkerPool: @unchecked Sendable {
    let raw: OpaquePointer
    public let threads: Int

    public init(threads: Int) {
        raw = ek_pool_create(Int32(max(1, threads)))
        self.threads = Int(ek_pool_threads(raw))
    }

    deinit { ek_pool_destroy(raw) }
}
