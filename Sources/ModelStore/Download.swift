#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import Foundation
import NIOCore

/// Why a download failed, in words that name the URL and the numbers involved.
public enum DownloadError: Error, Equatable, Sendable, CustomStringConvertible {
    case badURL(String)
    case httpStatus(url: String, status: Int)
    case tooLarge(url: String, cap: UInt64, got: UInt64)
    case declaredTooLarge(url: String, cap: UInt64, declared: UInt64)
    case stalled(url: String, seconds: Double)
    case badRange(url: String, reason: String)
    case shortBody(url: String, expected: UInt64, got: UInt64)
    case mismatch(url: String, expectedSHA256: String, gotSHA256: String, expectedSize: UInt64, gotSize: UInt64)
    case transport(url: String, reason: String)

    public var description: String {
        switch self {
        case let .badURL(u): "not a valid http(s) URL: \(String(reflecting: u))"
        case let .httpStatus(url, status): "\(url): the server answered HTTP \(status)"
        case let .tooLarge(url, cap, got): "\(url): the server sent \(got) bytes or more, over the expected \(cap); download aborted"
        case let .declaredTooLarge(url, cap, declared):
            "\(url): the server announces \(declared) bytes, over the expected \(cap); refused before reading the body"
        case let .stalled(url, seconds): "\(url): download stalled (no bytes received for \(seconds) s)"
        case let .badRange(url, reason): "\(url): bad range response: \(reason)"
        case let .shortBody(url, expected, got): "\(url): the body ended after \(got) of \(expected) bytes"
        case let .mismatch(url, es, gs, ez, gz):
            "\(url): the downloaded file does not match the signed metadata: expected sha256 \(es) and \(ez) bytes, got sha256 \(gs) and \(gz) bytes; the partial file was deleted"
        case let .transport(url, reason): "\(url): \(reason)"
        }
    }
}

/// How far a download has come: `startOffset` is where this request began (non-zero when a
/// partial file was resumed), `bytes` what the file now holds, `total` the expected size.
public struct DownloadProgress: Sendable, Equatable {
    public let startOffset: UInt64
    public let bytes: UInt64
    public let total: UInt64
}

public struct DownloadResult: Sendable, Equatable {
    public let path: URL
    public let size: UInt64
    public let sha256: String
    /// Bytes received over the network by this call (less than `size` after a resume).
    public let fetched: UInt64
    /// Where the last request started.
    public let startOffset: UInt64
}

/// The validators saved beside a partial download, so a resume asks for the rest of the same file.
struct DownloadSidecar: Codable, Equatable {
    var url: String
    var etag: String?
    var lastModified: String?

    enum CodingKeys: String, CodingKey { case url, etag, lastModified = "last_modified" }

    var validator: String? { etag ?? lastModified }

    static func read(_ url: URL) -> DownloadSidecar? {
        guard let data = try? Data(contentsOf: url), data.count <= 4096 else { return nil }
        return try? JSONDecoder().decode(DownloadSidecar.self, from: data)
    }

    func write(_ url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        let f = try OpenFile.creating(temp.path, mode: 0o600)
        try f.writeAll(try encoder.encode(self))
        try f.sync()
        try FS.moveIntoPlace(temp, to: url)
    }
}

/// Downloads over HTTP(S) with AsyncHTTPClient into files the caller (the store) owns: resumable,
/// capped, stall-timed, optionally throttled, and verified by re-reading the file afterwards.
public struct Downloader: Sendable {
    public struct Options: Sendable {
        /// No byte for this long (waiting for headers or body) is an error naming the stall.
        public var stallTimeout: TimeInterval
        /// Bytes per second; nil for no limit.
        public var bandwidthLimit: UInt64?
        public var progress: (@Sendable (DownloadProgress) -> Void)?

        public init(stallTimeout: TimeInterval = 30, bandwidthLimit: UInt64? = nil,
                    progress: (@Sendable (DownloadProgress) -> Void)? = nil) {
            self.stallTimeout = stallTimeout
            self.bandwidthLimit = bandwidthLimit
            self.progress = progress
        }
    }

    public var options: Options

    public init(options: Options = .init()) { self.options = options }

    /// The sidecar holding the ETag / Last-Modified of a partial file.
    public static func sidecarURL(for partial: URL) -> URL {
        partial.deletingLastPathComponent().appendingPathComponent(partial.lastPathComponent + ".meta")
    }

    private func withClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        let ms = Int64(max(options.stallTimeout, 0.05) * 1000)
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .follow(max: 5, allowCycles: false)
        config.timeout = .init(connect: .milliseconds(max(ms, 10_000)), read: .milliseconds(ms))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func mapError(_ error: Error, url: String) -> Error {
        if error is DownloadError || error is FileSystemError || error is CancellationError { return error }
        if let e = error as? HTTPClientError {
            if e == .readTimeout || e == .deadlineExceeded { return DownloadError.stalled(url: url, seconds: options.stallTimeout) }
            return DownloadError.transport(url: url, reason: "\(e)")
        }
        return DownloadError.transport(url: url, reason: "\(error)")
    }

    static func checkURL(_ url: String) throws {
        guard let u = URL(string: url), let s = u.scheme?.lowercased(), s == "http" || s == "https", u.host != nil else {
            throw DownloadError.badURL(url)
        }
    }

    /// A small file (metadata), at most `cap` bytes; nil when the server answers 404 (or 403,
    /// which some static servers send for missing files).
    public func fetchSmall(_ url: String, cap: Int) async throws -> Data? {
        try Self.checkURL(url)
        do {
            return try await withClient { client in
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .hours(1))
                if response.status.code == 404 || response.status.code == 403 { return nil }
                guard response.status.code == 200 else { throw DownloadError.httpStatus(url: url, status: Int(response.status.code)) }
                if let declared = response.headers.first(name: "Content-Length").flatMap({ UInt64($0) }), declared > UInt64(cap) {
                    throw DownloadError.declaredTooLarge(url: url, cap: UInt64(cap), declared: declared)
                }
                var data = Data()
                for try await chunk in response.body {
                    guard data.count + chunk.readableBytes <= cap else {
                        throw DownloadError.tooLarge(url: url, cap: UInt64(cap), got: UInt64(data.count + chunk.readableBytes))
                    }
                    data.append(contentsOf: chunk.readableBytesView)
                }
                return data
            }
        } catch {
            throw mapError(error, url: url)
        }
    }

    /// Downloads `url` into `partial` (created if missing, resumed if it holds a prefix and its
    /// sidecar a validator), refusing more than `expectedSize` bytes, then re-reads the file and
    /// checks its size and SHA-256. A mismatch deletes the partial file and its sidecar.
    public func download(_ url: String, to partial: URL, expectedSize: UInt64, expectedSHA256: String) async throws -> DownloadResult {
        try Self.checkURL(url)
        let sidecarURL = Self.sidecarURL(for: partial)
        let file = try OpenFile(path: partial.path, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        guard file.isRegularFile else { throw FileSystemError("open (not a regular file)", partial.path, code: EINVAL) }

        var have = try file.size()
        let sidecar = DownloadSidecar.read(sidecarURL)
        // Only a prefix of the same URL with a validator can be resumed.
        if have > expectedSize || (have > 0 && (sidecar?.url != url || sidecar?.validator == nil)) {
            try Self.truncate(file)
            have = 0
        }

        var fetched: UInt64 = 0
        var start: UInt64 = 0
        if have < expectedSize {
            do {
                (start, fetched) = try await withClient { client in
                    try await fetchBody(client: client, url: url, file: file, have: have, sidecar: sidecar,
                                        sidecarURL: sidecarURL, cap: expectedSize)
                }
            } catch {
                throw mapError(error, url: url)
            }
        }

        try file.sync()
        let (size, sha) = try file.sha256()
        guard size == expectedSize, sha == expectedSHA256 else {
            _ = try? FS.remove(partial)
            _ = try? FS.remove(sidecarURL)
            throw DownloadError.mismatch(url: url, expectedSHA256: expectedSHA256, gotSHA256: sha, expectedSize: expectedSize, gotSize: size)
        }
        return DownloadResult(path: partial, size: size, sha256: sha, fetched: fetched, startOffset: start)
    }

    /// One request: a range from `have` when resumable, else the whole file. Returns where the
    /// body started in the file and the bytes received.
    private func fetchBody(client: HTTPClient, url: String, file: OpenFile, have: UInt64, sidecar: DownloadSidecar?,
                           sidecarURL: URL, cap: UInt64) async throws -> (UInt64, UInt64) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept-Encoding", value: "identity")
        let resuming = have > 0
        if resuming, let validator = sidecar?.validator {
            request.headers.add(name: "Range", value: "bytes=\(have)-")
            request.headers.add(name: "If-Range", value: validator)
        }
        let response = try await client.execute(request, timeout: .hours(24 * 7))
        let status = Int(response.status.code)
        let declared = response.headers.first(name: "Content-Length").flatMap { UInt64($0) }

        var offset: UInt64
        switch status {
        case 206 where resuming:
            // Content-Range: bytes FIRST-LAST/TOTAL; the body must start where the file ends.
            guard let range = response.headers.first(name: "Content-Range"), range.hasPrefix("bytes "),
                  let dash = range.firstIndex(of: "-"),
                  let first = UInt64(range[range.index(range.startIndex, offsetBy: 6)..<dash]) else {
                throw DownloadError.badRange(url: url, reason: "missing or malformed Content-Range")
            }
            guard first == have else { throw DownloadError.badRange(url: url, reason: "asked for bytes from \(have), got from \(first)") }
            if let declared, have + declared > cap { throw DownloadError.declaredTooLarge(url: url, cap: cap, declared: have + declared) }
            guard lseek(file.fd, off_t(have), SEEK_SET) == off_t(have) else { throw FileSystemError("seek", file.path) }
            offset = have
        case 200:
            // A full body: the first request, or a resume whose If-Range failed (the file changed).
            if let declared, declared > cap { throw DownloadError.declaredTooLarge(url: url, cap: cap, declared: declared) }
            try Self.truncate(file)
            try DownloadSidecar(url: url, etag: response.headers.first(name: "ETag"),
                                lastModified: response.headers.first(name: "Last-Modified")).write(sidecarURL)
            offset = 0
        case 416 where resuming:
            // The partial is not a prefix of what the server has now: start again from zero.
            try Self.truncate(file)
            _ = try? FS.remove(sidecarURL)
            return try await fetchBody(client: client, url: url, file: file, have: 0, sidecar: nil, sidecarURL: sidecarURL, cap: cap)
        default:
            throw DownloadError.httpStatus(url: url, status: status)
        }

        let start = offset
        var received: UInt64 = 0
        let began = ContinuousClock.now
        options.progress?(DownloadProgress(startOffset: start, bytes: offset, total: cap))
        for try await chunk in response.body {
            let n = UInt64(chunk.readableBytes)
            guard offset + n <= cap else { throw DownloadError.tooLarge(url: url, cap: cap, got: offset + n) }
            try chunk.withUnsafeReadableBytes { try file.writeAll($0) }
            if offset * 2 < cap && (offset + n) * 2 >= cap { Fault.point(.download) }
            offset += n
            received += n
            options.progress?(DownloadProgress(startOffset: start, bytes: offset, total: cap))
            if let limit = options.bandwidthLimit, limit > 0 {
                let due = Double(received) / Double(limit)
                let elapsed = began.duration(to: .now)
                let ahead = due - (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                if ahead > 0.001 { try await Task.sleep(nanoseconds: UInt64(ahead * 1e9)) }
            }
        }
        guard offset == cap else { throw DownloadError.shortBody(url: url, expected: cap, got: offset) }
        return (start, received)
    }

    static func truncate(_ file: OpenFile) throws {
        guard ftruncate(file.fd, 0) == 0 else { throw FileSystemError("truncate", file.path) }
        guard lseek(file.fd, 0, SEEK_SET) == 0 else { throw FileSystemError("seek", file.path) }
    }

    /// Size and SHA-256 of what the descriptor holds, read back with pread from offset 0.
}

/// Runs async work to completion from synchronous code (the CLI). Must not be called from a
/// thread the work itself needs (never from inside a Swift concurrency task).
public func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await operation()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// Written once by the task, read once after the semaphore: the semaphore orders the two.
private final class BlockingResult<T>: @unchecked Sendable { var result: Result<T, Error>? }
