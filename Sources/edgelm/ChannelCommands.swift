import ArgumentParser
import Foundation
import ModelStore

/// `edgelm keygen`: Ed25519 key pairs for a channel's roles.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Write Ed25519 key pairs (NAME.key, NAME.pub) for signing channel metadata.",
        discussion: "By default writes root.key/root.pub and signing.key/signing.pub. Keep the root key offline.")

    @Option(help: ArgumentHelp("Where to write the keys.", valueName: "dir")) var out: String
    @Option(name: .customLong("name"), help: "Key pair names (repeatable; default: root and signing).") var names: [String] = []

    func validate() throws {
        for n in names where n.isEmpty || n.contains("/") || n.hasPrefix(".") {
            throw ValidationError("--name must be a plain file name, got \(String(reflecting: n))")
        }
    }

    func run() throws {
        try reportingErrors {
            let dir = URL(fileURLWithPath: out)
            for name in names.isEmpty ? ["root", "signing"] : names {
                let key = SigningKey()
                try key.write(to: dir, name: name)
                print("\(dir.appendingPathComponent(name).path).{key,pub} \(key.publicKey.id)")
            }
        }
    }
}

/// `edgelm publish`: signs the channel's targets (every archive `edgelm pack` wrote there), and
/// creates the channel's first root when it has none.
struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish", abstract: "Sign a channel directory's metadata (targets.json; root.json on first use).")

    @Argument(help: "The channel directory (what a static HTTP server serves).") var channel: String
    @Option(help: ArgumentHelp("The targets signing key.", valueName: "file")) var key: String
    @Option(help: ArgumentHelp("How long the metadata stays valid: Nd or Nh.", valueName: "duration")) var expires: String = "30d"
    @Option(name: .customLong("root-key"), help: ArgumentHelp("Root private keys, to create the first root (repeatable).", valueName: "file"))
    var rootKeys: [String] = []
    @Option(name: .customLong("root-threshold"), help: "Root signatures required (default: all root keys).") var rootThreshold: Int?
    @Option(name: .customLong("root-expires"), help: ArgumentHelp("Validity of a new root: Nd or Nh.", valueName: "duration"))
    var rootExpires: String = "365d"
    @Option(name: .customLong("min-runtime"), help: "The lowest edgelm version that runs these models.") var minRuntime: String = "0.1.0"
    @Option(name: .customLong("health-prompt"), help: "Prompt of the health check a device runs before committing a new version (for every model of this publish).")
    var healthPrompt: String?
    @Option(name: .customLong("health-expect"), help: "Text the health check's greedy answer must contain.") var healthExpect: String?
    @Option(help: "Percentage of devices offered the new versions.") var rollout: Int = 100

    static func duration(_ text: String, flag: String) throws -> TimeInterval {
        guard let unit = text.last, let n = Double(text.dropLast()), n > 0, n <= 3650 * 24 else {
            throw ValidationError("\(flag) expects Nd or Nh, got \(String(reflecting: text))")
        }
        switch unit {
        case "d": return n * 86400
        case "h": return n * 3600
        default: throw ValidationError("\(flag) expects Nd or Nh, got \(String(reflecting: text))")
        }
    }

    func validate() throws {
        _ = try Self.duration(expires, flag: "--expires")
        _ = try Self.duration(rootExpires, flag: "--root-expires")
        guard (0...100).contains(rollout) else { throw ValidationError("--rollout must be in 0...100") }
        guard RuntimeVersion(minRuntime) != nil else { throw ValidationError("--min-runtime expects MAJOR.MINOR.PATCH") }
        guard (healthPrompt == nil) == (healthExpect == nil) else { throw ValidationError("give both --health-prompt and --health-expect, or neither") }
    }

    func run() throws {
        try reportingErrors {
            let dir = URL(fileURLWithPath: channel)
            let signing = try SigningKey(file: URL(fileURLWithPath: key))
            let now = Date()
            if try ChannelPublisher.latestRoot(channel: dir) == nil {
                guard !rootKeys.isEmpty else {
                    throw ValidationError("the channel has no root yet: give --root-key (the root private keys) to create it")
                }
                let roots = try rootKeys.map { try SigningKey(file: URL(fileURLWithPath: $0)) }
                let threshold = rootThreshold ?? roots.count
                guard (1...roots.count).contains(threshold) else { throw ValidationError("--root-threshold must be in 1...\(roots.count)") }
                let root = RootMetadata(version: 1, expires: now + (try Self.duration(rootExpires, flag: "--root-expires")),
                                        rootKeys: roots.map(\.publicKey), rootThreshold: threshold,
                                        targetKeys: [signing.publicKey], targetThreshold: 1)
                try ChannelPublisher.writeRoot(root, signers: roots, channel: dir)
                print("root version 1: \(roots.count) root key\(roots.count == 1 ? "" : "s"), threshold \(threshold)")
            }
            let health = healthPrompt.map { ChannelModel.HealthCheck(prompt: $0, expect: healthExpect ?? "") }
            // Weights are mapped; the rest (KV cache for a 4096 context, scratch) is allowed for by
            // a tenth of the file and 64 MiB.
            let deltas = try ChannelPublisher.deltaDescriptors(in: dir)
            let models = try ChannelPublisher.descriptors(in: dir).map {
                ChannelPublisher.model($0, deltas: deltas, memoryBytes: $0.ggufSize + $0.ggufSize / 10 + 64 << 20,
                                       minRuntime: minRuntime, health: health, rollout: rollout)
            }
            let t = try ChannelPublisher.publish(channel: dir, models: models, keys: [signing],
                                                 expires: now + (try Self.duration(expires, flag: "--expires")))
            let listed = models.map { "\($0.name):\($0.version)" + ($0.deltas.isEmpty ? "" : " (+\($0.deltas.count) delta\($0.deltas.count == 1 ? "" : "s"))") }
            print("targets version \(t.version): \(listed.joined(separator: ", "))")
        }
    }
}
