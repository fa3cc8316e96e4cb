import Foundation
import ModelStore
import Yams

/// The update side's settings: `/etc/edgelm/edgelm.yaml` (or `--config FILE`), under the flags.
struct UpdateConfiguration: Equatable {
    static let defaultPath = "/etc/edgelm/edgelm.yaml"
    /// Largest configuration file read (anything bigger is not a configuration).
    static let maxFileBytes = 1 << 20

    var store: String?
    var channel: String?
    var trust: String?
    var models: [String] = []
    var deviceID: String?
    var memoryBudgetMB: UInt64?
    var stallTimeout: Double?
    var limitRate: UInt64?
    var daemonSocket = "/run/edgelm/edgelm.sock"

    static let keys = ["store", "channel", "trust", "models", "device_id", "memory_budget_mb", "stall_timeout",
                       "limit_rate", "daemon_socket"]

    /// The file at `path`; without an explicit path a missing default file means all defaults.
    static func load(explicitPath: String?) throws(UpdateConfigurationError) -> UpdateConfiguration {
        let path = explicitPath ?? defaultPath
        if explicitPath == nil, !FileManager.default.fileExists(atPath: path) { return UpdateConfiguration() }
        let text: String
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maxFileBytes {
                throw UpdateConfigurationError.unreadable(path: path, reason: "\(size) bytes is more than the \(maxFileBytes) allowed")
            }
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch let e as UpdateConfigurationError {
            throw e
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? error.localizedDescription : "no such file"
            throw .unreadable(path: path, reason: reason)
        }
        return try parse(yaml: text, source: path)
    }

    static func parse(yaml text: String, source: String) throws(UpdateConfigurationError) -> UpdateConfiguration {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw .malformed(path: source, reason: "\(error)") }
        var config = UpdateConfiguration()
        guard let root, !isNull(root) else { return config }  // an empty file: all defaults
        guard let map = root.mapping else {
            throw .malformed(path: source, reason: "the top level must be a mapping of keys to values")
        }
        for (keyNode, value) in map {
            guard let key = keyNode.scalar?.string, keys.contains(key) else {
                throw .unknownKey(key: keyNode.scalar?.string ?? "\(keyNode)", source: source)
            }
            try config.set(key, value, source: source)
        }
        return config
    }

    static func isNull(_ node: Node) -> Bool { node.null != nil }

    private mutating func set(_ key: String, _ node: Node, source: String) throws(UpdateConfigurationError) {
        func bad(_ value: String, _ expected: String) -> UpdateConfigurationError {
            .badValue(key: key, value: value, expected: expected, source: source)
        }
        if key == "models" {
            guard let list = node.sequence else { throw bad(Self.shown(node), "a list of model names") }
            var names: [String] = []
            for (i, item) in list.enumerated() {
                guard let name = item.scalar?.string, !Self.isNull(item) else {
                    throw .badValue(key: "models[\(i)]", value: Self.shown(item), expected: "a model name", source: source)
                }
                do { try ModelID.validate(name: name) } catch {
                    let reason = if case let StoreError.badName(_, r) = error { r } else { "\(error)" }
                    throw .badValue(key: "models[\(i)]", value: name, expected: "a model name (\(reason))", source: source)
                }
                guard !names.contains(name) else {
                    throw .badValue(key: "models[\(i)]", value: name, expected: "each model listed once", source: source)
                }
                names.append(name)
            }
            models = names
            return
        }
        guard let text = node.scalar?.string, !Self.isNull(node) else { throw bad(Self.shown(node), "a single value") }
        switch key {
        case "store", "daemon_socket":
            guard text.hasPrefix("/") else { throw bad(text, "an absolute path") }
            if key == "store" { store = text } else { daemonSocket = text }
        case "trust":
            guard !text.isEmpty else { throw bad(text, "the path of the trusted root.json") }
            trust = text
        case "channel":
            guard Self.isChannelURL(text) else { throw bad(text, "an http:// or https:// URL") }
            channel = text
        case "device_id":
            guard !text.isEmpty, text.count <= 256, !text.contains(where: \.isWhitespace) else {
                throw bad(text, "a non-empty id without spaces, at most 256 characters")
            }
            deviceID = text
        case "memory_budget_mb":
            guard let v = UInt64(text), v > 0 else { throw bad(text, "a whole number of MiB above 0") }
            memoryBudgetMB = v
        case "stall_timeout":
            guard let v = Double(text), v.isFinite, v > 0 else { throw bad(text, "a number of seconds above 0") }
            stallTimeout = v
        case "limit_rate":
            guard let v = UInt64(text), v > 0 else { throw bad(text, "a whole number of bytes per second above 0") }
            limitRate = v
        default:
            throw .unknownKey(key: key, source: source)
        }
    }

    /// A scalar as written, else a compact rendering of the node, for error messages.
    static func shown(_ node: Node) -> String {
        if isNull(node) { return "nothing" }
        if let s = node.scalar?.string { return s }
        return ((try? Yams.serialize(node: node)) ?? "\(node)").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func isChannelURL(_ text: String) -> Bool {
        guard let u = URL(string: text), let s = u.scheme?.lowercased(), s == "http" || s == "https",
              let host = u.host, !host.isEmpty else { return false }
        return true
    }
}

enum UpdateConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unknownKey(key: String, source: String)
    case badValue(key: String, value: String, expected: String, source: String)
    /// A setting that neither a flag nor the file gave.
    case missing(key: String, flag: String, source: String)

    var description: String {
        switch self {
        case let .unreadable(path, reason): "configuration \(path) cannot be read: \(reason)"
        case let .malformed(path, reason): "configuration \(path) is not valid YAML: \(reason)"
        case let .unknownKey(key, source):
            "\(source): unknown key \(String(reflecting: key)) (known: \(UpdateConfiguration.keys.joined(separator: ", ")))"
        case let .badValue(key, value, expected, source):
            "\(source): \(key): \(String(reflecting: value)) is not valid; expected \(expected)"
        case let .missing(key, flag, source): "no \(key): give \(flag) or set \(key) in \(source)"
        }
    }
}
