#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelStore

/// A real nginx serving a directory on a free loopback port, for the download and pull tests.
final class NginxServer {
    let process = Process()
    let prefix: URL
    let port: UInt16
    var accessLog: URL { prefix.appendingPathComponent("access.log") }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static let binary = "/usr/sbin/nginx"

    /// `directives` go into the server block (e.g. `max_ranges 0;`, a server that ignores Range).
    init(root: URL, prefix: URL, directives: String = "") throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw XCTSkip("nginx is not installed at \(Self.binary) (make setup installs nginx-light); skipping the tests that need a real HTTP server")
        }
        self.prefix = prefix
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        port = try freePort()
        let p = prefix.path
        let conf = """
        daemon off;
        master_process off;
        pid \(p)/nginx.pid;
        error_log \(p)/error.log;
        events {}
        http {
            access_log \(p)/access.log;
            client_body_temp_path \(p)/body;
            proxy_temp_path \(p)/proxy;
            server {
                listen 127.0.0.1:\(port);
                root \(root.path);
                \(directives)
            }
        }
        """
        let confURL = prefix.appendingPathComponent("nginx.conf")
        try conf.write(to: confURL, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-c", confURL.path, "-p", p + "/"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date() + 10
        while !canConnect(port) {
            guard process.isRunning, Date() < deadline else {
                let log = (try? String(contentsOf: prefix.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
                stop()
                throw XCTSkip("nginx did not start: \(log)")
            }
            usleep(20_000)
        }
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// Request lines nginx logged so far.
    func requests() -> [String] {
        let text = (try? String(contentsOf: accessLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let q1 = line.firstIndex(of: "\"") else { return nil }
            let rest = line[line.index(after: q1)...]
            guard let q2 = rest.firstIndex(of: "\"") else { return nil }
            return String(rest[..<q2])
        }
    }
}

func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw FileSystemError("bind", "127.0.0.1:0") }
    return UInt16(bigEndian: addr.sin_port)
}

func canConnect(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = port.bigEndian
    return withUnsafePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A TCP listener on a free port that misbehaves: it never accepts (the kernel completes the
/// handshake, no byte ever comes back), or accepts and sends headers and a few bytes, then stops.
final class StallingServer: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private var clients: [Int32] = []
    private let lock = NSLock()

    init(sendHeaders: Bool) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok, listen(fd, 8) == 0 else { throw FileSystemError("listen", "127.0.0.1:0") }
        port = UInt16(bigEndian: addr.sin_port)
        if sendHeaders {
            Thread { [self] in
                let c = accept(fd, nil, nil)
                guard c >= 0 else { return }
                lock.withLock { clients.append(c) }
                var buf = [UInt8](repeating: 0, count: 4096)
                _ = read(c, &buf, buf.count)
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nETag: \"x\"\r\n\r\nsome bytes"
                _ = head.withCString { write(c, $0, strlen($0)) }
            }.start()
        }
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        lock.withLock { for c in clients { Glibc.close(c) } }
    }
}
