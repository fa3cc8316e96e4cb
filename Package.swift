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
        .executable(name: "edgelmd", targets: ["edgelmd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // 3.12.3 and up; the upper bound admits the 4.x that the rest of the graph already resolves to.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .target(name: "CKernels", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]),
        .target(name: "GGUF"),
        .target(name: "Kernels", dependencies: ["CKernels"]),
        .target(name: "Tokenizer", dependencies: ["GGUF"]),
        .target(name: "Transformer", dependencies: ["GGUF", "Kernels"]),
        .target(name: "Generation", dependencies: ["Transformer", "Tokenizer", "Kernels"]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "ModelStore", dependencies: [
            "GGUF", "CZstd", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "Systemd", dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]),
        .target(name: "EdgeLMAPI"),
        .target(name: "Server", dependencies: [
            "EdgeLMAPI", "Generation", "Transformer", "Tokenizer", "Kernels", "GGUF", "ModelStore", "Systemd",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "edgelmd", dependencies: [
            "Server", "Systemd", "Kernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "edgelm", dependencies: [
            "Generation", "GGUF", "ModelStore", "Tokenizer", "Kernels", "Transformer", "Systemd",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "TestSupport", dependencies: ["GGUF"], path: "Tests/TestSupport"),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer", "Generation", "Tokenizer", "GGUF", "Kernels", "TestSupport"]),
        .testTarget(name: "EdgeLMTests", dependencies: ["TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "EdgeLMAPI", "Systemd", "TestSupport"]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore", "TestSupport", "GGUF"]),
    ]
)
