@_exported import CKernels

/// The kernel variant in use. It is chosen once at start-up from the CPU's features; a user can
/// force one with `EDGELM_KERNELS=scalar|avx2|avx512|neon`, which is refused if the CPU lacks it.
public enum KernelVariant: String, CaseIterable, Sendable {
    case scalar, avx2, avx512, neon

    var c: ek_variant {
        switch self {
        case .scalar: EK_VARIANT_SCALAR
        case .avx2: EK_VARIANT_AVX2
        case .avx512: EK_VARIANT_AVX512
        case .neon: EK_VARIANT_NEON
        }
    }

    public var isSupported: Bool { ek_variant_supported(c) }
}

public enum KernelSetError: Error, CustomStringConvertible, Equatable {
    case unknownVariant(String)
    case unsupported(KernelVariant)

    public var description: String {
        switch self {
        case let .unknownVariant(v):
            "EDGELM_KERNELS=\(v) is not a kernel variant (choose one of: \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupported(v):
            "this CPU cannot run the \(v.rawValue) kernels (supported here: \(KernelVariant.allCases.filter(\.isSupported).map(\.rawValue).joined(separator: ", ")))"
        }
    }
}

public enum KernelSet {
    /// The variant the dispatch table currently holds.
    public static var selected: KernelVariant {
        switch ek_selected_variant() {
        case EK_VARIANT_AVX2: .avx2
        case EK_VARIANT_AVX512: .avx512
        case EK_VARIANT_NEON: .neon
        default: .scalar
        }
    }

    public static func force(_ variant: KernelVariant) throws {
        guard ek_select_variant(variant.c) else { throw KernelSetError.unsupported(variant) }
    }

    /// Applies `EDGELM_KERNELS` from the environment, if set.
    public static func applyEnvironment(_ environment: [String: String]) throws {
        guard let name = environment["EDGELM_KERNELS"], !name.isEmpty else { return }
        guard let v = KernelVariant(rawValue: name.lowercased()) else { throw KernelSetError.unknownVariant(name) }
        try force(v)
    }
}
