import Server
import XCTest

final class RegistryTests: XCTestCase {
    func testResolveByNameTagAndDefault() throws {
        let r = ModelRegistry(sources: [.init(name: "a", path: "/a.gguf"), .init(name: "b", path: "/b.gguf")])
        XCTAssertEqual(r.defaultName, "a")
        XCTAssertEqual(try r.resolve(nil).name, "a")
        XCTAssertEqual(try r.resolve("").name, "a")
        XCTAssertEqual(try r.resolve("b").name, "b")
        XCTAssertEqual(try r.resolve("b:latest").name, "b")
        XCTAssertThrowsError(try r.resolve("c")) { error in
            XCTAssertEqual(error as? EngineError, .unknownModel("c", available: ["a", "b"]))
        }
    }

    func testEmptyRegistryMeansNoModelInstalled() {
        XCTAssertThrowsError(try ModelRegistry(sources: []).resolve("x")) {
            XCTAssertEqual($0 as? EngineError, .noModelInstalled)
            XCTAssertTrue("\($0)".contains("--model"))
        }
    }

    func testDiscoveryNamesFilesAndSkipsDuplicates() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["zeta.gguf", "alpha.gguf", "notes.txt"] {
            FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data())
        }
        let r = ModelRegistry.discover(files: [("/x/explicit.gguf", nil), ("/x/other.gguf", "alpha")],
                                       directory: dir.path, catalog: nil, defaultName: nil)
        XCTAssertEqual(r.names, ["explicit", "alpha", "zeta"])
        XCTAssertEqual(r.defaultName, "explicit")
        XCTAssertFalse(r.source(named: "explicit")!.inModelDirectory)
        XCTAssertTrue(r.source(named: "zeta")!.inModelDirectory)
    }
}
