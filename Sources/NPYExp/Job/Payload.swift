// Payload: the encoding stage. Output bytes go to an `OutputFile` (an atomic temporary, or standard output), which
// hashes them while writing, never by re-reading. A compressed payload is cut into fixed-size blocks of the
// uncompressed stream, each deflated on its own core: as a complete gzip member (GzipBlocks) for .npy.gz, or as a
// segment of one raw deflate stream (DeflateSegments) for a zip member of an .npz; fixed boundaries keep outputs
// byte-identical for equal inputs whatever the chunking. Zip members also need the CRC-32 and length of what they
// hold, which the payloads keep. A payload of more than one batch hands each deflated batch to the output's writer
// thread (`OutputFile.writeBehind`) and deflates the next into a second set of buffers meanwhile. The transform
// may write its results straight into a compressed payload's batch buffer (`reserve`, `commitReserved`) instead of
// handing them over to be copied. Relies on Gzip, Crypto (SHA-256), Dispatch.
import Dispatch
import Gzip

/// Receives output bytes in order (header first, then data) and encodes them.
protocol PayloadSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func finish() throws
    /// Room for at most `count` more bytes in the sink's own buffer, right after what it has taken, for the caller
    /// to fill in place and hand on with `commitReserved` (no copy); nil where the sink keeps no buffer.
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer?
    /// Takes the first `count` bytes of the room `reserve` gave, as if they had been written.
    func commitReserved(_ count: Int) throws
}

extension PayloadSink {
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer? { nil }
    func commitReserved(_ count: Int) throws { preconditionFailure("commitReserved without a reserve") }
}

/// A payload that knows the CRC-32 and length of the uncompressed bytes it took (a zip member's).
protocol ChecksummedPayload: PayloadSink {
    var crc: UInt32 { get }
    var uncompressedCount: Int { get }
}

/// Uncompressed output (.npy, or a stored zip member): bytes pass straight through.
final class PlainPayload: ChecksummedPayload {
    private let destination: OutputFile
    private let checksum: Bool
    private(set) var crc: UInt32 = 0
    private(set) var uncompressedCount = 0
    /// With `checksum`, keeps the CRC-32 of the bytes (zip members); otherwise `crc` stays 0.
    init(_ destination: OutputFile, checksum: Bool = false) {
        self.destination = destination
        self.checksum = checksum
    }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if checksum { crc = CRC32.checksum(bytes, initial: crc) }
        uncompressedCount += bytes.count
        try destination.write(bytes)
    }
    func finish() throws {}
}

/// How to pick the deflate strategy.
public enum StrategyChoice: Sendable, Equatable {
    /// Try the strategies on a sample of the first block and keep the one that compresses best (faster on ties).
    case auto
    case fixed(DeflateStrategy)
}

/// Compressed output deflated on all cores, block by block: block-framed gzip, or one raw deflate stream.
final class BlockDeflatePayload: ChecksummedPayload {
    /// How the blocks are framed.
    enum Framing {
        /// Each block a complete gzip member of npyexp's block format (.npy.gz).
        case gzipMembers
        /// Each block a segment of one raw deflate stream, the last one final (a deflated zip member).
        case deflateSegments
    }
    private let destination: OutputFile
    private let framing: Framing
    /// CRC-32 of the uncompressed bytes (kept for `.deflateSegments`; the gzip members carry their own).
    private(set) var crc: UInt32 = 0
    private(set) var uncompressedCount = 0
    private let level: Int
    private var strategy: DeflateStrategy?
    private let blockSize: Int
    private let jobs: Int
    /// Whether batches may be handed to the output's writer thread (else each is written before the next is made).
    private let writeBehind: Bool
    private let batch: AlignedBuffer
    private var filled = 0
    /// Reusable member buffers, one per block of a batch (no allocation per block), made when first needed: two
    /// sets once batches are written behind, one deflated into while the other is being written.
    private var memberSets: [[AlignedBuffer]] = [[], []]
    /// The set the next batch is deflated into.
    private var currentSet = 0

    init(
        _ destination: OutputFile, framing: Framing = .gzipMembers, level: Int, strategy: StrategyChoice,
        blockSize: Int, jobs: Int, writeBehind: Bool
    ) {
        self.destination = destination
        self.writeBehind = writeBehind
        self.framing = framing
        self.level = level
        if case .fixed(let s) = strategy { self.strategy = s }
        self.blockSize = blockSize
        self.jobs = max(1, jobs)
        // Two blocks per core keeps both cores busy when block costs differ; threads beyond the cores add nothing
        // but memory, so they do not add blocks.
        let blocks = max(2, 2 * min(self.jobs, ExpConfiguration.availableCores))
        batch = AlignedBuffer(byteCount: blocks * blockSize)
    }


    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var filled = self.filled
        defer { self.filled = filled }
        uncompressedCount += bytes.count
        try batch.gather(bytes, filled: &filled) { try flush($0, last: false) }
    }

    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer? {
        let room = min(count, batch.count - filled)
        return room > 0 ? UnsafeMutableRawBufferPointer(start: batch.base + filled, count: room) : nil
    }

    func commitReserved(_ count: Int) throws {
        precondition(count >= 0 && filled + count <= batch.count, "committed more than the reserved room")
        uncompressedCount += count
        filled += count
        if filled == batch.count {
            let full = filled
            filled = 0
            try flush(full, last: false)
        }
    }

    func finish() throws {
        try flush(filled, last: true)
        filled = 0
        try destination.finishWrites()
    }

    // The writer thread may still be reading a set of member buffers: they must outlive it.
    deinit { destination.stopWriteBehind() }

    /// Deflates the first `filled` bytes of the batch, one block per core, and writes the blocks in order; `last`:
    /// the batch ends the payload (a deflate stream's final segment, empty if need be).
    private func flush(_ filled: Int, last: Bool) throws {
        guard filled > 0 || (last && framing == .deflateSegments) else { return }
        let strategy = self.strategy ?? chooseStrategy(filled)
        self.strategy = strategy
        let blocks = max(1, (filled + blockSize - 1) / blockSize)
        let level = self.level
        let framing = self.framing
        let blockSize = self.blockSize
        let total = filled
        let input = SharedPointer(raw: batch.base)
        while memberSets[currentSet].count < blocks {
            let room = framing == .gzipMembers
                ? GzipBlocks.maxMemberByteCount(inputCount: blockSize) : DeflateSegments.maxByteCount(inputCount: blockSize)
            memberSets[currentSet].append(AlignedBuffer(byteCount: room))
        }
        let members = memberSets[currentSet]
        let outputs = members.map { SharedPointer(raw: $0.base) }
        let room = members[0].count
        // Each block is deflated into its own buffer; sizes (and segment CRCs) come back in block order.
        let results = try Parallel.mapThrowing(blocks, jobs: jobs) { i -> (size: Int, crc: UInt32) in
            let start = i * blockSize
            let block = UnsafeRawBufferPointer(start: input.raw + start, count: max(0, min(blockSize, total - start)))
            let into = UnsafeMutableRawBufferPointer(start: outputs[i].raw, count: room)
            switch framing {
            case .gzipMembers:
                return (try GzipBlocks.compressMember(block, level: level, strategy: strategy, into: into), 0)
            case .deflateSegments:
                let segment = try DeflateSegments.compress(
                    block, level: level, strategy: strategy, final: last && i == blocks - 1, into: into)
                return (segment.count, segment.crc)
            }
        }
        if framing == .deflateSegments {
            for (i, result) in results.enumerated() {
                crc = CRC32.combine(crc, result.crc, secondCount: min(blockSize, total - i * blockSize))
            }
        }
        let pieces = zip(members, results).map { UnsafeRawBufferPointer(start: $0.base, count: $1.size) }
        if !writeBehind || (last && !destination.writesBehind) {
            // The whole payload in one batch (a small file), or no writer thread wanted: written here.
            for piece in pieces { try destination.write(piece) }
            destination.startWriteback()
        } else {
            // Hashed and written on the output's writer thread while the next batch is made in the other set.
            try destination.writeBehind(pieces)
            currentSet = 1 - currentSet
        }
    }

    /// Payloads under this size (in all: the first flush of a larger one is a whole batch) skip the strategy trials.
    static let smallPayload = 16 << 10

    /// The sample is the start of the first batch: up to 256 KiB, header included, as later blocks resemble it.
    private func chooseStrategy(_ filled: Int) -> DeflateStrategy {
        // A payload that fits in one small batch (a small file) is deflated the way gzip does it: trying the four
        // strategies would cost four deflates of it, which is most of a small file's CPU time, for a few bytes.
        if filled < Self.smallPayload { return .default }
        let sample = UnsafeRawBufferPointer(start: batch.base, count: min(filled, 256 << 10))
        return GzipBlocks.chooseStrategy(sample: sample, level: level)
    }

}
