import Glibc

/// Who may use which model and who may call administrative routes, decided from the peer's
/// kernel-reported credentials. Names in the configuration are resolved to ids at load time.
public struct AccessPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        /// Model names, or "*" for all.
        public var models: [String]
        public var uids: Set<UInt32>
        public var gids: Set<UInt32>
        /// How the rule reads in the configuration, for refusals.
        public var label: String

        public init(models: [String], uids: Set<UInt32>, gids: Set<UInt32>, label: String) {
            self.models = models
            self.uids = uids
            self.gids = gids
            self.label = label
        }

        func matches(_ peer: PeerCredentials, groups: Set<UInt32>) -> Bool {
            uids.contains(peer.uid) || !gids.isDisjoint(with: groups)
        }

        func covers(_ model: String) -> Bool { models.contains("*") || models.contains(model) }
    }

    /// Empty: every peer that can open the socket may use every model.
    public var rules: [Rule] = []
    public var adminUIDs: Set<UInt32> = []
    public var adminGIDs: Set<UInt32> = []

    public init(rules: [Rule] = [], adminUIDs: Set<UInt32> = [], adminGIDs: Set<UInt32> = []) {
        self.rules = rules
        self.adminUIDs = adminUIDs
        self.adminGIDs = adminGIDs
    }

    /// nil if allowed, else why not.
    public func refusal(model: String, peer: PeerCredentials?) -> String? {
        guard !rules.isEmpty else { return nil }
        guard let peer else { return "the peer's credentials are unknown and access rules are configured" }
        if peer.uid == 0 || peer.uid == getuid() { return nil }
        let groups = peer.groups
        if rules.contains(where: { $0.covers(model) && $0.matches(peer, groups: groups) }) { return nil }
        let covering = rules.filter { $0.covers(model) }.map(\.label)
        return covering.isEmpty
            ? "no access rule allows model \(model)"
            : "\(peer) is not allowed to use model \(model) by rule \(covering.joined(separator: " or "))"
    }

    /// Administrative routes: root, the daemon's own user, or listed admin users and groups.
    public func adminRefusal(peer: PeerCredentials?) -> String? {
        guard let peer else { return "the peer's credentials are unknown" }
        if peer.uid == 0 || peer.uid == getuid() || adminUIDs.contains(peer.uid) { return nil }
        if !adminGIDs.isDisjoint(with: peer.groups) { return nil }
        return "\(peer) may not call administrative routes (access.admin_users / access.admin_groups)"
    }
}
