// GzipTests: serial single-member gzip encoder, test-only (the product writes block-framed members with
// GzipBlocks). Relies on ZStream's streaming deflate with zlib's gzip wrapper (windowBits 31): without
// deflateSetHeader zlib writes mtime 0, no name, XFL from the level and its own OS byte (3, Unix), so equal input
// gives equal bytes, like `gzip -n`.
@testable import Gzip

/// Serial single-member gzip encoder (header without name, mtime 0, so equal input -> equal bytes).
final class GzipEncoder {
    private static let outputCapacity = 256 * 1024

    private let stream: ZStream
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    /// `level` is zlib's: 0 (stored) ... 9, or -1 for zlib's default (6). Other values trap.
    init(level: Int, strategy: DeflateStrategy) {
        stream = ZStream(deflateLevel: level, strategy: strategy, windowBits: 15 + 16)
        output = .allocate(byteCount: Self.outputCapacity, alignment: 64)
    }

    deinit { output.deallocate() }

    /// Compresses `input`; sink receives compressed bytes (valid only during the call) when zlib emits them.
    func write(_ input: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(!finished, "GzipEncoder.write after finish")
        try stream.deflate(input, finish: false, through: output, deliver: sink)
    }

    /// Ends the member (final deflate block, CRC32, ISIZE) and hands the rest of the bytes to sink.
    func finish(to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(!finished, "GzipEncoder.finish called twice")
        finished = true
        try stream.deflate(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, through: output, deliver: sink)
    }
}
