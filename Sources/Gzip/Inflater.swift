// Gzip: which library inflates (ISA-L when the machine has it, zlib otherwise, or as NPYEXP_INFLATE says), and
// RawInflater, one raw-deflate stream on either library with the CRC-32 of its output. Relies on CIsal (ISA-L
// found at run time with dlopen; see isal.c for why) and on ZStream (zlib). The gzip framing (header, trailer,
// members) is GzipDecoder's and GzipBlocks', written once for both libraries, so that every fault outside the
// deflate data is classified and worded the same whichever library inflates.
//
// ISA-L return codes are mapped here, in `mapIsalReturn`, and nowhere else.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CIsal

/// A library that can inflate deflate data.
public enum InflateBackend: String, Sendable, CaseIterable {
    /// The system zlib: always available.
    case zlib
    /// Intel ISA-L (Debian libisal2, built with libisal-dev): about 2.5x zlib's inflate speed on x86-64.
    case isal

    /// Whether this library can be used in this process.
    public var isAvailable: Bool {
        switch self {
        case .zlib: true
        case .isal: npyexp_isal_load() == 1
        }
    }

    /// The library's name and version, e.g. "zlib 1.2.13" or "isa-l 2.30.0".
    public var libraryName: String {
        switch self {
        case .zlib: ZStream.libraryName
        case .isal: "isa-l " + String(cString: npyexp_isal_status())
        }
    }

    /// Why the library cannot be used (nil when it can).
    public var unavailableReason: String? {
        isAvailable ? nil : String(cString: npyexp_isal_status())
    }
}

/// NPYEXP_INFLATE names an unknown library, or one that cannot be used here.
public struct InflaterSelectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One line naming the variable, its value and why it cannot be honoured.
    public var description: String
}

/// Which library inflates gzip input in this process.
public enum Inflater {
    /// The environment variable that forces a library: `zlib` or `isal`; unset or empty picks ISA-L when it loads.
    public static let environmentVariable = "NPYEXP_INFLATE"

    /// The library every decoder uses unless given one, or why the choice in NPYEXP_INFLATE cannot be honoured.
    public static let selection: Result<InflateBackend, InflaterSelectionError> = {
        let requested = getenv(environmentVariable).map { String(cString: $0) } ?? ""
        return select(requested: requested)
    }()

    /// What `selection` would be for NPYEXP_INFLATE = `requested` (empty: automatic).
    static func select(requested: String) -> Result<InflateBackend, InflaterSelectionError> {
        if requested.isEmpty { return .success(InflateBackend.isal.isAvailable ? .isal : .zlib) }
        guard let backend = InflateBackend(rawValue: requested) else {
            return .failure(InflaterSelectionError(
                description: "\(environmentVariable)=\(requested) is not a known inflate library (zlib or isal)"))
        }
        if let reason = backend.unavailableReason {
            return .failure(InflaterSelectionError(
                description: "\(environmentVariable)=\(requested) but ISA-L cannot be used: \(reason)"))
        }
        return .success(backend)
    }

    /// The selected library; throws when NPYEXP_INFLATE asks for one that cannot be used.
    public static func selected() throws(InflaterSelectionError) -> InflateBackend {
        try selection.get()
    }

    /// What inflates in this process, for `--version`: "isa-l 2.30.0", "zlib 1.2.13", or the selection error.
    public static var backendName: String {
        switch selection {
        case .success(let backend): backend.libraryName
        case .failure(let error): "none (\(error))"
        }
    }
}

/// Maps every ISA-L isal_inflate return code: bad data throws `.corruptData` (ISA-L names fewer faults than zlib,
/// so the reasons are coarser); codes that a raw inflate with our settings cannot return trap.
private func mapIsalReturn(_ code: Int32) throws {
    switch code {
    case 0, 1, 2: return   // ISAL_DECOMP_OK, ISAL_END_INPUT, ISAL_OUT_OVERFLOW: progress or a pause
    case -1: throw GzipError(.corruptData, detail: "invalid deflate block")       // ISAL_INVALID_BLOCK
    case -2: throw GzipError(.corruptData, detail: "invalid deflate code")        // ISAL_INVALID_SYMBOL
    case -3: throw GzipError(.corruptData, detail: "invalid distance too far back")   // ISAL_INVALID_LOOKBACK
    default: preconditionFailure("isal_inflate misuse: return code \(code)")
    }
}

/// Whole bytes a raw inflater read past the end of the deflate data (ISA-L reads ahead; zlib never does).
struct ReadAhead {
    var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
}

/// One raw-deflate stream (no gzip framing) on either library, keeping the CRC-32 of everything it produced.
/// Not thread-safe; one per decoder or per call.
final class RawInflater {
    let backend: InflateBackend
    private let zlib: ZStream?
    private let isal: OpaquePointer?
    /// The CRC-32 of zlib's output, kept here (ISA-L keeps its own).
    private var zlibCRC: UInt32 = 0

    /// Traps when `backend` is not available: callers check `isAvailable` or use `Inflater.selected()`.
    init(backend: InflateBackend) {
        self.backend = backend
        switch backend {
        case .zlib:
            zlib = ZStream(inflateWindowBits: -15)
            isal = nil
        case .isal:
            precondition(backend.isAvailable, "ISA-L is not available: \(backend.unavailableReason ?? "")")
            guard let state = npyexp_isal_inflater_new() else { fatalError("ISA-L: out of memory") }
            zlib = nil
            isal = state
        }
    }

    deinit { npyexp_isal_inflater_free(isal) }

    /// Ready for the next deflate stream.
    func reset() {
        if let zlib { zlib.resetInflate(); zlibCRC = 0 }
        if let isal { npyexp_isal_inflater_reset(isal) }
    }

    /// CRC-32 of the output since the last reset.
    var crc: UInt32 {
        if let isal { return npyexp_isal_inflater_crc(isal) }
        return zlibCRC
    }

    /// Inflates from `input` until it is used up (with no output pending) or the deflate stream ends, handing the
    /// output to `deliver` in parts of at most `scratch.count` bytes. Returns the input bytes taken and whether the
    /// stream ended; after the end, `takeReadAhead()` gives back what was read past it.
    func inflate(_ input: UnsafeRawBufferPointer, through scratch: UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) throws -> Void) throws -> (consumed: Int, ended: Bool) {
        try inflate(input, room: { scratch }, deliver: deliver)
    }

    /// Like `inflate(_:through:deliver:)`, each part made in the memory `room()` gives at that moment (the
    /// caller's own buffer, filled in place): `deliver` gets the part, within that memory.
    func inflate(_ input: UnsafeRawBufferPointer, room next: () throws -> UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) throws -> Void) throws -> (consumed: Int, ended: Bool) {
        if let zlib {
            return try zlib.inflate(input, room: next) { part in
                zlibCRC = CRC32.checksum(part, initial: zlibCRC, backend: .zlib)
                try deliver(part)
            }
        }
        var consumed = 0
        while true {
            let scratch = try next()
            let room = UInt32(min(scratch.count, 1 << 30))
            let offered = UInt32(min(input.count - consumed, 1 << 30))
            var used: UInt32 = 0, made: UInt32 = 0, finished: Int32 = 0
            let code = npyexp_isal_inflate(isal, input.baseAddress.map { ($0 + consumed).assumingMemoryBound(to: UInt8.self) },
                                           offered, &used, scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), room,
                                           &made, &finished)
            consumed += Int(used)
            if made > 0 { try deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<Int(made)])) }
            try mapIsalReturn(code)
            if finished != 0 { return (consumed, true) }
            if consumed == input.count && made < room { return (consumed, false) }
            precondition(used > 0 || made > 0, "isal_inflate made no progress with input and output room")
        }
    }

    /// Inflates from `input` straight into `output` until the stream ends, the input is used up or the output is
    /// full; returns the bytes taken and written and whether the stream ended.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
        -> (consumed: Int, produced: Int, ended: Bool) {
        if let zlib {
            let result = try zlib.inflate(input, into: output)
            zlibCRC = CRC32.checksum(UnsafeRawBufferPointer(rebasing: output[0..<result.produced]), initial: zlibCRC,
                                     backend: .zlib)
            return result
        }
        var consumed = 0, produced = 0
        while true {
            let offered = UInt32(min(input.count - consumed, 1 << 30))
            let room = UInt32(min(output.count - produced, 1 << 30))
            var used: UInt32 = 0, made: UInt32 = 0, finished: Int32 = 0
            let code = npyexp_isal_inflate(isal, input.baseAddress.map { ($0 + consumed).assumingMemoryBound(to: UInt8.self) },
                                           offered, &used,
                                           output.baseAddress.map { ($0 + produced).assumingMemoryBound(to: UInt8.self) },
                                           room, &made, &finished)
            consumed += Int(used)
            produced += Int(made)
            try mapIsalReturn(code)
            if finished != 0 { return (consumed, produced, true) }
            if produced == output.count || (consumed == input.count && made < room) || (used == 0 && made == 0) {
                return (consumed, produced, false)
            }
        }
    }

    /// After the stream ended: the bytes read past its end, to be parsed as what follows the deflate data.
    func takeReadAhead() -> ReadAhead {
        guard let isal else { return ReadAhead() }
        var readAhead = ReadAhead()
        readAhead.count = withUnsafeMutableBytes(of: &readAhead.bytes) {
            Int(npyexp_isal_inflater_take_read_ahead(isal, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)))
        }
        return readAhead
    }
}
