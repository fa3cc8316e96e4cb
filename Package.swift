// swift-tools-version:6.0
import PackageDescription

// C kernels are built with optimisation even in debug builds; SIMD variants use
// function-level target attributes (never a global -march), so one binary runs on any CPU.
// No implicit FMA contraction: every variant must round exactly as the scalar twins do, so fused
// multiply-adds appear only where the code asks for them (fmaf, FMA intrinsics).
let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"])]

let package = Package(
    name: "edgelm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "edgelm", targets: ["edgelm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CKernels", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]),
        .target(name: "GGUF"),
        .target(name: "Kernels", dependencies: ["CKernels"]),
        .target(name: "Tokenizer", dependencies: ["GGUF"]),
        .target(name: "Transformer", dependencies: ["GGUF", "Kernels"]),
        .target(name: "Generation", dependencies: ["Transformer", "Tokenizer", "Kernels"]),
        .target(name: "ModelStore", dependencies: ["GGUF"]),
        .executableTarget(name: "edgelm", dependencies: [
            "Generation", "GGUF", "ModelStore", "Tokenizer", "Kernels", "Transformer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", dependencies: ["GGUF"], path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer", "Generation", "Tokenizer", "GGUF", "Kernels", "TestSupport"]),
        .testTarget(name: "EdgeLMTests", dependencies: ["TestSupport"]),
    ]
)
