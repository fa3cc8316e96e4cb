/// A fixed-size, zero-initialised f32 buffer for activations and scratch. Allocated once per
/// model or sequence and reused, so the hot path never allocates.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

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
