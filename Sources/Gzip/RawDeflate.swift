// Gzip: raw deflate streams without gzip framing, for containers that frame deflate data themselves (zip members
// in .npz archives). Inflate is streaming and reports exactly where the deflate data ended, so the container's next
// record can be parsed from the same buffer; deflate cuts a stream into segments compressed on different cores that
// concatenate into one valid stream (every segment but the last ends with a sync flush), with their CRC-32s joined.
// Relies on RawInflater (ISA-L or zlib), ZStream (zlib deflate), HuffmanDeflate and CRC32.

/// A streaming raw-deflate decoder that keeps the CRC-32 and length of what it produced and, once the deflate data
/// ends, gives back the bytes it read past that end.
public final class RawDeflateDecoder {
    private let inflater: RawInflater
    private let scratch: UnsafeMutableRawBufferPointer
    /// Bytes produced so far.
    public private(set) var producedCount = 0
    /// Whether the deflate data has ended.
    public private(set) var ended = false

    /// A decoder on `Inflater.selected()`'s library (throwing its error when NPYEXP_INFLATE cannot be honoured).
    public init() throws {
        inflater = RawInflater(backend: try Inflater.selected())
        scratch = .allocate(byteCount: 256 << 10, alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// CRC-32 of the bytes produced so far.
    public var crc: UInt32 { inflater.crc }

    /// Inflates from `input` until it is used up or the deflate data ends, handing the output to `deliver` in parts
    /// (valid only during the call). Returns how many bytes of `input` belong to the deflate data: after the end,
    /// the bytes from there on are the container's. The count is negative (down to -8) when ISA-L had already taken
    /// bytes past the end in an earlier call: the caller steps back over that many bytes it handed before.
    public func inflate(_ input: UnsafeRawBufferPointer, deliver: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        precondition(!ended, "RawDeflateDecoder.inflate after the end")
        let (consumed, ended) = try inflater.inflate(input, through: scratch) { part in
            producedCount += part.count
            try deliver(part)
        }
        guard ended else { return consumed }
        self.ended = true
        // Bytes ISA-L holds in its bit buffer were counted as taken; they are the container's (at most 8).
        return consumed - inflater.takeReadAhead().count
    }
}

/// Raw deflate of one stream cut into segments that are compressed independently (on different cores) and written
/// one after the other: every segment but the last ends on a byte boundary without a final block.
public enum DeflateSegments {
    /// Room `compress` needs for a segment of `inputCount` bytes, whatever the strategy.
    public static func maxByteCount(inputCount: Int) -> Int {
        max(ZStream.conservativeBound(inputCount: inputCount), HuffmanDeflate.maxCompressedByteCount(inputCount: inputCount))
            + 16
    }

    /// Compresses `input` as one segment into `output` (at least `maxByteCount(inputCount:)` bytes); returns its
    /// size and the input's CRC-32. Thread-safe. The last segment of a stream has `final`; an empty non-final
    /// segment is empty.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int, strategy: DeflateStrategy, final: Bool,
                                into output: UnsafeMutableRawBufferPointer) throws -> (count: Int, crc: UInt32) {
        precondition(output.count >= maxByteCount(inputCount: input.count), "segment buffer too small")
        let crc = CRC32.checksum(input)
        if strategy == .huffman && level != 0 {
            return (HuffmanDeflate.compress(input, into: output, final: final), crc)
        }
        let stream = ZStream(deflateLevel: level, strategy: strategy, windowBits: -15)
        if final { return (try stream.deflateAll(input, into: output), crc) }
        if input.isEmpty { return (0, crc) }
        return (try stream.deflateSync(input, into: output), crc)
    }
}
