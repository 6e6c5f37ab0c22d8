// Gzip: CRC-32 (the gzip/zlib polynomial) over byte buffers, and joining per-chunk CRCs computed on
// different cores. Relies on ISA-L's crc32_gzip_refl (PCLMUL/AVX-512 folding) when ISA-L is the selected inflate
// library, otherwise on zlib's crc32_z; zlib's crc32_combine joins CRCs.
import CIsal
import CZlib

/// CRC-32 as stored in gzip trailers; `combine` joins CRCs of adjacent chunks without rereading them.
public enum CRC32 {
    /// CRC-32 of `bytes`, continuing from `initial` (the CRC of the bytes before them; 0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        checksum(bytes, initial: initial, backend: (try? Inflater.selected()) ?? .zlib)
    }

    /// The same with a given library (which must be available).
    static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32, backend: InflateBackend) -> UInt32 {
        guard let base = bytes.baseAddress else { return initial }
        switch backend {
        case .isal:
            return npyexp_isal_crc32(initial, base, bytes.count)
        case .zlib:
            return UInt32(truncatingIfNeeded: crc32_z(uLong(initial), base.assumingMemoryBound(to: Bytef.self), bytes.count))
        }
    }

    /// The CRC-32 of two adjacent chunks from the CRC of each and the second's length (zlib's crc32_combine).
    public static func combine(_ first: UInt32, _ second: UInt32, secondCount: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(uLong(first), uLong(second), .init(secondCount)))
    }
}
