import Foundation
import Glibc

/// Everything edgelmd can be told, with its defaults. Read from a YAML file, then environment
/// variables (`EDGELM_SLOTS=2`), then flags, each overriding the one before.
public struct DaemonConfiguration: Sendable, Equatable {
    public struct ModelFile: Sendable, Equatable {
        public var path: String
        public var name: String?

        public init(path: String, name: String? = nil) {
            self.path = path
            self.name = name
        }
    }

    public struct AccessRule: Sendable, Equatable {
        public var models: [String]
        public var users: [String]
        public var groups: [String]
    }

    public var socket = "/run/edgelm/edgelm.sock"
    public var socketMode: mode_t = 0o660
    public var modelDir: String? = "/var/lib/edgelm/models"
    /// A model store (`edgelm pull`, `edgelm import`): its active versions are served and the
    /// administrative routes switch between its versions.
    public var store: String?
    public var models: [ModelFile] = []
    public var defaultModel: String?
    public var threads = 0
    public var slots = 4
    public var context = 4096
    public var queue = 16
    public var requestTimeout = 600
    /// Seconds an idle model stays loaded; negative: forever.
    public var keepAlive = 300
    public var memoryReserveMiB = 256
    public var maxConnections = 256
    public var idleTimeout = 60
    public var maxBodyBytes = 1 << 20
    public var shutdownGrace = 30
    public var logLevel = "info"
    public var logPrompts = false
    public var adminUsers: [String] = []
    public var adminGroups: [String] = []
    public var rules: [AccessRule] = []

    public init() {}

    /// Scalar keys, as written in the file; `EDGELM_` + the upper-cased key overrides each.
    static let scalarKeys = ["socket", "socket_mode", "model_dir", "store", "default_model", "threads", "slots", "context", "queue",
                             "request_timeout", "keep_alive", "memory_reserve_mib", "max_connections", "idle_timeout",
                             "max_body_bytes", "shutdown_grace", "log_level", "log_prompts"]
    static let allKeys = Set(scalarKeys + ["models", "access"])

    /// Sets one scalar key from text (a file value, an environment variable or a flag).
    public mutating func set(_ key: String, _ text: String, source: String) throws(ConfigurationError) {
        func int(_ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
                throw .badValue(key: key, value: text, expected: "an integer in \(range.lowerBound)...\(range.upperBound)", source: source)
            }
            return v
        }
        switch key {
        case "socket":
            guard text.hasPrefix("/"), text.utf8.count < 108 else {
                throw .badValue(key: key, value: text, expected: "an absolute path shorter than 108 bytes", source: source)
            }
            socket = text
        case "socket_mode":
            guard let v = mode_t(text, radix: 8), v <= 0o777 else {
                throw .badValue(key: key, value: text, expected: "an octal mode such as \"0660\"", source: source)
            }
            socketMode = v
        case "model_dir": modelDir = text.isEmpty ? nil : text
        case "store":
            guard text.isEmpty || text.hasPrefix("/") else {
                throw .badValue(key: key, value: text, expected: "an absolute path", source: source)
            }
            store = text.isEmpty ? nil : text
        case "default_model": defaultModel = text.isEmpty ? nil : text
        case "threads": threads = try int(0...1024)
        case "slots": slots = try int(1...64)
        case "context": context = try int(16...1 << 20)
        case "queue": queue = try int(0...100_000)
        case "request_timeout": requestTimeout = try int(1...86400)
        case "keep_alive": keepAlive = try int(-1...31_536_000)
        case "memory_reserve_mib": memoryReserveMiB = try int(0...1 << 20)
        case "max_connections": maxConnections = try int(1...100_000)
        case "idle_timeout": idleTimeout = try int(1...86400)
        case "max_body_bytes": maxBodyBytes = try int(1024...1 << 30)
        case "shutdown_grace": shutdownGrace = try int(0...3600)
        case "log_level":
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(text) else {
                throw .badValue(key: key, value: text, expected: "one of \(levels.joined(separator: ", "))", source: source)
            }
            logLevel = text
        case "log_prompts":
            switch text.lowercased() {
            case "true", "yes", "1", "on": logPrompts = true
            case "false", "no", "0", "off": logPrompts = false
            default: throw .badValue(key: key, value: text, expected: "true or false", source: source)
            }
        default:
            throw .unknownKey(key: key, source: source)
        }
    }

    /// Applies `EDGELM_<KEY>` variables.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        for key in Self.scalarKeys {
            let name = "EDGELM_" + key.uppercased()
            if let value = environment[name] { try set(key, value, source: "environment variable \(name)") }
        }
    }
}

public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unknownKey(key: String, source: String)
    case badValue(key: String, value: String, expected: String, source: String)
    case unknownAccount(key: String, name: String, source: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .malformed(path, reason): "\(path) is not valid YAML: \(reason)"
        case let .unknownKey(key, source): "\(source): unknown key '\(key)' (known: \(DaemonConfiguration.allKeys.sorted().joined(separator: ", ")))"
        case let .badValue(key, value, expected, source): "\(source): key '\(key)' = \"\(value)\": expected \(expected)"
        case let .unknownAccount(key, name, source): "\(source): key '\(key)': no user or group named \"\(name)\""
        }
    }
}
