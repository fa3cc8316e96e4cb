import Foundation

/// Why the store refused an operation, in words a user can act on.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case badName(String, reason: String)
    case badVersion(String)
    case badReference(String)
    case unknownLayout(root: String, found: String)
    case noStore(root: String)
    case locked(root: String, holder: Int32?)
    case notFound(name: String, version: Int?)
    case alreadyExists(name: String, version: Int)
    case duplicateContent(name: String, version: Int)
    case activeVersion(name: String, version: Int)
    case notActive(name: String)
    case nothingToRollBack(name: String, active: Int)
    case insufficientSpace(path: String, needed: UInt64, available: UInt64)
    case unrecognizedInput(path: String)
    case notGGUF(path: String, reason: String)
    case damaged(path: String, reason: String)
    case archive(path: String, ZstdError)
    case outputExists(path: String)
    case trialPending(name: String, candidate: Int)
    case alreadyActive(name: String, version: Int)
    case noTrial(name: String)

    public var description: String {
        switch self {
        case let .badName(name, reason):
            "invalid model name \(String(reflecting: name)): \(reason) (names are 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit)"
        case let .badVersion(v): "invalid version \(String(reflecting: v)): versions are whole numbers from 1 to \(ModelID.maxVersion)"
        case let .badReference(text): "expected NAME:VERSION, got \(String(reflecting: text))"
        case let .unknownLayout(root, found):
            "the store at \(root) has layout \(String(reflecting: found)); this edgelm understands layout \(Store.layoutVersion) only"
        case let .noStore(root): "no model store at \(root) (importing a model creates one)"
        case let .locked(root, holder?):
            "another edgelm process (pid \(holder)) is changing the store at \(root); try again when it has finished"
        case let .locked(root, nil): "another edgelm process is changing the store at \(root); try again when it has finished"
        case let .notFound(name, version?): "\(name):\(version) is not in the store"
        case let .notFound(name, nil): "no version of \(name) is in the store"
        case let .alreadyExists(name, version): "\(name):\(version) is already in the store (choose another --version)"
        case let .duplicateContent(name, version): "this model is already in the store as \(name):\(version)"
        case let .activeVersion(name, version):
            "\(name):\(version) is the active version; activate or roll back to another version before removing it"
        case let .notActive(name): "\(name) has no active version"
        case let .nothingToRollBack(name, active): "\(name) has no version older than the active \(name):\(active) to roll back to"
        case let .insufficientSpace(path, needed, available):
            "not enough free space on \(path): \(needed) bytes needed, \(available) available"
        case let .unrecognizedInput(path): "\(path) is neither a GGUF file nor a zstd archive (.gguf.zst)"
        case let .notGGUF(path, reason): "\(path) does not hold a valid GGUF model: \(reason)"
        case let .damaged(path, reason): "\(path) is damaged: \(reason)"
        case let .archive(path, error): "\(path): \(error)"
        case let .outputExists(path): "\(path) already exists; remove it or choose another --out"
        case let .trialPending(name, candidate):
            "\(name):\(candidate) is still being checked; wait for its health check to commit or roll back"
        case let .alreadyActive(name, version): "\(name):\(version) is already the active version"
        case let .noTrial(name): "\(name) has no version on trial"
        }
    }
}

/// A model name and version as they appear in paths. Both come from users (arguments, file
/// names, manifests on disk), so they are checked before any path is built from them.
public enum ModelID {
    public static let maxVersion = 999_999_999

    /// `[a-z0-9][a-z0-9._-]{0,63}`: no separators, no `..`, nothing that needs quoting.
    public static func validate(name: String) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw StoreError.badName(name, reason: "it is empty") }
        guard bytes.count <= 64 else { throw StoreError.badName(name, reason: "it is longer than 64 characters") }
        func isAlnum(_ b: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) }
        guard isAlnum(bytes[0]) else { throw StoreError.badName(name, reason: "it must start with a lowercase letter or a digit") }
        let allowed: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-")]
        if let bad = bytes.first(where: { !isAlnum($0) && !allowed.contains($0) }) {
            let shown = bad < 0x80 ? String(UnicodeScalar(bad)) : "non-ASCII"
            throw StoreError.badName(name, reason: "it contains \(String(reflecting: shown))")
        }
    }

    public static func validate(version: Int) throws {
        guard (1...maxVersion).contains(version) else { throw StoreError.badVersion(String(version)) }
    }

    /// A version as written by a user or in a file name: digits only, no sign, no leading zero
    /// (so each version has exactly one spelling on disk).
    public static func parseVersion(_ text: String) throws -> Int {
        guard !text.isEmpty, text.count <= 9, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              !text.hasPrefix("0"), let v = Int(text) else { throw StoreError.badVersion(text) }
        return v
    }

    /// `NAME:VERSION`, as the command line takes it.
    public static func parse(_ text: String) throws -> (name: String, version: Int) {
        guard let colon = text.lastIndex(of: ":") else { throw StoreError.badReference(text) }
        let name = String(text[..<colon])
        try validate(name: name)
        return (name, try parseVersion(String(text[text.index(after: colon)...])))
    }
}
