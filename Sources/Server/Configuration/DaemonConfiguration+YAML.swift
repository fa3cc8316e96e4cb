import Foundation
import Glibc
import Yams

extension DaemonConfiguration {
    /// Largest configuration file read (anything bigger is not a configuration).
    static let maxFileBytes = 1 << 20

    /// Reads a YAML file over the defaults, refusing unknown keys and values of the wrong type.
    public static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        let text: String
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? Int, size > maxFileBytes {
                throw ConfigurationError.unreadable(path: path, reason: "\(size) bytes is more than the \(maxFileBytes) allowed")
            }
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch let e as ConfigurationError {
            throw e
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        return try parse(yaml: text, source: path)
    }

    public static func parse(yaml text: String, source: String) throws(ConfigurationError) -> DaemonConfiguration {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch { throw .malformed(path: source, reason: "\(error)") }
        var config = DaemonConfiguration()
        guard let node else { return config }  // an empty file: all defaults
        guard let map = node as? [String: Any] else {
            throw .malformed(path: source, reason: "the top level must be a mapping of keys to values")
        }
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "models": config.models = try modelFiles(value, source: source)
            case "access": try config.readAccess(value, source: source)
            default:
                guard scalarKeys.contains(key) else { throw .unknownKey(key: key, source: source) }
                guard let text = scalarText(value) else {
                    throw .badValue(key: key, value: "\(value)", expected: "a single value", source: source)
                }
                try config.set(key, text, source: source)
            }
        }
        return config
    }

    static func scalarText(_ value: Any) -> String? {
        switch value {
        case let s as String: s
        case let b as Bool: b ? "true" : "false"
        case let i as Int: String(i)
        case let d as Double: d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        default: nil
        }
    }

    static func modelFiles(_ value: Any, source: String) throws(ConfigurationError) -> [ModelFile] {
        guard let list = value as? [Any] else {
            throw .badValue(key: "models", value: "\(value)", expected: "a list of {path, name}", source: source)
        }
        var files: [ModelFile] = []
        for (i, item) in list.enumerated() {
            let key = "models[\(i)]"
            if let path = item as? String { files.append(ModelFile(path: path)); continue }
            guard let entry = item as? [String: Any] else {
                throw .badValue(key: key, value: "\(item)", expected: "a path or {path, name}", source: source)
            }
            for k in entry.keys where k != "path" && k != "name" { throw .unknownKey(key: "\(key).\(k)", source: source) }
            guard let path = entry["path"] as? String, path.hasPrefix("/") else {
                throw .badValue(key: "\(key).path", value: "\(entry["path"] ?? "nothing")", expected: "an absolute path", source: source)
            }
            if let n = entry["name"], !(n is String) {
                throw .badValue(key: "\(key).name", value: "\(n)", expected: "a string", source: source)
            }
            files.append(ModelFile(path: path, name: entry["name"] as? String))
        }
        return files
    }

    mutating func readAccess(_ value: Any, source: String) throws(ConfigurationError) {
        guard let map = value as? [String: Any] else {
            throw .badValue(key: "access", value: "\(value)", expected: "a mapping", source: source)
        }
        func names(_ key: String, _ v: Any?) throws(ConfigurationError) -> [String] {
            guard let v else { return [] }
            if let list = v as? [Any] {
                return try list.map { item throws(ConfigurationError) in
                    guard let s = Self.scalarText(item) else {
                        throw .badValue(key: key, value: "\(item)", expected: "a user or group name or id", source: source)
                    }
                    return s
                }
            }
            throw .badValue(key: key, value: "\(v)", expected: "a list of names", source: source)
        }
        for k in map.keys where !["admin_users", "admin_groups", "rules"].contains(k) {
            throw .unknownKey(key: "access.\(k)", source: source)
        }
        adminUsers = try names("access.admin_users", map["admin_users"])
        adminGroups = try names("access.admin_groups", map["admin_groups"])
        guard let ruleList = map["rules"] else { return }
        guard let list = ruleList as? [Any] else {
            throw .badValue(key: "access.rules", value: "\(ruleList)", expected: "a list of rules", source: source)
        }
        rules = []
        for (i, item) in list.enumerated() {
            let key = "access.rules[\(i)]"
            guard let rule = item as? [String: Any] else {
                throw .badValue(key: key, value: "\(item)", expected: "{models, users, groups}", source: source)
            }
            for k in rule.keys where !["models", "users", "groups"].contains(k) { throw .unknownKey(key: "\(key).\(k)", source: source) }
            let models = try names("\(key).models", rule["models"])
            guard !models.isEmpty else {
                throw .badValue(key: "\(key).models", value: "[]", expected: "model names or \"*\"", source: source)
            }
            rules.append(AccessRule(models: models, users: try names("\(key).users", rule["users"]),
                                    groups: try names("\(key).groups", rule["groups"])))
        }
    }

    /// The access policy with user and group names resolved to ids (an unknown name is an error).
    public func accessPolicy(source: String) throws(ConfigurationError) -> AccessPolicy {
        func uid(_ key: String, _ name: String) throws(ConfigurationError) -> UInt32 {
            if let id = UInt32(name) { return id }
            guard let pw = getpwnam(name) else { throw .unknownAccount(key: key, name: name, source: source) }
            return pw.pointee.pw_uid
        }
        func gid(_ key: String, _ name: String) throws(ConfigurationError) -> UInt32 {
            if let id = UInt32(name) { return id }
            guard let gr = getgrnam(name) else { throw .unknownAccount(key: key, name: name, source: source) }
            return gr.pointee.gr_gid
        }
        var policy = AccessPolicy()
        for u in adminUsers { policy.adminUIDs.insert(try uid("access.admin_users", u)) }
        for g in adminGroups { policy.adminGIDs.insert(try gid("access.admin_groups", g)) }
        for (i, r) in rules.enumerated() {
            var uids = Set<UInt32>(), gids = Set<UInt32>()
            for u in r.users { uids.insert(try uid("access.rules[\(i)].users", u)) }
            for g in r.groups { gids.insert(try gid("access.rules[\(i)].groups", g)) }
            let who = (r.users.map { "user \($0)" } + r.groups.map { "group \($0)" }).joined(separator: ", ")
            policy.rules.append(.init(models: r.models, uids: uids, gids: gids,
                                      label: "access.rules[\(i)] (\(r.models.joined(separator: ", ")) for \(who.isEmpty ? "nobody" : who))"))
        }
        return policy
    }
}
