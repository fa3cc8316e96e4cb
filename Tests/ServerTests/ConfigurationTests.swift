import Server
import XCTest

final class ConfigurationTests: XCTestCase {
    func testDefaultsWithoutAnyFile() throws {
        let c = try DaemonConfiguration.parse(yaml: "", source: "test")
        XCTAssertEqual(c, DaemonConfiguration())
        XCTAssertEqual(c.socket, "/run/edgelm/edgelm.sock")
        XCTAssertEqual(c.slots, 4)
        XCTAssertEqual(c.queue, 16)
        XCTAssertEqual(c.maxBodyBytes, 1 << 20)
    }

    func testShippedConfigurationParses() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Packaging/edgelmd.yaml").path
        let c = try DaemonConfiguration.load(path: path)
        XCTAssertEqual(c.socketMode, 0o660)
        XCTAssertEqual(c.modelDir, "/var/lib/edgelm/models")
        XCTAssertFalse(c.logPrompts)
    }

    func testValuesModelsAndAccess() throws {
        let yaml = """
            socket: /tmp/x.sock
            socket_mode: "0600"
            slots: 2
            keep_alive: -1
            log_prompts: true
            models:
              - /m/a.gguf
              - path: /m/b.gguf
                name: bee
            access:
              admin_groups: [root]
              rules:
                - models: ["*"]
                  users: [root, "1234"]
            """
        let c = try DaemonConfiguration.parse(yaml: yaml, source: "test")
        XCTAssertEqual(c.socket, "/tmp/x.sock")
        XCTAssertEqual(c.socketMode, 0o600)
        XCTAssertEqual(c.slots, 2)
        XCTAssertEqual(c.keepAlive, -1)
        XCTAssertTrue(c.logPrompts)
        XCTAssertEqual(c.models, [.init(path: "/m/a.gguf"), .init(path: "/m/b.gguf", name: "bee")])
        let policy = try c.accessPolicy(source: "test")
        XCTAssertEqual(policy.rules.count, 1)
        XCTAssertEqual(policy.rules[0].uids, [0, 1234])
        XCTAssertEqual(policy.adminGIDs, [0])
    }

    func testErrorsNameTheKey() {
        let cases: [(String, String)] = [
            ("slots: many", "'slots'"),
            ("slots: 0", "'slots'"),
            ("slotz: 2", "unknown key 'slotz'"),
            ("socket: relative.sock", "'socket'"),
            ("socket_mode: rw", "'socket_mode'"),
            ("log_level: loud", "'log_level'"),
            ("log_prompts: maybe", "'log_prompts'"),
            ("models: /one.gguf", "'models'"),
            ("models:\n  - path: rel.gguf", "'models[0].path'"),
            ("models:\n  - path: /a.gguf\n    size: 3", "unknown key 'models[0].size'"),
            ("access:\n  rules:\n    - users: [root]", "'access.rules[0].models'"),
            ("access:\n  admins: [root]", "unknown key 'access.admins'"),
            ("- just\n- a list", "mapping"),
            ("slots: [1, 2]", "'slots'"),
            ("key: \"unterminated", "not valid YAML"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try DaemonConfiguration.parse(yaml: yaml, source: "edgelmd.yaml"), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml) → \(error)")
                XCTAssertTrue("\(error)".contains("edgelmd.yaml"), "\(error)")
            }
        }
    }

    func testUnknownAccountsAreRefused() throws {
        let c = try DaemonConfiguration.parse(yaml: "access:\n  rules:\n    - models: ['*']\n      groups: [no-such-group-xyz]", source: "t")
        XCTAssertThrowsError(try c.accessPolicy(source: "t")) { XCTAssertTrue("\($0)".contains("no-such-group-xyz"), "\($0)") }
    }

    func testEnvironmentOverridesTheFile() throws {
        var c = try DaemonConfiguration.parse(yaml: "slots: 2\nqueue: 3", source: "t")
        try c.applyEnvironment(["EDGELM_SLOTS": "6", "EDGELM_MODELS": "/not/a/config/key"])
        XCTAssertEqual(c.slots, 6)
        XCTAssertEqual(c.queue, 3)
        XCTAssertThrowsError(try c.applyEnvironment(["EDGELM_QUEUE": "-1"])) {
            XCTAssertTrue("\($0)".contains("EDGELM_QUEUE"), "\($0)")
        }
    }
}
