// Gzip: the member header of a gzip stream after its magic (RFC 1952), parsed as it streams in, for GzipDecoder.
// It repeats zlib's checks and zlib's words for each fault, so a bad header reads the same whichever library
// inflates the data after it. Relies on CRC32 (zlib's, for the FHCRC check).

/// The gzip member header after the magic (RFC 1952), parsed as it streams in, with zlib's checks and zlib's
/// words for each fault (so the verdict does not depend on the inflate library): method and flags are judged
/// together once both bytes are in; the header CRC16 (FHCRC) covers every header byte before it, magic included.
struct GzipHeaderParser {
    private enum Field { case fixed, extraLength, extra, name, comment, headerCRC, done }

    private static let flagHeaderCRC: UInt8 = 2, flagExtra: UInt8 = 4, flagName: UInt8 = 8, flagComment: UInt8 = 16
    private static let flagsReserved: UInt8 = 0xe0
    /// CM, FLG, MTIME (4), XFL, OS.
    private static let fixedByteCount = 8

    private var field = Field.fixed
    /// Bytes of the current field seen; for `extra`, bytes still to skip.
    private var count = 0
    /// Little-endian value of a numeric field so far (CM while in the fixed part).
    private var value = 0
    private var flags: UInt8 = 0
    /// CRC-32 of the header bytes so far, magic included, up to the FHCRC field.
    private var crc: UInt32

    init() {
        let magic: [UInt8] = [0x1f, 0x8b]
        crc = magic.withUnsafeBytes { CRC32.checksum($0, initial: 0, backend: .zlib) }
    }

    var isComplete: Bool { field == .done }

    /// Consumes header bytes from `input` until the header is complete or the input is used up; returns bytes taken.
    mutating func parse(_ input: UnsafeRawBufferPointer) throws -> Int {
        var index = 0
        // Bytes input[0..<crcEnd] precede the FHCRC field and go into `crc` (before the check, or at the end).
        var crcEnd = 0
        while index < input.count && field != .done {
            if field == .extra {
                let skip = min(count, input.count - index)
                index += skip
                count -= skip
                crcEnd = index
                if count == 0 { field = next(after: .extra) }
                continue
            }
            let byte = input[index]
            index += 1
            if field != .headerCRC { crcEnd = index }
            switch field {
            case .fixed:
                count += 1
                if count == 1 { value = Int(byte) }
                if count == 2 {
                    flags = byte
                    if value != 8 { throw GzipError(.badHeader, detail: "unknown compression method") }
                    if flags & Self.flagsReserved != 0 { throw GzipError(.badHeader, detail: "unknown header flags set") }
                }
                if count == Self.fixedByteCount { field = next(after: .fixed) }
            case .extraLength:
                value |= Int(byte) << (8 * count)
                count += 1
                if count == 2 {
                    count = value
                    field = value > 0 ? .extra : next(after: .extra)
                }
            case .name, .comment:
                if byte == 0 { field = next(after: field) }
            case .headerCRC:
                value |= Int(byte) << (8 * count)
                count += 1
                if count == 2 {
                    crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: input[0..<crcEnd]), initial: crc, backend: .zlib)
                    crcEnd = 0
                    guard UInt16(value) == UInt16(truncatingIfNeeded: crc) else {
                        throw GzipError(.badHeader, detail: "header crc mismatch")
                    }
                    field = .done
                }
            case .extra, .done:
                preconditionFailure("unreachable header field")
            }
        }
        crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: input[0..<crcEnd]), initial: crc, backend: .zlib)
        return index
    }

    /// The field after `current`, skipping those the flags leave out; resets the field counters.
    private mutating func next(after current: Field) -> Field {
        count = 0
        value = 0
        let order: [(Field, UInt8)] = [(.extraLength, Self.flagExtra), (.name, Self.flagName),
                                       (.comment, Self.flagComment), (.headerCRC, Self.flagHeaderCRC)]
        let start: Int = switch current {
        case .fixed: 0
        case .extraLength, .extra: 1
        case .name: 2
        case .comment: 3
        case .headerCRC, .done: 4
        }
        return order[start...].first { flags & $0.1 != 0 }?.0 ?? .done
    }
}
