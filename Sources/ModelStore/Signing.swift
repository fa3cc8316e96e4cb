import Crypto
import Foundation

/// An Ed25519 key pair as the publisher keeps it: `NAME.key` (private) and `NAME.pub` (public),
/// each one line of text naming its kind, so a public key is never taken for a private one.
public struct SigningKey: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey
    public var publicKey: PublicKey { PublicKey(privateKey.publicKey) }

    static let privateTag = "edgelm-ed25519-private"

    public init() { privateKey = Curve25519.Signing.PrivateKey() }

    public init(file: URL) throws {
        let raw = try KeyFile.read(file, tag: Self.privateTag)
        do {
            privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        } catch {
            throw MetadataError.badKeyFile(path: file.path, reason: "not a 32-byte Ed25519 private key")
        }
    }

    /// Writes `dir/name.key` (mode 0600) and `dir/name.pub`; never overwrites.
    public func write(to dir: URL, name: String) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try KeyFile.write(dir.appendingPathComponent("\(name).key"), tag: Self.privateTag, raw: privateKey.rawRepresentation, mode: 0o600)
        try publicKey.write(to: dir.appendingPathComponent("\(name).pub"))
    }

    public func sign(_ message: Data) throws -> Data { try privateKey.signature(for: message) }
}

public struct PublicKey: Sendable, Hashable {
    public let key: Curve25519.Signing.PublicKey
    static let tag = "edgelm-ed25519-public"

    init(_ key: Curve25519.Signing.PublicKey) { self.key = key }

    public init(file: URL) throws {
        let raw = try KeyFile.read(file, tag: Self.tag)
        try self.init(raw: raw, what: file.path)
    }

    init(raw: Data, what: String) throws {
        do {
            key = try Curve25519.Signing.PublicKey(rawRepresentation: raw)
        } catch {
            throw MetadataError.badKeyFile(path: what, reason: "not a 32-byte Ed25519 public key")
        }
    }

    /// SHA-256 of the raw key, in hex: how metadata names a key.
    public var id: String { SHA256.hash(data: key.rawRepresentation).map { String(format: "%02x", $0) }.joined() }
    public var base64: String { key.rawRepresentation.base64EncodedString() }

    public func write(to url: URL) throws { try KeyFile.write(url, tag: Self.tag, raw: key.rawRepresentation, mode: 0o644) }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { a.key.rawRepresentation == b.key.rawRepresentation }
    public func hash(into h: inout Hasher) { h.combine(key.rawRepresentation) }
}

enum KeyFile {
    static let maxBytes = 512

    static func read(_ url: URL, tag: String) throws -> Data {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw MetadataError.badKeyFile(path: url.path, reason: "cannot be read")
        }
        guard data.count <= maxBytes, let text = String(data: data, encoding: .utf8) else {
            throw MetadataError.badKeyFile(path: url.path, reason: "not a key file")
        }
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard parts.count == 2, parts[0] == tag, let raw = Data(base64Encoded: String(parts[1])) else {
            throw MetadataError.badKeyFile(path: url.path, reason: "expected one line \"\(tag) <base64>\"")
        }
        return raw
    }

    static func write(_ url: URL, tag: String, raw: Data, mode: Int) throws {
        guard !FileManager.default.fileExists(atPath: url.path) else { throw MetadataError.exists(path: url.path) }
        let ok = FileManager.default.createFile(atPath: url.path, contents: Data("\(tag) \(raw.base64EncodedString())\n".utf8),
                                                attributes: [.posixPermissions: mode])
        guard ok else { throw MetadataError.badKeyFile(path: url.path, reason: "cannot be written") }
    }
}

/// A signed metadata file: the payload's exact bytes (base64) and signatures over them, so a
/// verifier never re-serialises JSON to check a signature.
public struct Envelope: Codable, Sendable {
    public struct Signature: Codable, Sendable, Equatable {
        public let keyid: String
        public let sig: String
    }

    public let payloadType: String
    public let payload: String
    public var signatures: [Signature]

    enum CodingKeys: String, CodingKey {
        case payloadType = "payload_type", payload, signatures
    }

    /// What is signed: a domain tag and the payload type in front of the payload, so a signature
    /// over one kind of metadata is never valid for another.
    static func message(type: String, payload: Data) -> Data {
        Data("edgelm-metadata-v1\n\(type)\n".utf8) + payload
    }

    init(payloadType: String, payload: String, signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    public init(type: String, payload: Data, keys: [SigningKey]) throws {
        payloadType = type
        self.payload = payload.base64EncodedString()
        let message = Self.message(type: type, payload: payload)
        signatures = try keys.map { Signature(keyid: $0.publicKey.id, sig: try $0.sign(message).base64EncodedString()) }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Parses an envelope of at most `maxBytes`, checking its shape before anything else.
    static func decode(_ data: Data, what: String, maxBytes: Int) throws -> (Envelope, Data) {
        guard data.count <= maxBytes else { throw MetadataError.tooLarge(what: what, size: data.count, cap: maxBytes) }
        let env: Envelope
        do {
            env = try JSONDecoder().decode(Envelope.self, from: data)
        } catch {
            throw MetadataError.malformed(what: what, reason: "not a signed envelope")
        }
        guard env.signatures.count <= 64, let payload = Data(base64Encoded: env.payload) else {
            throw MetadataError.malformed(what: what, reason: "bad payload or too many signatures")
        }
        return (env, payload)
    }

    /// The distinct keys among `trusted` that signed the payload validly.
    func validSigners(payload: Data, trusted: [String: PublicKey]) -> Set<String> {
        let message = Self.message(type: payloadType, payload: payload)
        var ok = Set<String>()
        for s in signatures {
            guard let key = trusted[s.keyid], let sig = Data(base64Encoded: s.sig) else { continue }
            if key.key.isValidSignature(sig, for: message) { ok.insert(s.keyid) }
        }
        return ok
    }
}
