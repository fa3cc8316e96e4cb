import CKernels
import Dispatch

/// Read bandwidth of main memory: the ceiling of decode speed, which reads every weight once per
/// token. Arrays far larger than the caches are streamed by the worker pool; the best of several
/// passes is reported, as STREAM does.
public enum MemoryBandwidth {
    /// Bytes per second read by `threads` threads over an array of `bytes`.
    public static func measure(threads: Int, bytes: Int = 512 << 20, passes: Int = 8) -> Double {
        let size = max(1 << 20, bytes) & ~63
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 1, count: size)   // fault every page in first
        let pool = WorkerPool(threads: threads)
        var best = 0.0
        var sink: UInt64 = 0
        for _ in 0..<max(1, passes) {
            let start = DispatchTime.now().uptimeNanoseconds
            sink ^= ek_read_stream(pool.raw, buffer, size)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, Double(size) / seconds)
        }
        withExtendedLifetime(sink) {}
        return best
    }
}
