// The block-parallel reader past its first 4 MiB batch: an npyexp-made input of 12 MiB (several batches, so the
// refill and tail paths run) read back exactly, and the same stream with its last block replaced by an ordinary
// gzip(1)-style member (as when a file is completed by another tool), which the reader must hand to the serial
// decoder mid-stream and still decode byte for byte. Members are split with Python's zlib, independently of npyexp.
// Then block sizes that do not divide the read-ahead chunk, and chunks smaller than a block, so that members are
// inflated straight into a chunk, into the rest of a chunk after handing a partial one on, or (no chunk can hold
// one) into a buffer of the reader's and copied.
// Relies on the binary, numpy and Python's zlib/gzip.
import Foundation
import NPYExp
import Testing

@Suite struct BlockReaderTests {
    @Test func severalBatchesAndAPlainMemberAppended() throws {
        let dir = try scratchDirectory("blocks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("x.npy")
        try makeNormalInput(plain, elements: 3 << 20, seed: 21)
        // npyexp's own block format of the exp'd tensor, then the same bytes with the last member re-compressed.
        let blocks = dir.appendingPathComponent("y.npy.gz")
        let made = try npyexp(["-c", "--gzip", plain.path])
        #expect(made.status == 0)
        try made.stdout.write(to: blocks)
        let mixed = dir.appendingPathComponent("z.npy.gz")
        try python(
            """
            import gzip, sys, zlib
            data = open(sys.argv[1], "rb").read()
            members, rest = [], data
            while rest:
                d = zlib.decompressobj(31)
                out = d.decompress(rest)
                members.append((rest[: len(rest) - len(d.unused_data)], out))
                rest = d.unused_data
            assert len(members) > 8, len(members)
            last = gzip.compress(members[-1][1], 6)
            open(sys.argv[2], "wb").write(b"".join(m for m, _ in members[:-1]) + last)
            """, [blocks.path, mixed.path])
        // Both read back to the same payload as numpy sees it (gzip module), through npyexp's reader: a second
        // exp over each must give identical bytes.
        let a = try npyexp(["-c", "--no-gzip", blocks.path])
        let b = try npyexp(["-c", "--no-gzip", mixed.path])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        #expect(a.stdout == b.stdout && !a.stdout.isEmpty)
        try a.stdout.write(to: dir.appendingPathComponent("a.npy"))
        try python(
            """
            import gzip, sys, numpy as np
            y = np.load(gzip.open(sys.argv[1]))          # the first stage, read by Python
            z = np.load(sys.argv[2])                      # npyexp's exp of it, through the block reader
            assert z.shape == y.shape and z.dtype == np.float32
            want = np.exp(y.astype(np.float64)).astype(np.float32)
            ulps = np.abs(z.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
            assert ulps.max() <= 1, ulps.max()
            """, [mixed.path, dir.appendingPathComponent("a.npy").path])
    }

    /// A block-framed input made with `block`-byte blocks, read back by the overlapped reader with `chunk`-byte
    /// read-ahead chunks: the second stage equals numpy's exp of the first stage's output as Python's gzip reads it.
    @Test(arguments: [(3 << 20, 4 << 20), (2 << 20, 1 << 20), (512 << 10, (3 << 20) + 4096), (1 << 20, 1 << 20)])
    func blockAndChunkSizesThatDoNotDivide(block: Int, chunk: Int) throws {
        let dir = try scratchDirectory("blocksizes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("x.npy")
        try makeNormalInput(plain, elements: 3 << 20, seed: 22)
        func stage(_ input: URL, _ out: String, block: Int, chunk: Int) throws -> URL {
            var c = ExpConfiguration()
            c.chunkBytes = chunk
            c.blockSize = block
            c.jobs = 2
            c.container = .gzip
            c.outputDirectory = dir.appendingPathComponent(out).path
            let report = ExpPipeline(c).process(try InputDiscovery.expand(input.path)[0])
            guard case .done = report.status, let path = report.outputPath else {
                throw TestFailure("stage failed: \(report.status)")
            }
            return URL(fileURLWithPath: path)
        }
        let first = try stage(plain, "one", block: block, chunk: 4 << 20)
        let second = try stage(first, "two", block: 1 << 20, chunk: chunk)
        try python(
            """
            import gzip, sys, numpy as np
            y = np.load(gzip.open(sys.argv[1]))
            z = np.load(gzip.open(sys.argv[2]))
            assert z.shape == y.shape == (3 << 20,) and z.dtype == np.float32
            want = np.exp(y.astype(np.float64)).astype(np.float32)
            ulps = np.abs(z.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
            assert ulps.max() <= 1, ulps.max()
            """, [first.path, second.path])
    }
}
