// NPYStream: the one check of a whole .npy byte stream, pushed in pieces of any size: the header (parsed as soon as
// it is complete, never more than numpy's 10,000-byte limit buffered), then the array data, counted against what the
// shape and dtype call for. Every caller that reads an .npy stream (exp, backward, verify, inspect) feeds it, so each
// fault has one message. Relies on NPYHeader.

/// A fault of the stream as a whole: what the header parser cannot see.
public struct NPYStreamFault: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of fault.
    public enum Kind: Sendable, Equatable {
        /// No byte at all.
        case empty
        /// The stream ended inside the header.
        case truncatedHeader
        /// Fewer data bytes than the shape calls for.
        case shortData
        /// Bytes after the array data.
        case trailingBytes
    }

    /// The class of fault.
    public var kind: Kind
    /// One line, as the CLI prints it after `npyexp: PATH: `.
    public var description: String

    /// A fault of `kind` described by `description`.
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// No byte at all.
    public static let empty = NPYStreamFault(.empty, "empty input (no NPY header)")

    /// The stream ended after `count` bytes of header.
    public static func truncatedHeader(after count: Int) -> NPYStreamFault {
        NPYStreamFault(.truncatedHeader, "truncated NPY header (input ends after \(count) bytes)")
    }

    /// The data stopped at `got` of `expected` bytes.
    public static func shortData(expected: Int, got: Int) -> NPYStreamFault {
        NPYStreamFault(.shortData, "data shorter than the shape: expected \(expected) bytes, got \(got)")
    }

    /// `extra` bytes followed `expected` bytes of data.
    public static func trailingBytes(expected: Int, extra: Int) -> NPYStreamFault {
        NPYStreamFault(.trailingBytes, "\(extra) unexpected bytes after the array data (expected \(expected) bytes)")
    }
}

/// A push parser for a whole .npy stream: header, then data of exactly the declared length.
public struct NPYStreamParser: Sendable {
    /// numpy's limit on header text, plus magic, version and length field.
    private static let maximumHeaderBytes = 12 + 10_000

    private var headerBytes: [UInt8] = []
    /// The header, once its last byte has been fed.
    public private(set) var header: NPYHeader?
    /// Bytes of the header (magic to the final newline), once known.
    public private(set) var headerByteCount = 0
    /// Data bytes seen so far, including any past the expected length.
    public private(set) var dataBytesSeen = 0
    /// Data bytes the header calls for.
    public var expectedDataBytes: Int { header?.dataByteCount ?? 0 }

    /// A parser at the start of a stream.
    public init() {}

    /// Feeds the next piece. Once the header is complete, `onHeader` is called (it may refuse the array by
    /// throwing) and array bytes are handed to `onData` in order, never past the declared length; bytes beyond it
    /// are only counted (reported by `finish`). Header faults are thrown as `NPYFormatError`.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, onHeader: (NPYHeader) throws -> Void = { _ in },
        onData: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var rest = bytes
        if header == nil {
            let earlier = headerBytes.count
            let take = min(bytes.count, max(0, Self.maximumHeaderBytes - earlier))
            headerBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[..<take]))
            let parsed = try headerBytes.withUnsafeBytes { try NPYHeader.parse($0) }
            guard let (h, used) = parsed else { return }
            try onHeader(h)
            header = h
            headerByteCount = used
            headerBytes = []
            rest = UnsafeRawBufferPointer(rebasing: bytes[(used - earlier)...])
        }
        let room = max(0, expectedDataBytes - dataBytesSeen)
        let take = min(room, rest.count)
        dataBytesSeen += rest.count
        if take > 0 { try onData(UnsafeRawBufferPointer(rebasing: rest[..<take])) }
    }

    /// The end of the stream: throws when it stopped in the header, or the data length is not exactly the shape's.
    public func finish() throws(NPYStreamFault) {
        guard header != nil else {
            throw headerBytes.isEmpty ? NPYStreamFault.empty : NPYStreamFault.truncatedHeader(after: headerBytes.count)
        }
        if dataBytesSeen < expectedDataBytes {
            throw NPYStreamFault.shortData(expected: expectedDataBytes, got: dataBytesSeen)
        }
        if dataBytesSeen > expectedDataBytes {
            throw NPYStreamFault.trailingBytes(expected: expectedDataBytes, extra: dataBytesSeen - expectedDataBytes)
        }
    }

    /// The trailing-bytes fault, when data ran past the declared length (checked early by callers that must not
    /// finish writing first).
    public var trailingFault: NPYStreamFault? {
        guard header != nil, dataBytesSeen > expectedDataBytes else { return nil }
        return NPYStreamFault.trailingBytes(expected: expectedDataBytes, extra: dataBytesSeen - expectedDataBytes)
    }
}
