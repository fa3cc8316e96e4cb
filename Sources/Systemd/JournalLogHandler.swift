import CSystemd
import Glibc
import Logging

/// A swift-log handler writing structured journal entries: the message, its priority, the source
/// location and every metadata key as an upper-case journal field (`REQUEST_ID=…`).
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(Self.priority(level))",
            "SYSLOG_IDENTIFIER=\(label)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
        ]
        let all = explicit.map { metadata.merging($0) { $1 } } ?? metadata
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            if let name = JournalFields.name(key) { fields.append("\(name)=\(value)") }
        }
        Self.send(fields)
    }

    /// syslog priorities, as journald expects them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// One entry: the fields laid out in one buffer, an iovec per field.
    static func send(_ fields: [String]) {
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = storage.count
            storage.append(contentsOf: field.utf8)
            ranges.append(start..<storage.count)
        }
        storage.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            var iovecs = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            _ = sd_journal_sendv(&iovecs, Int32(iovecs.count))
        }
    }
}

public enum JournalFields {
    /// Journal field names are upper-case letters, digits and underscores, not starting with one.
    public static func name(_ key: String) -> String? {
        let mapped = String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.drop { $0 == "_" })
        guard let first = mapped.first, first.isLetter, mapped.count <= 64 else { return nil }
        return mapped
    }
}

public enum Journal {
    /// True when standard error is the journal's stream (`JOURNAL_STREAM` names its device and
    /// inode), i.e. when structured entries would reach the journal anyway.
    public static var isStandardErrorConnected: Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }
}
