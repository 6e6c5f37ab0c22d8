// Gzip: the error value every gzip reader and writer in this module throws. Relies on nothing but the
// standard library; the CLI prints `description` after "npyexp: PATH: ", so it is one line that starts with
// a fixed phrase per kind (tests and users grep for those words).

/// What went wrong in a gzip stream. `description` is one line, e.g. "truncated gzip stream (member 1 unfinished)".
public struct GzipError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of fault; each has a fixed leading phrase in `description`.
    public enum Kind: Sendable, Equatable {
        case notGzip, truncated, corruptData, crcMismatch, lengthMismatch, trailingGarbage, badHeader, compressionFailed
    }

    /// The class of fault.
    public var kind: Kind
    /// zlib's message (corruptData, badHeader, compressionFailed) or where the fault was found (offsets, member).
    public var detail: String?

    /// An error of `kind`, with an optional detail shown in parentheses.
    public init(_ kind: Kind, detail: String? = nil) {
        self.kind = kind
        self.detail = detail
    }

    /// The fixed leading words for each kind; the detail, if any, follows in parentheses.
    public var phrase: String {
        switch kind {
        case .notGzip: "not in gzip format"
        case .truncated: "truncated gzip stream"
        case .corruptData: "corrupt deflate data"
        case .crcMismatch: "gzip CRC32 mismatch"
        case .lengthMismatch: "gzip length mismatch"
        case .trailingGarbage: "trailing garbage after gzip data"
        case .badHeader: "invalid gzip header"
        case .compressionFailed: "gzip compression failed"
        }
    }

    /// The phrase, and the detail in parentheses when there is one.
    public var description: String {
        guard let detail, !detail.isEmpty else { return phrase }
        return "\(phrase) (\(detail))"
    }
}
