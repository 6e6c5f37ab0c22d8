// GzipTests: throughput figures on each inflate library, opt-in (GZIP_BENCH=1 swift test --filter GzipBenchmarks;
// -c release for final numbers). Data comes from numpy; all the heavy work is in zlib (system, optimised), so even a debug build of
// the Swift loops around it gives figures within a few percent. Each figure is the best of a few runs.
import Foundation
import Testing
@testable import Gzip

@Suite(.enabled(if: ProcessInfo.processInfo.environment["GZIP_BENCH"] != nil), .serialized)
struct GzipBenchmarks {
    static func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            let elapsed = start.duration(to: .now)
            best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return best
    }

    static func mbps(_ bytes: Int, _ seconds: Double) -> String {
        String(format: "%.0f MB/s", Double(bytes) / seconds / 1e6)
    }

    @Test(arguments: Backends.testable)
    func decoderOn64MiBFloat32Gzip(backend: InflateBackend) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gzipbench-64mib.npy.gz").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // python's gzip module at level 6: zlib's default strategy, like `gzip -6`.
        _ = try python("""
            import gzip, sys, numpy as np
            a = np.exp(np.random.default_rng(1).standard_normal(16 << 20, dtype=np.float32))
            with gzip.open(sys.argv[1], 'wb', compresslevel=6) as f: f.write(a.tobytes())
            """, [path])
        let compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var produced = 0
        let seconds = try Self.best(of: 3) {
            produced = 0
            let decoder = GzipDecoder(backend: backend)
            try compressed.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {   // 1 MiB reads, as from a file
                    let end = min(offset + (1 << 20), all.count)
                    try decoder.write(UnsafeRawBufferPointer(rebasing: all[offset..<end])) { produced += $0.count }
                    offset = end
                }
            }
            try decoder.finish()
        }
        #expect(produced == 64 << 20)
        print("GzipDecoder (\(backend.libraryName)), 64 MiB float32 exp(N(0,1)) gzip -6 (\(compressed.count) bytes): \(String(format: "%.3f", seconds)) s,",
              Self.mbps(produced, seconds), "out,", Self.mbps(compressed.count, seconds), "in")
    }

    @Test func blocksOf1MiB() throws {
        let blocks = 16, blockSize = 1 << 20
        let data = try numpyFloat32("np.exp(rng.standard_normal(n, dtype=np.float32))", count: blocks * blockSize / 4)
        let integers = try numpyFloat32("rng.integers(0, 100, n).astype(np.float32)", count: blocks * blockSize / 4)
        var output: [UInt8] = []
        output.reserveCapacity(blocks * blockSize * 11 / 10)
        for (name, input) in [("exp(N(0,1))", data), ("integers 0..<100", integers)] {
            for strategy in DeflateStrategy.allCases {
                let seconds = try Self.best(of: 2) {
                    output.removeAll(keepingCapacity: true)
                    try input.withUnsafeBytes { all in
                        for block in 0..<blocks {
                            let slice = all[(block * blockSize)..<((block + 1) * blockSize)]
                            try GzipBlocks.compressMember(UnsafeRawBufferPointer(rebasing: slice), level: 6,
                                                          strategy: strategy, into: &output)
                        }
                    }
                }
                let ratio = Double(output.count) / Double(input.count)
                var restored = [UInt8](repeating: 0, count: blockSize)
                let inflateSeconds = try Self.best(of: 3) {
                    try output.withUnsafeBytes { all in
                        var offset = 0
                        while offset < all.count {
                            let sizes = try GzipBlocks.blockSizes(UnsafeRawBufferPointer(rebasing: all[offset...]))!
                            let member = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + sizes.member)])
                            _ = try restored.withUnsafeMutableBytes { try GzipBlocks.decompressMember(member, into: $0) }
                            offset += sizes.member
                        }
                    }
                }
                print("compressMember level 6 \(strategy) on 1 MiB blocks of \(name): ratio",
                      String(format: "%.4f,", ratio), Self.mbps(input.count, seconds), "in; decompressMember",
                      Self.mbps(input.count, inflateSeconds), "out")
            }
        }
    }

    /// What one z_stream init+end costs, to compare with the time per 1 MiB block above.
    @Test func streamSetupCost() {
        let count = 2000
        let deflateSeconds = Self.best(of: 3) {
            for _ in 0..<count { _ = ZStream(deflateLevel: 6, strategy: .huffman, windowBits: -15) }
        }
        let inflateSeconds = Self.best(of: 3) {
            for _ in 0..<count { _ = ZStream(inflateWindowBits: -15) }
        }
        print(String(format: "z_stream init+end: deflate %.1f us, inflate %.1f us",
                     deflateSeconds / Double(count) * 1e6, inflateSeconds / Double(count) * 1e6))
    }

    @Test(arguments: Backends.testable)
    func crc32Speed(backend: InflateBackend) {
        let bytes = [UInt8](repeating: 0x5a, count: 64 << 20)
        let seconds = Self.best(of: 3) { _ = bytes.withUnsafeBytes { CRC32.checksum($0, initial: 0, backend: backend) } }
        print("CRC32.checksum (\(backend.libraryName)):", Self.mbps(bytes.count, seconds))
    }
}
