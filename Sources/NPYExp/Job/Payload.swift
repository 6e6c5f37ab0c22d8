// Payload: the encoding stage. Output bytes go to an `OutputFile` (an atomic temporary, or standard output), which
// hashes them while writing, never by re-reading. The gzip payload is cut into fixed-size blocks of
// the uncompressed stream, each deflated as a complete gzip member on its own core (GzipBlocks); fixed boundaries
// keep outputs byte-identical for equal inputs whatever the chunking. Relies on Gzip, Crypto (SHA-256), Dispatch.
import Dispatch
import Gzip

/// Receives output bytes in order (header first, then data) and encodes them.
protocol PayloadSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func finish() throws
}

/// Uncompressed .npy output: bytes pass straight through.
final class PlainPayload: PayloadSink {
    private let destination: OutputFile
    init(_ destination: OutputFile) { self.destination = destination }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try destination.write(bytes) }
    func finish() throws {}
}

/// How to pick the deflate strategy.
public enum StrategyChoice: Sendable, Equatable {
    /// Try the strategies on a sample of the first block and keep the one that compresses best (faster on ties).
    case auto
    case fixed(DeflateStrategy)
}

/// Block-framed gzip output, deflated on all cores.
final class BlockGzipPayload: PayloadSink {
    private let destination: OutputFile
    private let level: Int
    private var strategy: DeflateStrategy?
    private let blockSize: Int
    private let jobs: Int
    private let batch: AlignedBuffer
    private var filled = 0
    /// One reusable member buffer per block of a batch (no allocation per block), made when first needed.
    private var members: [AlignedBuffer] = []

    init(_ destination: OutputFile, level: Int, strategy: StrategyChoice, blockSize: Int, jobs: Int) {
        self.destination = destination
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
        try batch.gather(bytes, filled: &filled) { try flush($0) }
    }

    func finish() throws {
        try flush(filled)
        filled = 0
    }

    /// Deflates the first `filled` bytes of the batch, one block per core, and writes the members in order.
    private func flush(_ filled: Int) throws {
        guard filled > 0 else { return }
        let strategy = self.strategy ?? chooseStrategy(filled)
        self.strategy = strategy
        let blocks = (filled + blockSize - 1) / blockSize
        let level = self.level
        let blockSize = self.blockSize
        let total = filled
        let input = SharedPointer(raw: batch.base)
        while members.count < blocks {
            members.append(AlignedBuffer(byteCount: GzipBlocks.maxMemberByteCount(inputCount: blockSize)))
        }
        let outputs = members.map { SharedPointer(raw: $0.base) }
        let room = members[0].count
        // Each block is deflated into its own member buffer; the member sizes come back in block order.
        let sizes = try Parallel.mapThrowing(blocks, jobs: jobs) { i in
            let start = i * blockSize
            return try GzipBlocks.compressMember(
                UnsafeRawBufferPointer(start: input.raw + start, count: min(blockSize, total - start)),
                level: level, strategy: strategy,
                into: UnsafeMutableRawBufferPointer(start: outputs[i].raw, count: room))
        }
        for (member, size) in zip(members, sizes) {
            try destination.write(UnsafeRawBufferPointer(start: member.base, count: size))
        }
    }

    /// The sample is the start of the first batch: up to 256 KiB, header included, as later blocks resemble it.
    private func chooseStrategy(_ filled: Int) -> DeflateStrategy {
        let sample = UnsafeRawBufferPointer(start: batch.base, count: min(filled, 256 << 10))
        return GzipBlocks.chooseStrategy(sample: sample, level: level)
    }

}
