import Kernels
import XCTest

/// Runs `body` once with each kernel variant this CPU supports forced, printing each variant it
/// cannot run and why; the variant selected before is restored afterwards.
func forEachKernelVariant(_ body: (KernelVariant) throws -> Void) throws {
    let initial = KernelSet.selected
    defer { try? KernelSet.force(initial) }
    for variant in KernelVariant.allCases {
        guard variant.isSupported else {
            print("kernel variant \(variant.rawValue) skipped: this CPU (or this build's architecture) cannot run it")
            continue
        }
        try KernelSet.force(variant)
        try body(variant)
    }
}
