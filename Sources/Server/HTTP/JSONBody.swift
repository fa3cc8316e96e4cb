import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// Reads the body (refusing more than `limit` bytes with 413) and decodes it, turning a decoding
    /// failure into a 400 that names the field and what was wrong with it.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "the request body exceeds \(limit) bytes", code: "body_too_large")
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; expected a JSON object") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest(Self.explain(error), param: Self.path(error))
        } catch {
            throw APIError.badRequest("malformed JSON: \(error)")
        }
    }

    static func path(_ error: DecodingError) -> String? {
        let context: DecodingError.Context
        switch error {
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): context = c
        case let .keyNotFound(key, c): return (c.codingPath + [key]).map(\.displayName).joined(separator: ".")
        @unknown default: return nil
        }
        let p = context.codingPath.map(\.displayName).joined(separator: ".")
        return p.isEmpty ? nil : p
    }

    static func explain(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(type, c):
            return "field '\(c.codingPath.map(\.displayName).joined(separator: "."))' has the wrong type: expected \(Self.jsonName(type))"
        case let .valueNotFound(type, c):
            return "field '\(c.codingPath.map(\.displayName).joined(separator: "."))' is null: expected \(Self.jsonName(type))"
        case let .keyNotFound(key, c):
            return "missing required field '\((c.codingPath + [key]).map(\.displayName).joined(separator: "."))'"
        case let .dataCorrupted(c):
            if c.codingPath.isEmpty { return "malformed JSON: the body is not a valid JSON document" }
            return "field '\(c.codingPath.map(\.displayName).joined(separator: "."))': \(c.debugDescription)"
        @unknown default:
            return "malformed request"
        }
    }

    static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [Any].Type: "an array"
        default: "\(type)"
        }
    }
}

extension CodingKey {
    var displayName: String { intValue.map { "[\($0)]" } ?? stringValue }
}

extension ByteBuffer {
    /// A JSON document as a buffer (the encoders never fail on our own wire types).
    static func json<T: Encodable>(_ value: T) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}

extension Response {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: .json(value)))
    }
}
