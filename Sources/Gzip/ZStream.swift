// Gzip: the single owner of a zlib z_stream, and the single place where zlib return codes become results,
// errors or traps. Relies on the system zlib through CZlib (shim.h wraps the inflateInit2/deflateInit2 macros).
//
// zlib keeps a back pointer from its internal state to the z_stream and rejects calls whose stream address
// differs (inflateStateCheck), so the z_stream is allocated once on the heap and never moves; Swift code
// reaches it only through `pointer`.
import CZlib

/// What a zlib call meant, once errors are taken out.
enum ZStatus {
    /// Progress was made; call again with more input or output room.
    case ok
    /// The deflate stream (or gzip member) is complete.
    case streamEnd
    /// No progress was possible: zlib needs more input (or more output room, which our loops always give).
    case needMore
}

/// Which stream produced a return code; decides how a Z_DATA_ERROR is classified.
enum ZContext {
    /// zlib's gzip mode (windowBits 31); `headerDone` tells a header fault from a data fault.
    case gzipInflate(headerDone: Bool, position: String)
    /// Raw inflate (windowBits -15) of a member body whose header we parsed ourselves.
    case rawInflate
    case deflate
}

/// Maps every zlib return code. Bad data throws; misuse of the API (Z_STREAM_ERROR, Z_VERSION_ERROR) traps,
/// since it means this module is wrong, not the input; Z_MEM_ERROR traps like any Swift allocation failure.
func mapZlibReturn(_ code: Int32, _ stream: UnsafeMutablePointer<z_stream>, _ context: ZContext) throws -> ZStatus {
    switch code {
    case Z_OK: return .ok
    case Z_STREAM_END: return .streamEnd
    case Z_BUF_ERROR: return .needMore
    case Z_DATA_ERROR, Z_NEED_DICT:
        let message = code == Z_NEED_DICT
            ? "stream needs a preset dictionary"
            : stream.pointee.msg.map { String(cString: $0) } ?? "data error"
        switch context {
        case .deflate:
            throw GzipError(.compressionFailed, detail: message)
        case .gzipInflate(headerDone: false, _):
            throw GzipError(.badHeader, detail: message)
        case .gzipInflate(headerDone: true, let position):
            // zlib's gzip mode checks the trailer itself; these two messages are its trailer verdicts.
            if message == "incorrect data check" { throw GzipError(.crcMismatch, detail: position) }
            if message == "incorrect length check" { throw GzipError(.lengthMismatch, detail: position) }
            throw GzipError(.corruptData, detail: message)
        case .rawInflate:
            throw GzipError(.corruptData, detail: message)
        }
    case Z_MEM_ERROR:
        fatalError("zlib: out of memory")
    default:
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "no message"
        preconditionFailure("zlib misuse: return code \(code) (\(message))")
    }
}

/// One z_stream at a fixed heap address, initialised for inflate or deflate and ended in deinit.
final class ZStream {
    enum Mode { case inflate, deflate }

    let pointer: UnsafeMutablePointer<z_stream>
    let mode: Mode

    /// Inflate with zlib's windowBits convention: 31 = gzip only, -15 = raw deflate.
    init(inflateWindowBits windowBits: Int32) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: z_stream())
        mode = .inflate
        let code = npyexp_inflateInit2(pointer, windowBits)
        if code == Z_MEM_ERROR { fatalError("zlib: out of memory") }
        precondition(code == Z_OK, "inflateInit2 failed: \(code)")
    }

    /// Deflate with zlib's windowBits convention: 31 = gzip wrapper written by zlib, -15 = raw deflate.
    init(deflateLevel level: Int, strategy: DeflateStrategy, windowBits: Int32) {
        precondition((-1...9).contains(level), "deflate level must be -1...9, got \(level)")
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: z_stream())
        mode = .deflate
        let code = npyexp_deflateInit2(pointer, Int32(level), Z_DEFLATED, windowBits, 8, strategy.zlibValue)
        if code == Z_MEM_ERROR { fatalError("zlib: out of memory") }
        precondition(code == Z_OK, "deflateInit2 failed: \(code)")
    }

    deinit {
        switch mode {
        case .inflate: inflateEnd(pointer)
        case .deflate: deflateEnd(pointer)
        }
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}

/// deflate strategies (zlib's Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE).
public enum DeflateStrategy: String, CaseIterable, Sendable {
    case `default`, filtered, huffman, rle

    var zlibValue: Int32 {
        switch self {
        case .default: Z_DEFAULT_STRATEGY
        case .filtered: Z_FILTERED
        case .huffman: Z_HUFFMAN_ONLY
        case .rle: Z_RLE
        }
    }
}
