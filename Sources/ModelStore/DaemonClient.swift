#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import Foundation
import NIOCore

/// What edgelmd answered to an activation: the version now serving, or why it refused.
public struct DaemonActivation: Decodable, Sendable, Equatable, CustomStringConvertible {
    public let model: String
    public let version: Int
    public let previous: Int?
    public let status: String
    public let health: String
    /// Requests that were running when the switch happened; they finish on the previous file.
    public let finishing_on_previous: Int?

    public var description: String {
        var notes = ["health check: \(health)"]
        if let previous { notes.append("previous version \(previous)") }
        if let n = finishing_on_previous, n > 0 { notes.append("\(n) running request\(n == 1 ? "" : "s") finishing on it") }
        return "edgelmd serves \(model):\(version) (\(notes.joined(separator: "; ")))"
    }
}

/// One step of a pull, as the update service reports it to the daemon
/// (`POST /edgelm/v1/models/NAME/progress`).
public struct UpdateReport: Codable, Sendable, Equatable {
    /// checking, downloading, staged or failed.
    public var phase: String
    public var version: Int?
    public var bytes: UInt64?
    public var total: UInt64?
    public var message: String?

    public init(phase: String, version: Int? = nil, bytes: UInt64? = nil, total: UInt64? = nil, message: String? = nil) {
        self.phase = phase
        self.version = version
        self.bytes = bytes
        self.total = total
        self.message = message
    }
}

public enum DaemonClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The daemon refused; it keeps serving what it served before.
    case refused(status: Int, message: String)
    case unreachable(socket: String, reason: String)

    public var description: String {
        switch self {
        case let .refused(status, message): "edgelmd refused (HTTP \(status)): \(message)"
        case let .unreachable(socket, reason): "edgelmd is not reachable on \(socket): \(reason)"
        }
    }
}

/// Asks a running edgelmd, over its Unix socket, to switch a store model's version. The daemon
/// owns the switch (it maps the file and runs the health check); this side only waits for the verdict.
public struct DaemonClient: Sendable {
    public let socket: String

    public init(socket: String) { self.socket = socket }

    /// Whether something accepts connections on the socket (a stale socket file does not).
    public var isListening: Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socket.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }

    public func activate(_ name: String, version: Int) async throws -> DaemonActivation {
        try ModelID.validate(name: name)
        return try await post("/edgelm/v1/models/\(name)/activate", body: #"{"version":\#(version)}"#)
    }

    public func rollback(_ name: String) async throws -> DaemonActivation {
        try ModelID.validate(name: name)
        return try await post("/edgelm/v1/models/\(name)/rollback", body: "{}")
    }

    /// Tells the daemon how an update of `name` is going (its update events and metrics).
    public func report(_ name: String, _ progress: UpdateReport) async throws {
        try ModelID.validate(name: name)
        let body = String(decoding: try JSONEncoder().encode(progress), as: UTF8.self)
        _ = try await send("/edgelm/v1/models/\(name)/progress", body: body, timeout: .seconds(10))
    }

    private func post(_ path: String, body: String) async throws -> DaemonActivation {
        // Loading and checking a large model on a small board takes a while.
        let bytes = try await send(path, body: body, timeout: .minutes(30))
        do {
            return try JSONDecoder().decode(DaemonActivation.self, from: bytes)
        } catch {
            throw DaemonClientError.refused(status: 200, message: "unexpected answer: \(String(decoding: bytes.prefix(512), as: UTF8.self))")
        }
    }

    /// POSTs a JSON body; returns the body of a 200 answer, else throws what the daemon said.
    private func send(_ path: String, body: String, timeout: TimeAmount) async throws -> Data {
        guard let url = URL(httpURLWithSocketPath: socket, uri: path) else {
            throw DaemonClientError.unreachable(socket: socket, reason: "not a usable socket path")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let response: HTTPClientResponse
        let data: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            data = try await response.body.collect(upTo: 64 * 1024)
            try? await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw DaemonClientError.unreachable(socket: socket, reason: "\(error)")
        }
        let bytes = Data(data.readableBytesView)
        guard response.status == .ok else {
            struct Failure: Decodable { struct Detail: Decodable { let message: String }; let error: Detail }
            let message = (try? JSONDecoder().decode(Failure.self, from: bytes).error.message) ?? String(decoding: bytes.prefix(512), as: UTF8.self)
            throw DaemonClientError.refused(status: Int(response.status.code), message: message)
        }
        return bytes
    }
}
