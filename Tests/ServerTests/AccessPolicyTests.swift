import Server
import XCTest

final class AccessPolicyTests: XCTestCase {
    let alice = PeerCredentials(pid: 10, uid: 5001, gid: 5001)

    func testWithoutRulesEveryPeerMayUseEveryModel() {
        XCTAssertNil(AccessPolicy().refusal(model: "any", peer: alice))
    }

    func testRulesByUserAndModel() {
        let policy = AccessPolicy(rules: [.init(models: ["small"], uids: [5001], gids: [], label: "rules[0]")])
        XCTAssertNil(policy.refusal(model: "small", peer: alice))
        let refusal = policy.refusal(model: "big", peer: alice)
        XCTAssertEqual(refusal, "no access rule allows model big")
        let bob = PeerCredentials(pid: 11, uid: 5002, gid: 5002)
        XCTAssertTrue(policy.refusal(model: "small", peer: bob)?.contains("rules[0]") ?? false)
        XCTAssertNotNil(policy.refusal(model: "small", peer: nil), "unknown credentials are refused when rules exist")
    }

    func testWildcardAndGroups() {
        let policy = AccessPolicy(rules: [.init(models: ["*"], uids: [], gids: [5001], label: "rules[0]")])
        XCTAssertNil(policy.refusal(model: "anything", peer: alice))
    }

    func testAdministrativeRoutes() {
        XCTAssertNil(AccessPolicy().adminRefusal(peer: PeerCredentials(pid: 1, uid: 0, gid: 0)))
        XCTAssertNotNil(AccessPolicy().adminRefusal(peer: alice))
        XCTAssertNil(AccessPolicy(adminUIDs: [5001]).adminRefusal(peer: alice))
        XCTAssertNil(AccessPolicy(adminGIDs: [5001]).adminRefusal(peer: alice))
        XCTAssertNotNil(AccessPolicy().adminRefusal(peer: nil))
    }
}
