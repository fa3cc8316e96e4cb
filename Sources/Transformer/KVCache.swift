import Kernels

/// Keys and values of every layer for one sequence, in f16 (half the memory of f32, and what
/// the reference engine keeps). The memory is reserved up front but only pages that positions
/// actually reach are ever touched.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let capacity: Int          // positions
    public let kvDim: Int
    private let keys: UnsafeMutablePointer<UInt16>    // (layer, position, kv_dim)
    private let values: UnsafeMutablePointer<UInt16>  // (layer, position, kv_dim)
    /// Positions filled so far.
    public internal(set) var count = 0

    public init(layers: Int, capacity: Int, kvDim: Int) {
        self.layers = layers
        self.capacity = capacity
        self.kvDim = kvDim
        let n = layers * capacity * kvDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes reserved for keys and values.
    public var byteCount: Int { 2 * layers * capacity * kvDim * MemoryLayout<UInt16>.size }

    func keys(layer: Int) -> UnsafeMutablePointer<UInt16> { keys + layer * capacity * kvDim }
    func values(layer: Int) -> UnsafeMutablePointer<UInt16> { values + layer * capacity * kvDim }

    /// Forgets positions from `position` on (a shared prompt prefix stays).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }
    public func clear() { count = 0 }
}
