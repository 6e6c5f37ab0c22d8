// GzipTests: the block format. Files of our members must read back identically through gzip(1), python's gzip
// module and pigz; blockSizes must find our members and only ours; decompressMember must check everything;
// chooseStrategy must pick Huffman-only for exp() of normal floats and the default strategy for integer floats
// (data made by numpy).
import Foundation
import Testing
@testable import Gzip

/// Compresses `input` in blocks of `blockSize` and returns the file and each member's (offset, count).
func blockFile(_ input: [UInt8], blockSize: Int, level: Int = 6, strategy: DeflateStrategy = .huffman,
               endMarker: Bool = false) throws -> (file: [UInt8], members: [(offset: Int, count: Int)]) {
    var file: [UInt8] = []
    var members: [(offset: Int, count: Int)] = []
    try input.withUnsafeBytes { all in
        var offset = 0
        repeat {
            let count = min(blockSize, all.count - offset)
            let before = file.count
            try GzipBlocks.compressMember(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]),
                                          level: level, strategy: strategy, into: &file)
            members.append((before, file.count - before))
            offset += count
        } while offset < all.count
    }
    if endMarker {
        let before = file.count
        try GzipBlocks.compressMember(UnsafeRawBufferPointer(start: nil, count: 0), level: level, strategy: strategy,
                                      into: &file)
        members.append((before, file.count - before))
    }
    return (file, members)
}

func numpyFloat32(_ expression: String, count: Int) throws -> [UInt8] {
    try python("""
        import sys, numpy as np
        rng = np.random.default_rng(2024)
        n = int(sys.argv[1])
        sys.stdout.buffer.write(np.ascontiguousarray(\(expression), dtype='<f4').tobytes())
        """, [String(count)])
}

@Suite struct GzipBlocksTests {
    @Test(arguments: [DeflateStrategy.huffman, .default, .rle, .filtered])
    func standardReadersReadBlockFiles(strategy: DeflateStrategy) throws {
        let input = mixedBytes(count: 400_000, seed: 5)
        let (file, members) = try blockFile(input, blockSize: 65_536, strategy: strategy, endMarker: true)
        #expect(members.count == 8)
        let path = try temporaryFile(file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try run(["gzip", "-t", path]).status == 0)
        let gzip = try run(["gzip", "-dc", path])
        #expect(gzip.status == 0 && gzip.stdout == input)
        let py = try python("import gzip, sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())", [path])
        #expect(py == input)
        // Our own streaming decoder sees an ordinary multi-member file.
        #expect(try decode(file) == input)
        guard try run(["sh", "-c", "command -v pigz"]).status == 0 else {
            Issue.record("pigz is not installed (Debian: apt-get install pigz); CI must install it")
            return
        }
        let pigz = try run(["pigz", "-dc", path])
        #expect(pigz.status == 0 && pigz.stdout == input)
    }

    /// python parses our header with struct: the sizes in it are the member's real size and the block's size.
    @Test func headerFieldsAsPythonReadsThem() throws {
        let input = mixedBytes(count: 100_000, seed: 6)
        let (file, members) = try blockFile(input, blockSize: 30_000)
        let path = try temporaryFile(file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = try python("""
            import struct, sys
            d = open(sys.argv[1], 'rb').read(); pos = 0
            while pos < len(d):
                magic, cm, flg, mtime, xfl, os_, xlen = struct.unpack_from('<HBBIBBH', d, pos)
                si1, si2, ln, member, raw = struct.unpack_from('<BBHII', d, pos + 12)
                print(hex(magic), cm, flg, mtime, xfl, os_, xlen, chr(si1) + chr(si2), ln, member, raw)
                pos += member
            """, [path])
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        let rawSizes = [30_000, 30_000, 30_000, 10_000]
        #expect(lines == members.enumerated().map { index, member in
            "0x8b1f 8 4 0 0 255 12 NX 8 \(member.count) \(rawSizes[index])"
        })
    }

    @Test func blockSizesFindsOurMembers() throws {
        let input = mixedBytes(count: 100_000, seed: 8)
        let (file, members) = try blockFile(input, blockSize: 40_000, endMarker: true)
        let rawSizes = [40_000, 40_000, 20_000, 0]
        try file.withUnsafeBytes { all in
            for (index, member) in members.enumerated() {
                let prefix = UnsafeRawBufferPointer(rebasing: all[member.offset..<min(member.offset + 32, all.count)])
                let sizes = try GzipBlocks.blockSizes(prefix)
                #expect(sizes?.member == member.count)
                #expect(sizes?.uncompressed == rawSizes[index])
                var output = [UInt8](repeating: 0, count: rawSizes[index])
                let written = try output.withUnsafeMutableBytes {
                    try GzipBlocks.decompressMember(
                        UnsafeRawBufferPointer(rebasing: all[member.offset..<(member.offset + member.count)]), into: $0)
                }
                #expect(written == rawSizes[index])
                let start = rawSizes[..<index].reduce(0, +)
                #expect(output == Array(input[start..<(start + rawSizes[index])]))
            }
        }
        #expect(members.last?.count == 34)
    }

    @Test(arguments: ["multi.gz", "headers.gz", "pigz.gz", "empty.gz"])
    func blockSizesIsNilForPlainGzip(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let sizes = try bytes.withUnsafeBytes { try GzipBlocks.blockSizes(UnsafeRawBufferPointer(rebasing: $0[..<min(32, $0.count)])) }
        #expect(sizes == nil)
    }

    @Test func blockSizesOnOtherInput() throws {
        #expect(try Array("not gzip at all, certainly".utf8).withUnsafeBytes { try GzipBlocks.blockSizes($0) } == nil)
        #expect(try [UInt8]().withUnsafeBytes { try GzipBlocks.blockSizes($0) } == nil)
        let (file, _) = try blockFile(mixedBytes(count: 1000, seed: 1), blockSize: 1000)
        func verdict(_ bytes: [UInt8]) -> GzipError.Kind? {
            do { _ = try bytes.withUnsafeBytes { try GzipBlocks.blockSizes($0) }; return nil }
            catch let error as GzipError { return error.kind } catch { return nil }
        }
        #expect(verdict(Array(file[..<20])) == .truncated)
        var method = file; method[2] = 9
        #expect(verdict(method) == .badHeader)
        var reserved = file; reserved[3] |= 0x80
        #expect(verdict(reserved) == .badHeader)
        var xlen = file; xlen[10] = 13
        #expect(verdict(xlen) == .badHeader)
        var sizes = file; sizes[20...23] = [0xff, 0xff, 0xff, 0x7f]   // 2 GiB from a 1 KB member: impossible
        #expect(verdict(sizes) == .badHeader)
    }

    @Test(arguments: Backends.testable)
    func decompressMemberErrorKinds(backend: InflateBackend) throws {
        let input = mixedBytes(count: 50_000, seed: 12)
        let (file, _) = try blockFile(input, blockSize: 50_000, strategy: .default)
        func verdict(_ bytes: [UInt8], room: Int = 50_000) -> GzipError? {
            var output = [UInt8](repeating: 0, count: room)
            do {
                _ = try bytes.withUnsafeBytes { member in
                    try output.withUnsafeMutableBytes { try GzipBlocks.decompressMember(member, into: $0, backend: backend) }
                }
                return nil
            } catch let error as GzipError { return error } catch { return nil }
        }
        #expect(verdict(file) == nil)
        var crc = file; crc[file.count - 6] ^= 0x10
        #expect(verdict(crc)?.kind == .crcMismatch)
        var isize = file; isize[file.count - 3] ^= 0x10
        #expect(verdict(isize)?.kind == .lengthMismatch)
        // First body byte 0xff: BFINAL 1, BTYPE 11, which RFC 1951 reserves.
        var body = file; body[GzipBlocks.headerByteCount] = 0xff
        #expect(verdict(body) == GzipError(.corruptData, detail: "invalid block type"))
        #expect(verdict(Array(file.dropLast(5)))?.kind == .truncated)
        #expect(verdict(file + [0])?.kind == .trailingGarbage)
        #expect(verdict(file, room: 49_999)?.kind == .lengthMismatch)
        #expect(verdict(Array("plain text".utf8))?.kind == .notGzip)
        // Header and trailer agree with each other but not with the data: the header size is checked too.
        var both = file
        both[20...23] = [0x4f, 0xc3, 0, 0]   // 49_999 in the header
        #expect(verdict(both)?.kind == .lengthMismatch)
    }

    /// decompressMember also takes plain members from gzip(1), and insists that deflate ends at the trailer.
    @Test(arguments: Backends.testable)
    func decompressMemberOnPlainGzip(backend: InflateBackend) throws {
        let input = mixedBytes(count: 20_000, seed: 13)
        let rawPath = try temporaryFile(input, suffix: ".bin")
        defer { try? FileManager.default.removeItem(atPath: rawPath) }
        let plain = try run(["sh", "-c", "gzip -n -c < \"$0\"", rawPath]).stdout
        var output = [UInt8](repeating: 0, count: input.count)
        let written = try plain.withUnsafeBytes { member in
            try output.withUnsafeMutableBytes { try GzipBlocks.decompressMember(member, into: $0, backend: backend) }
        }
        #expect(written == input.count && output == input)
        var padded = plain
        padded.insert(0, at: plain.count - 8)
        #expect(throws: GzipError(.corruptData, detail: "deflate data ends 1 bytes before the trailer")) {
            try padded.withUnsafeBytes { member in
                try output.withUnsafeMutableBytes { try GzipBlocks.decompressMember(member, into: $0, backend: backend) }
            }
        }
    }

    /// exp() of N(0,1) float32 gives Huffman-only (LZ77 finds nothing in random mantissas); integer-valued float32
    /// gives an LZ strategy. Sizes per zlib strategy must equal python's zlib (same system zlib 1.2.13) on the same
    /// data; the huffman size is HuffmanDeflate's.
    @Test(arguments: [
        ("np.exp(rng.standard_normal(n, dtype=np.float32))", [DeflateStrategy.huffman]),
        ("rng.integers(0, 100, n).astype(np.float32)", [.default, .filtered]),
    ])
    func chooseStrategyOnNumpyData(expression: String, allowed: [DeflateStrategy]) throws {
        let data = try numpyFloat32(expression, count: 262_144)   // 1 MiB
        let path = try temporaryFile(data, suffix: ".bin")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = try python("""
            import sys, zlib
            d = open(sys.argv[1], 'rb').read()
            for name in ['default', 'filtered', 'huffman', 'rle']:
                s = {'default': zlib.Z_DEFAULT_STRATEGY, 'filtered': zlib.Z_FILTERED,
                     'huffman': zlib.Z_HUFFMAN_ONLY, 'rle': zlib.Z_RLE}[name]
                c = zlib.compressobj(6, zlib.DEFLATED, -15, 8, s)
                print(name, len(c.compress(d) + c.flush()))
            """, [path])
        let expected = String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
        let sizes = data.withUnsafeBytes { GzipBlocks.strategySizes(sample: $0, level: 6) }
        // huffman is HuffmanDeflate's size (what compressMember writes): within 0.1% of zlib's Z_HUFFMAN_ONLY.
        #expect(sizes.filter { $0.strategy != .huffman }.map { "\($0.strategy.rawValue) \($0.size)" }
                == expected.filter { !$0.hasPrefix("huffman ") })
        let zlibHuffman = Int(expected.first { $0.hasPrefix("huffman ") }!.dropFirst(8))!
        let ownHuffman = sizes.first { $0.strategy == .huffman }!.size
        #expect(ownHuffman * 1000 <= zlibHuffman * 1001)
        #expect(ownHuffman == data.withUnsafeBytes { sample in
            huffmanDeflate(Array(sample)).count
        })
        let chosen = data.withUnsafeBytes { GzipBlocks.chooseStrategy(sample: $0, level: 6) }
        #expect(allowed.contains(chosen))
        // The choice is within 1% of the smallest size.
        let smallest = sizes.map(\.size).min()!
        #expect(sizes.first { $0.strategy == chosen }!.size * 100 <= smallest * 101)
    }

    @Test func parallelCompressAndDecompress() throws {
        let input = mixedBytes(count: 1 << 20, seed: 14)
        let blocks = 16, blockSize = input.count / blocks
        let results = LockedBox<[Int: [UInt8]]>([:])
        DispatchQueue.concurrentPerform(iterations: blocks) { index in
            var member: [UInt8] = []
            var output = [UInt8](repeating: 0, count: blockSize)
            input.withUnsafeBytes { all in
                let block = UnsafeRawBufferPointer(rebasing: all[(index * blockSize)..<((index + 1) * blockSize)])
                try! GzipBlocks.compressMember(block, level: 6, strategy: .default, into: &member)
            }
            _ = try! member.withUnsafeBytes { m in try output.withUnsafeMutableBytes { try GzipBlocks.decompressMember(m, into: $0) } }
            results.update { $0[index] = output }
        }
        let joined = (0..<blocks).flatMap { results.value[$0]! }
        #expect(joined == input)
    }
}
