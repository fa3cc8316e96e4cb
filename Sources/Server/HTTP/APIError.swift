import EdgeLMAPI
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// An error that renders itself as a JSON HTTP response: `{"error": {"message", "type", "code"}}`.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var code: String
    public var param: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, code: String, param: String? = nil) {
        self.status = status
        self.message = message
        self.code = code
        self.param = param
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// OpenAI's error `type` for a status.
    public var type: String {
        switch status.code {
        case 400, 404, 413, 422: "invalid_request_error"
        case 401, 403: "permission_error"
        case 429, 503: "server_busy"
        case 507: "insufficient_storage"
        default: "server_error"
        }
    }

    public var body: ErrorBody { ErrorBody(message: message, type: type, code: code, param: param) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    public static func badRequest(_ message: String, code: String = "invalid_request", param: String? = nil) -> APIError {
        APIError(.badRequest, message, code: code, param: param)
    }

    /// Maps the engine's refusals to statuses: unknown model 404, busy 503 with Retry-After,
    /// too long 400, no memory 507.
    public static func from(_ error: EngineError) -> APIError {
        switch error {
        case .unknownModel: return APIError(.notFound, error.description, code: "model_not_found", param: "model")
        case .noModelInstalled: return APIError(.serviceUnavailable, error.description, code: "no_model_installed")
        case .queueFull:
            var e = APIError(.serviceUnavailable, error.description, code: "queue_full")
            e.headers[.retryAfter] = "1"
            return e
        case .promptTooLong: return APIError(.badRequest, error.description, code: "context_length_exceeded", param: "messages")
        case .insufficientMemory: return APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"), error.description, code: "insufficient_memory")
        case .loadFailed: return APIError(.internalServerError, error.description, code: "model_load_failed")
        case .healthCheckFailed: return APIError(.unprocessableContent, error.description, code: "health_check_failed")
        case .timedOut: return APIError(.gatewayTimeout, error.description, code: "timeout")
        case .shuttingDown:
            var e = APIError(.serviceUnavailable, error.description, code: "shutting_down")
            e.headers[.retryAfter] = "5"
            return e
        case .internalError: return APIError(.internalServerError, error.description, code: "internal_error")
        }
    }

    public static func from(_ error: any Error) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? EngineError { return from(e) }
        return APIError(.internalServerError, "\(error)", code: "internal_error")
    }
}
