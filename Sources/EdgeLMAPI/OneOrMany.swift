/// A field that clients send either as one string or as an array of strings (`stop`, `prompt`).
public struct OneOrMany: Codable, Sendable, Equatable {
    public var values: [String]

    public init(_ values: [String]) { self.values = values }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let one = try? c.decode(String.self) {
            values = [one]
        } else {
            values = try c.decode([String].self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if values.count == 1 { try c.encode(values[0]) } else { try c.encode(values) }
    }
}

/// Message content: a string, or OpenAI's array of parts of which only `text` parts are understood.
public struct MessageContent: Codable, Sendable, Equatable {
    public var text: String

    public init(_ text: String) { self.text = text }

    struct Part: Codable { var type: String; var text: String? }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { text = ""; return }
        if let s = try? c.decode(String.self) { text = s; return }
        let parts = try c.decode([Part].self)
        var out = ""
        for part in parts {
            guard part.type == "text", let t = part.text else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "content part of type \"\(part.type)\" is not supported (only text)")
            }
            out += t
        }
        text = out
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// Any JSON value, for fields that are only checked for presence (`tools`) or passed through.
public indirect enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(n): try c.encode(n)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    public var isNullOrEmpty: Bool {
        switch self {
        case .null: true
        case let .array(a): a.isEmpty
        case let .object(o): o.isEmpty
        case let .string(s): s.isEmpty
        default: false
        }
    }
}
