import Foundation
import Glibc
import Server
import Systemd
import XCTest

/// The notify protocol against a test-owned NOTIFY_SOCKET, and the socket-file rules.
final class SystemdTests: XCTestCase {
    func testNotificationsReachTheTestSocket() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(getpid()).sock").path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)

        XCTAssertFalse(Notifier.notify(.ready), "no manager: a no-op")
        setenv("NOTIFY_SOCKET", path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        XCTAssertTrue(Notifier.isActive)
        XCTAssertTrue(Notifier.notify(.status("loading\nmodel"), .extendTimeout(microseconds: 5_000_000)))
        XCTAssertTrue(Notifier.notify(.ready))
        var buffer = [UInt8](repeating: 0, count: 512)
        let n1 = recv(fd, &buffer, buffer.count, 0)
        XCTAssertEqual(String(decoding: buffer[..<n1], as: UTF8.self), "STATUS=loading model\nEXTEND_TIMEOUT_USEC=5000000")
        let n2 = recv(fd, &buffer, buffer.count, 0)
        XCTAssertEqual(String(decoding: buffer[..<n2], as: UTF8.self), "READY=1")
    }

    func testWatchdogFollowsTheEnvironment() {
        unsetenv("WATCHDOG_USEC")
        XCTAssertNil(Watchdog.timeout)
        setenv("WATCHDOG_USEC", "3000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        defer { unsetenv("WATCHDOG_USEC"); unsetenv("WATCHDOG_PID") }
        XCTAssertEqual(Watchdog.timeout, .seconds(3))
        XCTAssertEqual(Watchdog.pingInterval, .milliseconds(1500))
        setenv("WATCHDOG_PID", "1", 1)
        XCTAssertNil(Watchdog.timeout, "a watchdog meant for another process")
    }

    func testNoInheritedSocketsWithoutListenFDs() {
        unsetenv("LISTEN_FDS")
        XCTAssertEqual(ListenSockets.take(), [])
    }

    func testStaleSocketRules() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sock-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A regular file is never removed.
        let file = dir + "/file.sock"
        FileManager.default.createFile(atPath: file, contents: Data("keep".utf8))
        XCTAssertThrowsError(try UnixListener.removeStaleSocket(at: file)) {
            XCTAssertEqual($0 as? ListenerError, .notASocket(path: file))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
        // A symlink is not followed, even to a socket.
        let link = dir + "/link.sock"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file)
        XCTAssertThrowsError(try UnixListener.removeStaleSocket(at: link))
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
        // Nothing there: nothing to do.
        XCTAssertNoThrow(try UnixListener.removeStaleSocket(at: dir + "/absent.sock"))
    }

    func testJournalFieldNames() {
        XCTAssertEqual(JournalFields.name("request.id"), "REQUEST_ID")
        XCTAssertEqual(JournalFields.name("_private"), "PRIVATE")
        XCTAssertNil(JournalFields.name("9lives"))
        XCTAssertNil(JournalFields.name(""))
    }
}
