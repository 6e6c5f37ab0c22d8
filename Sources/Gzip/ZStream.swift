// Gzip: the single owner of a zlib z_stream, of the loops that feed it, and the single place where zlib return
// codes become results, errors or traps. Relies on the system zlib through CZlib (shim.h wraps the
// inflateInit2/deflateInit2 macros).
//
// zlib keeps a back pointer from its internal state to the z_stream and rejects calls whose stream address
// differs (inflateStateCheck), so the z_stream is allocated once on the heap and never moves. No code outside this
// file touches a z_stream field: callers hand over whole buffers and get results or output chunks back.
import CZlib

/// What a zlib call meant, once errors are taken out.
enum ZStatus {
    /// Progress was made; call again with more input or output room.
    case ok
    /// The deflate stream is complete.
    case streamEnd
    /// No progress was possible: zlib needs more input (or more output room, which our loops always give).
    case needMore
}

/// Which kind of stream produced a return code; decides how a Z_DATA_ERROR is classified.
enum ZContext {
    /// Raw inflate (windowBits -15) of a deflate body whose gzip header and trailer we handle ourselves.
    case inflate
    case deflate
}

/// Maps every zlib return code. Bad data throws; misuse of the API (Z_STREAM_ERROR, Z_VERSION_ERROR) traps,
/// since it means this module is wrong, not the input; Z_MEM_ERROR traps like any Swift allocation failure.
private func mapZlibReturn(_ code: Int32, _ stream: UnsafeMutablePointer<z_stream>, _ context: ZContext) throws -> ZStatus {
    switch code {
    case Z_OK: return .ok
    case Z_STREAM_END: return .streamEnd
    case Z_BUF_ERROR: return .needMore
    case Z_DATA_ERROR, Z_NEED_DICT:
        let message = code == Z_NEED_DICT
            ? "stream needs a preset dictionary"
            : stream.pointee.msg.map { String(cString: $0) } ?? "data error"
        switch context {
        case .deflate: throw GzipError(.compressionFailed, detail: message)
        case .inflate: throw GzipError(.corruptData, detail: message)
        }
    case Z_MEM_ERROR:
        fatalError("zlib: out of memory")
    default:
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "no message"
        preconditionFailure("zlib misuse: return code \(code) (\(message))")
    }
}

/// One z_stream at a fixed heap address, initialised for raw inflate or for deflate, ended in deinit.
final class ZStream {
    enum Mode { case inflate, deflate }

    /// zlib's avail_in / avail_out are 32-bit: buffers are handed over in slices of at most this many bytes.
    private static let slice = 1 << 30

    private let pointer: UnsafeMutablePointer<z_stream>
    let mode: Mode

    /// Inflate with zlib's windowBits convention: -15 = raw deflate (the gzip framing is GzipDecoder's).
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

    /// zlib's name and the version of the library loaded at run time, e.g. "zlib 1.2.13".
    static var libraryName: String { "zlib " + String(cString: zlibVersion()) }

    /// Makes an inflate stream ready for the next deflate stream (same settings).
    func resetInflate() {
        precondition(mode == .inflate, "resetInflate on a deflate stream")
        let code = inflateReset(pointer)
        precondition(code == Z_OK, "inflateReset failed: \(code)")
    }

    /// Inflates from `input` until it is used up (with no output pending) or the deflate stream ends, each part made
    /// in the memory `room()` gives at that moment (a fixed scratch buffer, or the caller's own memory filled in
    /// place) and handed to `deliver`, within that memory (valid only during the call). Returns the input bytes
    /// taken and whether the stream ended; bytes after the end are not taken.
    func inflate(_ input: UnsafeRawBufferPointer, room next: () throws -> UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) throws -> Void) throws -> (consumed: Int, ended: Bool) {
        precondition(mode == .inflate, "inflate on a deflate stream")
        let z = pointer
        defer { z.pointee.next_in = nil; z.pointee.next_out = nil }
        var consumed = 0
        while true {
            let scratch = try next()
            let offered = min(input.count - consumed, Self.slice)
            // zlib's next_in is not const-qualified in this build (z_const is empty) but inflate never writes input.
            z.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: ($0 + consumed).assumingMemoryBound(to: Bytef.self)) }
            z.pointee.avail_in = UInt32(offered)
            z.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(min(scratch.count, Self.slice))
            let room = Int(z.pointee.avail_out)
            let code = CZlib.inflate(z, Z_NO_FLUSH)
            consumed += offered - Int(z.pointee.avail_in)
            let produced = room - Int(z.pointee.avail_out)
            if produced > 0 { try deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<produced])) }
            switch try mapZlibReturn(code, z, .inflate) {
            case .streamEnd: return (consumed, true)
            case .needMore: if consumed == input.count { return (consumed, false) }
            case .ok:
                // A full output buffer may hide more pending output even when the input is used up.
                if consumed == input.count && produced < room { return (consumed, false) }
            }
        }
    }

    /// Inflates from `input` straight into `output` until the stream ends, the input is used up or the output is
    /// full; returns the bytes taken and written and whether the stream ended.
    func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
        -> (consumed: Int, produced: Int, ended: Bool) {
        precondition(mode == .inflate, "inflate on a deflate stream")
        let z = pointer
        defer { z.pointee.next_in = nil; z.pointee.next_out = nil }
        var consumed = 0, produced = 0
        while true {
            let offered = min(input.count - consumed, Self.slice), room = min(output.count - produced, Self.slice)
            z.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: ($0 + consumed).assumingMemoryBound(to: Bytef.self)) }
            z.pointee.avail_in = UInt32(offered)
            z.pointee.next_out = output.baseAddress.map { ($0 + produced).assumingMemoryBound(to: Bytef.self) }
            z.pointee.avail_out = UInt32(room)
            let code = CZlib.inflate(z, Z_NO_FLUSH)
            let took = offered - Int(z.pointee.avail_in), made = room - Int(z.pointee.avail_out)
            consumed += took
            produced += made
            if try mapZlibReturn(code, z, .inflate) == .streamEnd { return (consumed, produced, true) }
            // Stop when the output is full, the input is used up with room to spare, or nothing moved.
            if produced == output.count || (consumed == input.count && made < room) || (took == 0 && made == 0) {
                return (consumed, produced, false)
            }
        }
    }

    /// zlib's worst-case compressed size of `count` bytes for any settings (deflateBound without a stream).
    static func conservativeBound(inputCount count: Int) -> Int {
        Int(deflateBound(nil, uLong(count)))
    }

    /// zlib's worst-case compressed size of `count` bytes for this stream's settings.
    func bound(inputCount count: Int) -> Int {
        precondition(mode == .deflate, "bound on an inflate stream")
        return Int(deflateBound(pointer, uLong(count)))
    }

    /// Compresses all of `input` and ends the stream (Z_FINISH) in `output`, which must hold at least
    /// `bound(inputCount:)` bytes; returns the bytes written. `input.count` over UInt32.max traps.
    func deflateAll(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        try deflateWhole(input, into: output, flush: Z_FINISH)
    }

    /// Compresses all of `input` and ends with a sync flush (Z_SYNC_FLUSH: no final block, byte-aligned) in `output`,
    /// which must hold at least `bound(inputCount:)` + 5 bytes; returns the bytes written, so that another stream's
    /// output can follow as the continuation of the same deflate stream.
    func deflateSync(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        try deflateWhole(input, into: output, flush: Z_SYNC_FLUSH)
    }

    /// One deflate call over all of `input` with `flush` (Z_FINISH or Z_SYNC_FLUSH), which must complete in `output`.
    private func deflateWhole(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, flush: Int32)
        throws -> Int
    {
        precondition(mode == .deflate, "deflate on an inflate stream")
        precondition(input.count <= Int(UInt32.max), "deflate of more than 4 GiB in one call")
        let z = pointer
        defer { z.pointee.next_in = nil; z.pointee.next_out = nil }
        z.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        z.pointee.avail_in = UInt32(input.count)
        z.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        z.pointee.avail_out = UInt32(min(output.count, Int(UInt32.max)))
        let before = z.pointee.total_out
        let status = try mapZlibReturn(CZlib.deflate(z, flush), z, .deflate)
        if flush == Z_FINISH {
            precondition(status == .streamEnd, "deflate(Z_FINISH) did not finish within deflateBound")
        } else {
            precondition(z.pointee.avail_in == 0 && z.pointee.avail_out > 0, "deflate(Z_SYNC_FLUSH) did not fit its bound")
        }
        return Int(z.pointee.total_out - before)
    }

    /// Streaming deflate: compresses `input` (and, when `finish`, ends the stream), writing into `scratch` and handing
    /// each filled part to `deliver` (valid only during the call).
    func deflate(_ input: UnsafeRawBufferPointer, finish: Bool, through scratch: UnsafeMutableRawBufferPointer,
                 deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(mode == .deflate, "deflate on an inflate stream")
        let z = pointer
        defer { z.pointee.next_in = nil; z.pointee.next_out = nil }
        var consumed = 0
        repeat {
            let offered = min(input.count - consumed, Self.slice)
            let lastSlice = consumed + offered == input.count
            let flush = finish && lastSlice ? Z_FINISH : Z_NO_FLUSH
            z.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: ($0 + consumed).assumingMemoryBound(to: Bytef.self)) }
            z.pointee.avail_in = UInt32(offered)
            while true {
                z.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
                z.pointee.avail_out = UInt32(min(scratch.count, Self.slice))
                let room = Int(z.pointee.avail_out)
                let status = try mapZlibReturn(CZlib.deflate(z, flush), z, .deflate)
                let produced = room - Int(z.pointee.avail_out)
                if produced > 0 { try deliver(UnsafeRawBufferPointer(rebasing: scratch[0..<produced])) }
                if status == .streamEnd { return }
                if status == .needMore {
                    precondition(flush != Z_FINISH, "deflate made no progress while finishing")
                    break
                }
                // With Z_NO_FLUSH, room left over means zlib took all input; with Z_FINISH only Z_STREAM_END ends.
                if flush != Z_FINISH && z.pointee.avail_in == 0 && produced < room { break }
            }
            consumed += offered
        } while consumed < input.count
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
