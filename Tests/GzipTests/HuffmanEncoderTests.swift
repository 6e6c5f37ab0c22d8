// GzipTests: HuffmanDeflate, the Huffman-only raw deflate encoder. Every stream must inflate to the input through
// zlib's raw inflate (in process, via decompressMember) and python's zlib; the block headers are parsed by an
// independent python reader to check the code-length limits (15 and 7), complete codes and the two distance codes;
// sizes are compared with zlib's Z_HUFFMAN_ONLY and gzip level 6 (python's zlib) on numpy-made float data.
// The benchmark is opt-in: GZIP_BENCH=1 swift test -c release --filter HuffmanBenchmarks.
import CZlib
import Foundation
import Testing
@testable import Gzip

/// The raw deflate stream HuffmanDeflate makes for `input`.
func huffmanDeflate(_ input: [UInt8], blockSize: Int = HuffmanDeflate.defaultBlockSize) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: HuffmanDeflate.maxCompressedByteCount(inputCount: input.count,
                                                                                    blockSize: blockSize))
    let count = input.withUnsafeBytes { source in
        output.withUnsafeMutableBytes { HuffmanDeflate.compress(source, into: $0, blockSize: blockSize) }
    }
    return Array(output.prefix(count))
}

/// Inflates a raw deflate stream with zlib's raw inflate; throws on any zlib error or bytes after the stream.
func zlibInflate(_ body: [UInt8], expectedCount: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: expectedCount + 1)   // room for one byte too many, to notice it
    let produced = try body.withUnsafeBytes { raw in
        try output.withUnsafeMutableBytes { try rawInflate(raw, into: $0) }
    }
    return Array(output.prefix(produced))
}

/// zlib raw inflate of a whole stream; throws if zlib reports an error or data is left over.
func rawInflate(_ body: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
    let (consumed, produced, ended) = try ZStream(inflateWindowBits: -15).inflate(body, into: output)
    guard ended else { throw GzipError(.truncated, detail: "raw stream did not end") }
    guard consumed == body.count else {
        throw GzipError(.corruptData, detail: "\(body.count - consumed) bytes after the end of the stream")
    }
    return produced
}

/// Python: parses every block header of the raw stream in file argv[1] with its own bit reader, inflates it with
/// python's zlib, and prints one JSON object: the block types, the largest literal and code-length code lengths,
/// whether each literal code is complete (Kraft sum 1), the distance code lengths, and whether zlib's output
/// equals the file argv[2].
let headerReader = """
    import sys, json, zlib
    from fractions import Fraction
    d = open(sys.argv[1], 'rb').read()
    pos = 0
    def bits(n):
        global pos
        v = 0
        for i in range(n):
            v |= ((d[pos >> 3] >> (pos & 7)) & 1) << i
            pos += 1
        return v
    def decoder(lengths):
        table, code = {}, 0
        for length in range(1, 16):
            for sym, l in enumerate(lengths):
                if l == length:
                    table[(length, code)] = sym
                    code += 1
            code <<= 1
        return table
    def decode(table):
        code, length = 0, 0
        while True:
            code = code << 1 | bits(1)
            length += 1
            if (length, code) in table:
                return table[(length, code)]
            assert length <= 15, 'bad code'
    fixed = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
    out = {'types': [], 'maxLit': 0, 'maxCL': 0, 'complete': True, 'dist': [], 'hlit': []}
    while True:
        final, kind = bits(1), bits(2)
        out['types'].append(kind)
        if kind == 0:
            pos = (pos + 7) // 8 * 8
            n = bits(16); bits(16); pos += 8 * n
        else:
            if kind == 1:
                lit = decoder(fixed)
            else:
                hlit, hdist, hclen = bits(5) + 257, bits(5) + 1, bits(4) + 4
                order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
                cl = [0] * 19
                for i in range(hclen): cl[order[i]] = bits(3)
                out['maxCL'] = max(out['maxCL'], max(cl))
                if sum(Fraction(1, 2 ** l) for l in cl if l) != 1: out['complete'] = False
                cltable, lengths = decoder(cl), []
                while len(lengths) < hlit + hdist:
                    s = decode(cltable)
                    if s < 16: lengths.append(s)
                    elif s == 16: lengths += [lengths[-1]] * (3 + bits(2))
                    elif s == 17: lengths += [0] * (3 + bits(3))
                    else: lengths += [0] * (11 + bits(7))
                assert len(lengths) == hlit + hdist
                litl, distl = lengths[:hlit], lengths[hlit:]
                out['hlit'].append(hlit)
                out['dist'].append(distl)
                out['maxLit'] = max(out['maxLit'], max(litl))
                if sum(Fraction(1, 2 ** l) for l in litl if l) != 1: out['complete'] = False
                lit = decoder(litl)
            while True:
                s = decode(lit)
                if s == 256: break
                assert s < 256, 'length code in a Huffman-only stream'
        if final: break
    out['trailing'] = len(d) - (pos + 7) // 8
    out['zlibEqual'] = zlib.decompress(d, -15) == open(sys.argv[2], 'rb').read()
    print(json.dumps(out))
    """

struct HeaderReport: Decodable {
    var types: [Int]
    var maxLit: Int
    var maxCL: Int
    var complete: Bool
    var dist: [[Int]]
    var hlit: [Int]
    var trailing: Int
    var zlibEqual: Bool
}

/// Runs the python header reader on `stream`, made from `input`.
func pythonReport(_ stream: [UInt8], input: [UInt8]) throws -> HeaderReport {
    let streamPath = try temporaryFile(stream, suffix: ".deflate")
    let inputPath = try temporaryFile(input, suffix: ".bin")
    defer {
        try? FileManager.default.removeItem(atPath: streamPath)
        try? FileManager.default.removeItem(atPath: inputPath)
    }
    return try JSONDecoder().decode(HeaderReport.self, from: Data(python(headerReader, [streamPath, inputPath])))
}

/// Raw-deflate sizes that python's zlib gives `input` with Z_HUFFMAN_ONLY and with the default strategy at level 6.
func zlibSizes(_ input: [UInt8]) throws -> (huffman: Int, level6: Int) {
    let path = try temporaryFile(input, suffix: ".bin")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let text = try python("""
        import sys, zlib
        d = open(sys.argv[1], 'rb').read()
        for s in (zlib.Z_HUFFMAN_ONLY, zlib.Z_DEFAULT_STRATEGY):
            c = zlib.compressobj(6, zlib.DEFLATED, -15, 8, s)
            print(len(c.compress(d) + c.flush()))
        """, [path])
    let numbers = String(decoding: text, as: UTF8.self).split(separator: "\n").map { Int($0)! }
    return (numbers[0], numbers[1])
}

/// Symbol i (0...25) repeated Fibonacci(i+2) times (1, 2, 3, 5, ...), shuffled: with end-of-block's count of 1,
/// every merge of the Huffman construction is forced (no ties), so an unlimited code would be 26 bits deep.
func fibonacciBytes() -> [UInt8] {
    var bytes: [UInt8] = []
    var (a, b) = (1, 2)
    for symbol in 0..<26 {
        bytes.append(contentsOf: repeatElement(UInt8(symbol * 7), count: a))
        (a, b) = (b, a + b)
    }
    var generator = SeededGenerator(seed: 99)
    bytes.shuffle(using: &generator)
    return bytes
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

@Suite struct HuffmanEncoderTests {
    static let floatData: [UInt8] = try! numpyFloat32("np.exp(rng.standard_normal(n, dtype=np.float32))",
                                                      count: 262_144)   // 1 MiB

    static let cases: [(String, [UInt8], Int)] = [
        ("empty", [], HuffmanDeflate.defaultBlockSize),
        ("one byte", [0x41], HuffmanDeflate.defaultBlockSize),
        ("all 0xab", [UInt8](repeating: 0xab, count: 200_000), HuffmanDeflate.defaultBlockSize),
        ("two symbols", randomBytes(150_000, seed: 1).map { $0 & 1 == 0 ? 0x10 : 0xf0 }, HuffmanDeflate.defaultBlockSize),
        ("random", randomBytes(300_000, seed: 2), HuffmanDeflate.defaultBlockSize),
        ("mixed", mixedBytes(count: 250_000, seed: 3), HuffmanDeflate.defaultBlockSize),
        ("fibonacci", fibonacciBytes(), 1 << 20),
        ("block - 1", mixedBytes(count: 65_535, seed: 4), HuffmanDeflate.defaultBlockSize),
        ("block", mixedBytes(count: 65_536, seed: 5), HuffmanDeflate.defaultBlockSize),
        ("block + 1", mixedBytes(count: 65_537, seed: 6), HuffmanDeflate.defaultBlockSize),
        ("2 blocks + 7", mixedBytes(count: 131_079, seed: 7), HuffmanDeflate.defaultBlockSize),
        ("small blocks", mixedBytes(count: 10_001, seed: 8), 1000),
        ("1-byte blocks", mixedBytes(count: 37, seed: 9), 1),
        ("random, 200 KiB blocks", randomBytes(300_000, seed: 10), 200 << 10),
        ("float32 exp(N(0,1))", floatData, HuffmanDeflate.defaultBlockSize),
        // Stored, dynamic and 1-bit blocks in turn: each block's counts are taken while the one before is written.
        ("random, mixed, constant", randomBytes(70_000, seed: 12) + mixedBytes(count: 100_003, seed: 13)
            + [UInt8](repeating: 9, count: 70_000) + randomBytes(3, seed: 14), HuffmanDeflate.defaultBlockSize),
    ]

    /// Every case inflates back through zlib in process, and through python's zlib after an independent parse
    /// of every block header: literal codes complete and at most 15 bits, code-length codes at most 7, two
    /// distance codes of length 1, nothing after the final block.
    @Test(arguments: 0..<cases.count)
    func roundTripAndHeaders(index: Int) throws {
        let (name, input, blockSize) = Self.cases[index]
        let stream = huffmanDeflate(input, blockSize: blockSize)
        #expect(try zlibInflate(stream, expectedCount: input.count) == input, "\(name)")
        let report = try pythonReport(stream, input: input)
        #expect(report.zlibEqual, "\(name)")
        #expect(report.trailing == 0, "\(name)")
        #expect(report.maxLit <= 15 && report.maxCL <= 7, "\(name)")
        #expect(report.complete, "\(name)")
        #expect(report.dist.allSatisfy { $0 == [1, 1] } && report.hlit.allSatisfy { $0 == 257 }, "\(name)")
        if blockSize == HuffmanDeflate.defaultBlockSize {
            let zlib = try zlibSizes(input).huffman
            #expect(stream.count * 1000 <= zlib * 1001 + 8000, "\(name): ours \(stream.count), zlib \(zlib)")
        }
    }

    /// The length limit is hit and handled: Fibonacci frequencies need 25-bit codes unlimited, and the limited code
    /// costs little more than the entropy bound.
    @Test func fibonacciFrequenciesAreLimitedTo15Bits() throws {
        let input = fibonacciBytes()
        let stream = huffmanDeflate(input, blockSize: 1 << 20)
        let report = try pythonReport(stream, input: input)
        #expect(report.types == [2])
        #expect(report.maxLit == 15)
        #expect(report.complete && report.zlibEqual)
        let sizes = try zlibSizes(input)
        print("fibonacci \(input.count) bytes: ours \(stream.count), zlib huffman \(sizes.huffman)")
        #expect(stream.count <= sizes.huffman)
    }

    /// Degenerate blocks: an empty input is zlib's empty stream (fixed block, end-of-block); one byte is a fixed
    /// block too; one distinct byte value is a dynamic block with 1-bit codes.
    @Test func degenerateInputs() throws {
        #expect(huffmanDeflate([]) == [0x03, 0x00])
        let one = try pythonReport(huffmanDeflate([0x41]), input: [0x41])
        #expect(one.types == [1] && one.zlibEqual)
        let same = [UInt8](repeating: 7, count: 80_000)
        let stream = huffmanDeflate(same, blockSize: 1 << 17)
        let report = try pythonReport(stream, input: same)
        #expect(report.types == [2] && report.maxLit == 1 && report.complete && report.zlibEqual)
        #expect(stream.count < 80_000 / 8 + 40)
    }

    /// A 64 KiB block whose halves differ (random, then one byte value) is cut at a chunk boundary: a stored block
    /// for the random half, a 1-bit dynamic block for the rest; far smaller than one block for both.
    @Test func blockIsSplitWhereStatisticsChange() throws {
        let input = randomBytes(32_768, seed: 15) + [UInt8](repeating: 5, count: 32_768)
        let stream = huffmanDeflate(input)
        let report = try pythonReport(stream, input: input)
        #expect(report.types == [0, 2] && report.zlibEqual)
        #expect(stream.count < 32_768 + 32_768 / 8 + 100)
        #expect(stream.count <= (try zlibSizes(input)).huffman)
    }

    /// Incompressible data goes out as stored blocks, no larger than zlib's choice.
    @Test func randomDataIsStored() throws {
        let input = randomBytes(200_000, seed: 11)
        let stream = huffmanDeflate(input)
        let report = try pythonReport(stream, input: input)
        #expect(report.types.allSatisfy { $0 == 0 } && report.zlibEqual)
        #expect(stream.count <= (try zlibSizes(input)).huffman)
    }

    /// On 1 MiB of float32 exp(N(0,1)) (numpy): no more than 0.1% over zlib's Z_HUFFMAN_ONLY, and no larger than
    /// zlib's default strategy at level 6 (what python's gzip writes).
    @Test func floatSizesAgainstZlib() throws {
        let stream = huffmanDeflate(Self.floatData)
        let sizes = try zlibSizes(Self.floatData)
        print("float32 exp(N(0,1)) 1 MiB: ours \(stream.count), zlib huffman \(sizes.huffman), zlib level 6 \(sizes.level6)")
        #expect(stream.count * 1000 <= sizes.huffman * 1001)
        #expect(stream.count <= sizes.level6)
    }

    /// Members from compressMember(.huffman) (our encoder) read back by gzip(1) and python's gzip module, float data,
    /// a constant block and the empty end marker included.
    @Test func membersReadByGzipAndPython() throws {
        var input = Self.floatData
        input += [UInt8](repeating: 0, count: 100_000)
        input += mixedBytes(count: 300_000, seed: 12)
        let (file, members) = try blockFile(input, blockSize: 1 << 19, strategy: .huffman, endMarker: true)
        #expect(members.count == 4)
        let path = try temporaryFile(file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let gzip = try run(["gzip", "-dc", path])
        #expect(gzip.status == 0 && gzip.stdout == input)
        let py = try python("import gzip, sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())", [path])
        #expect(py == input)
        // The member body is our encoder's stream, byte for byte.
        let first = Array(file[GzipBlocks.headerByteCount..<(members[0].count - GzipBlocks.trailerByteCount)])
        #expect(first == huffmanDeflate(Array(input[0..<(1 << 19)])))
    }
}

/// Throughput of HuffmanDeflate against zlib's Z_HUFFMAN_ONLY (raw deflate, level 6) on 16 blocks of 1 MiB of
/// float32 exp(N(0,1)) from numpy, one core. Opt-in and meant for a release build:
/// GZIP_BENCH=1 swift test -c release --filter HuffmanBenchmarks. Reports medians of 7 runs, by thread CPU time
/// (the machine is shared: wall time counts other people's load) and by wall time.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["GZIP_BENCH"] != nil), .serialized)
struct HuffmanBenchmarks {
    static func clock(_ id: clockid_t) -> Double {
        var t = timespec()
        clock_gettime(id, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    @Test func againstZlibHuffmanOn1MiBBlocks() throws {
        let blocks = 16, blockSize = 1 << 20
        let data = try numpyFloat32("np.exp(rng.standard_normal(n, dtype=np.float32))", count: blocks * blockSize / 4)
        var scratch = [UInt8](repeating: 0, count: 2 * blockSize)
        func zlibHuffman(_ block: UnsafeRawBufferPointer) throws -> Int {
            let stream = ZStream(deflateLevel: 6, strategy: .huffman, windowBits: -15)
            return try scratch.withUnsafeMutableBytes { try stream.deflateAll(block, into: $0) }
        }
        func ours(_ block: UnsafeRawBufferPointer) -> Int {
            scratch.withUnsafeMutableBytes { HuffmanDeflate.compress(block, into: $0) }
        }
        var cpu: [String: [Double]] = [:], wall: [String: [Double]] = [:], sizes: [String: Int] = [:]
        try data.withUnsafeBytes { all in
            for _ in 0..<7 {
                for (name, encode) in [("zlib", { try zlibHuffman($0) }), ("ours", { ours($0) })]
                    as [(String, (UnsafeRawBufferPointer) throws -> Int)] {
                    let cpuStart = Self.clock(CLOCK_THREAD_CPUTIME_ID), wallStart = Self.clock(CLOCK_MONOTONIC)
                    var total = 0
                    for block in 0..<blocks {
                        total += try encode(UnsafeRawBufferPointer(rebasing: all[(block * blockSize)..<((block + 1) * blockSize)]))
                    }
                    cpu[name, default: []].append(Double(data.count) / (Self.clock(CLOCK_THREAD_CPUTIME_ID) - cpuStart) / 1e6)
                    wall[name, default: []].append(Double(data.count) / (Self.clock(CLOCK_MONOTONIC) - wallStart) / 1e6)
                    sizes[name] = total
                }
            }
        }
        for name in ["zlib", "ours"] {
            print(String(format: "%@ huffman-only on 16 x 1 MiB float32 exp(N(0,1)): median %.0f MB/s CPU time, %.0f MB/s wall; %d bytes",
                         name, Self.median(cpu[name]!), Self.median(wall[name]!), sizes[name]!))
        }
        #expect(sizes["ours"]! * 1000 <= sizes["zlib"]! * 1001)
    }
}
