// Gzip: serial single-member gzip encoder. Relies on zlib's gzip wrapper (deflateInit2 with windowBits 31):
// without deflateSetHeader zlib writes mtime 0, no name, XFL from the level and its own OS byte (3, Unix), so
// equal input gives equal bytes, like `gzip -n`.
import CZlib

/// Serial single-member gzip encoder (header without name, mtime 0, so equal input -> equal bytes).
public final class GzipEncoder {
    private static let outputCapacity = 256 * 1024

    private let stream: ZStream
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    /// `level` is zlib's: 0 (stored) ... 9, or -1 for zlib's default (6). Other values trap.
    public init(level: Int, strategy: DeflateStrategy) {
        stream = ZStream(deflateLevel: level, strategy: strategy, windowBits: 15 + 16)
        output = .allocate(byteCount: Self.outputCapacity, alignment: 64)
    }

    deinit { output.deallocate() }

    /// Compresses `input`; sink receives compressed bytes (valid only during the call) when zlib emits them.
    public func write(_ input: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(!finished, "GzipEncoder.write after finish")
        guard var cursor = input.baseAddress else { return }
        let end = cursor + input.count
        while cursor < end {
            let count = min(end - cursor, Int(UInt32.max))
            try run(UnsafeRawBufferPointer(start: cursor, count: count), flush: Z_NO_FLUSH, sink)
            cursor += count
        }
    }

    /// Ends the member (final deflate block, CRC32, ISIZE) and hands the rest of the bytes to sink.
    public func finish(to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(!finished, "GzipEncoder.finish called twice")
        finished = true
        try run(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, sink)
    }

    private func run(_ input: UnsafeRawBufferPointer, flush: Int32,
                     _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let z = stream.pointer
        z.pointee.next_in = input.baseAddress.map {
            UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
        }
        z.pointee.avail_in = UInt32(input.count)
        defer { z.pointee.next_in = nil; z.pointee.next_out = nil }
        while true {
            z.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(output.count)
            let status = try mapZlibReturn(deflate(z, flush), z, .deflate)
            let produced = output.count - Int(z.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            switch status {
            case .streamEnd: return
            case .needMore:
                precondition(flush != Z_FINISH, "deflate made no progress while finishing")
                return
            case .ok: break
            }
            // With Z_NO_FLUSH, room left over means zlib took all input; with Z_FINISH only Z_STREAM_END ends.
            if flush != Z_FINISH && z.pointee.avail_in == 0 && z.pointee.avail_out != 0 { return }
        }
    }
}
