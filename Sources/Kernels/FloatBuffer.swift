#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size, zero-initialised f32 buffer for activations and scratch. Allocated once per
/// model or sequence and reused, so the hot path never allocates. The zeros come from calloc:
/// large buffers are fresh pages, resident only once written (a batch or logit rows a run never
/// uses cost no memory).
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
            fatalError("out of memory allocating \(count) floats")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { free(pointer) }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    /// Pointer to element `offset`.
    public func at(_ offset: Int) -> UnsafeMutablePointer<Float> { pointer + offset }

    public func copy(from other: FloatBuffer, count n: Int, sourceOffset: Int = 0, offset: Int = 0) {
        (pointer + offset).update(from: other.pointer + sourceOffset, count: n)
    }

    public func array(offset: Int = 0, count n: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: pointer + offset, count: n))
    }
}
