// The block-parallel reader past its first 4 MiB batch: an npyexp-made input of 12 MiB (several batches, so the
// refill and tail paths run) read back exactly, and the same stream with its last block replaced by an ordinary
// gzip(1)-style member (as when a file is completed by another tool), which the reader must hand to the serial
// decoder mid-stream and still decode byte for byte. Members are split with Python's zlib, independently of npyexp.
// Relies on the binary, numpy and Python's zlib/gzip.
import Foundation
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
}
