// Gzip: a Huffman-only raw deflate encoder (RFC 1951), for data where LZ77 finds nothing (float tensors).
// zlib's Z_HUFFMAN_ONLY tallies each byte through its LZ77 machinery (~70-150 MB/s here); this encoder counts bytes
// (4 sub-histograms so that repeated bytes do not serialise on one counter), builds a length-limited canonical code
// per block (Moffat-Katajainen lengths, then a Kraft-sum repair as zlib and miniz do) and writes codes through a
// 64-bit bit buffer flushed with unaligned 8-byte stores, counting the next region's bytes in the same loop.
// Relies on nothing but the standard library; the output is checked against zlib's inflate in the tests.
//
// Input is taken in regions of `blockSize` bytes (64 KiB: the smallest output on float32 exp(N(0,1)) among 8 KiB to
// 1 MiB), each counted in 4 chunks; a chunk whose statistics differ from the block before it (entropy bound against
// header cost) starts a new block, so non-stationary data adapts like zlib's 16 KiB blocks while stationary data
// pays a quarter of zlib's headers. Each block is written in whichever form is smallest, as zlib's _tr_flush_block
// decides: dynamic Huffman (the usual case), fixed Huffman (tiny blocks) or stored (incompressible data). The dynamic
// header follows zlib's habits: code lengths limited to 15 (literal/length) and 7 (code-length code), code lengths
// run-length coded with symbols 16/17/18, every tree has at least two codes, and two distance codes of length 1 are
// declared though no distance is ever used (old inflaters reject a block without any).

/// Huffman-only raw deflate: literals and end-of-block only, 1 to 4 blocks per `blockSize` input bytes, the last
/// marked final, the stream ending on a byte boundary. ~10x zlib's Z_HUFFMAN_ONLY throughput here, and slightly
/// smaller output on float data (fewer block headers).
public enum HuffmanDeflate {
    /// Input bytes per region: one deflate block, or (from 16 KiB up) up to 4 where the statistics change.
    public static let defaultBlockSize = 1 << 16

    /// Room that `compress` needs in its output for `inputCount` bytes (worst case: every block stored), including
    /// 8 bytes of slack for the encoder's whole-word stores.
    public static func maxCompressedByteCount(inputCount: Int, blockSize: Int = defaultBlockSize) -> Int {
        precondition(inputCount >= 0 && blockSize > 0, "negative input count or non-positive block size")
        let blocks = Workspace.maxChunks * max(1, (inputCount + blockSize - 1) / blockSize)   // 1-4 per region
        // Each block costs at most its bytes + 5 per stored chunk of <= 65535 bytes + 2 bytes of header/padding bits.
        let chunks = inputCount / 65_535 + blocks
        return inputCount + 5 * chunks + 2 * blocks + 2 + 8
    }

    /// Writes `input` as a raw deflate stream into `output`, which must hold
    /// `maxCompressedByteCount(inputCount: input.count, blockSize:)` bytes; returns the bytes of the stream (the
    /// bytes after it, up to 8, may have been overwritten). An empty input gives the 2-byte empty stream.
    /// Thread-safe: all state is local to the call. With `final` false the stream is a segment to be continued by
    /// another: no block is marked final and it ends with an empty stored block (a sync flush, 5 bytes at most), on a
    /// byte boundary, so that segments deflated apart concatenate into one stream (an empty segment is 0 bytes).
    public static func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                blockSize: Int = defaultBlockSize, final: Bool = true) -> Int {
        precondition(blockSize > 0 && blockSize <= 1 << 24, "block size \(blockSize) outside 1...16 MiB")
        precondition(output.count >= maxCompressedByteCount(inputCount: input.count, blockSize: blockSize),
                     "output of \(output.count) bytes is smaller than maxCompressedByteCount")
        let start = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var sink = BitSink(next: start)
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else {
            if !final { return 0 }
            // BFINAL 1, BTYPE 01 (fixed), end-of-block (seven 0 bits): what zlib writes for an empty input.
            sink.put(0b011, 3)
            sink.put(0, 7)
            sink.alignToByte()
            return sink.next - start
        }
        let work = Workspace()
        defer { work.release() }
        // The input is cut into regions of blockSize bytes, each counted in up to 4 chunks while the region before
        // it is written (see writeLiterals); the first on its own. A region becomes 1 to 4 deflate blocks.
        work.chunkSize = blockSize >= 4 * 4096 ? (blockSize + 3) / 4 : blockSize
        work.endsStream = final
        var offset = 0, count = min(blockSize, input.count)
        work.clearHistograms()
        work.countChunks(base, 0, count)
        while offset < input.count {
            let nextOffset = offset + count
            let nextCount = min(blockSize, input.count - nextOffset)
            work.encodeRegion(base + offset, count: count, next: base + nextOffset, nextCount: nextCount, sink: &sink)
            offset = nextOffset
            count = nextCount
        }
        if !final {
            // An empty stored block, not final: BFINAL 0, BTYPE 00, pad to the byte, LEN 0, NLEN 0xffff.
            sink.put(0, 3)
            sink.alignToByte()
            sink.put(0xffff_0000, 32)
            sink.flush()
        }
        sink.alignToByte()
        return sink.next - start
    }
}

/// LSB-first bit writer: `bits` holds `count` pending bits; `flush` stores 8 bytes at `next` and advances by the
/// whole bytes, so after it fewer than 8 bits are pending and up to 56 more may be put before the next flush.
struct BitSink {
    var next: UnsafeMutablePointer<UInt8>
    var bits: UInt64 = 0
    var count: UInt64 = 0

    init(next: UnsafeMutablePointer<UInt8>) { self.next = next }

    @inline(__always) mutating func put(_ value: UInt64, _ width: UInt64) {
        bits |= value &<< count
        count &+= width
    }

    @inline(__always) mutating func flush() {
        UnsafeMutableRawPointer(next).storeBytes(of: bits.littleEndian, as: UInt64.self)
        let whole = count & ~7
        next += Int(truncatingIfNeeded: whole &>> 3)
        bits = bits &>> whole
        count &= 7
    }

    /// Puts at most 32 bits and flushes: the header path, where speed does not matter.
    @inline(__always) mutating func write(_ value: UInt64, _ width: UInt64) {
        put(value, width)
        flush()
    }

    /// Pads with zero bits to a byte boundary and leaves nothing pending.
    mutating func alignToByte() {
        flush()
        if count > 0 {
            next += 1
            bits = 0
            count = 0
        }
    }
}

/// Scratch tables for one `compress` call, allocated once per call (none per block or per byte).
final class Workspace {
    static let literalCount = 257          // 0...255 and end-of-block; no length codes are ever used
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Extra bits after code-length symbols 16 (repeat 3-6), 17 (3-10 zeros), 18 (11-138 zeros).
    static func extraWidth(_ symbol: Int) -> Int { symbol < 16 ? 0 : symbol == 16 ? 2 : symbol == 17 ? 3 : 7 }

    static let subHistograms = 4, maxChunks = 4
    /// Per chunk of a region, `subHistograms` tables of 256 counts.
    let histogram = UnsafeMutablePointer<UInt32>.allocate(capacity: maxChunks * subHistograms * 256)
    /// Per chunk of the region being written: its byte counts.
    let chunkFrequencies = UnsafeMutablePointer<UInt32>.allocate(capacity: maxChunks * 256)
    let merged = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
    var chunkSize = 1
    /// Whether the last block of this call is the stream's final one (false for a segment to be continued).
    var endsStream = true
    let frequencies = UnsafeMutablePointer<UInt32>.allocate(capacity: 288)
    let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 288 + 2)   // literal lengths, then 2 distance
    /// Per symbol: the code bit-reversed, ready to put LSB first; its length is in the matching lengths table.
    /// (Separate tables measured 18% faster in the literal loop than one packed code << 8 | length table.)
    let codes = UnsafeMutablePointer<UInt16>.allocate(capacity: 288)
    let fixedCodes = UnsafeMutablePointer<UInt16>.allocate(capacity: 288)
    let fixedLengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 288)
    var fixedReady = false
    let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: 320)
    let sortBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 320)
    let digitCounts = UnsafeMutablePointer<Int>.allocate(capacity: 256)
    let depths = UnsafeMutablePointer<Int>.allocate(capacity: 320)
    /// Run-length coded code lengths: symbol | extra bits << 5.
    let runs = UnsafeMutablePointer<UInt16>.allocate(capacity: 300)
    var runCount = 0
    let codeLengthFrequencies = UnsafeMutablePointer<UInt32>.allocate(capacity: 19)
    let codeLengthLengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 19)
    let codeLengthCodes = UnsafeMutablePointer<UInt16>.allocate(capacity: 19)
    let lengthCounts = UnsafeMutablePointer<Int>.allocate(capacity: 17)
    let nextCodes = UnsafeMutablePointer<UInt32>.allocate(capacity: 17)

    func release() {
        histogram.deallocate(); chunkFrequencies.deallocate(); merged.deallocate(); frequencies.deallocate(); lengths.deallocate(); codes.deallocate()
        fixedCodes.deallocate(); fixedLengths.deallocate(); sortBuffer.deallocate(); digitCounts.deallocate()
        keys.deallocate(); depths.deallocate(); runs.deallocate()
        codeLengthFrequencies.deallocate(); codeLengthLengths.deallocate(); codeLengthCodes.deallocate()
        lengthCounts.deallocate(); nextCodes.deallocate()
    }

    func clearHistograms() {
        histogram.initialize(repeating: 0, count: Workspace.maxChunks * Workspace.subHistograms * 256)
    }

    /// The sub-histograms of chunk `chunk`.
    @inline(__always) func histogram(_ chunk: Int) -> UnsafeMutablePointer<UInt32> {
        histogram + chunk * Workspace.subHistograms * 256
    }

    /// Counts `bytes[from..<to]` (a region's offsets) into the sub-histograms of the chunks they fall in.
    func countChunks(_ bytes: UnsafePointer<UInt8>, _ from: Int, _ to: Int) {
        var start = from
        while start < to {
            let chunk = start / chunkSize
            let end = min(to, (chunk + 1) * chunkSize)
            countRange(bytes, start, end, into: histogram(chunk))
            start = end
        }
    }

    /// Adds `bytes[from..<to]` to the sub-histograms at `h`.
    func countRange(_ bytes: UnsafePointer<UInt8>, _ from: Int, _ to: Int, into h: UnsafeMutablePointer<UInt32>) {
        var i = from
        // Consecutive bytes go to different sub-tables, so a run of equal bytes does not make each increment wait
        // for the store of the one before it. (Byte loads, word loads and 8 sub-tables all measured within noise.)
        while i &+ 8 <= to {
            let p = bytes + i
            h[Int(p[0])] &+= 1
            h[256 &+ Int(p[1])] &+= 1
            h[512 &+ Int(p[2])] &+= 1
            h[768 &+ Int(p[3])] &+= 1
            h[Int(p[4])] &+= 1
            h[256 &+ Int(p[5])] &+= 1
            h[512 &+ Int(p[6])] &+= 1
            h[768 &+ Int(p[7])] &+= 1
            i &+= 8
        }
        while i < to {
            h[Int(bytes[i])] &+= 1
            i &+= 1
        }
    }

    /// log2(1 + m / 256) for the 8 bits after a count's leading one.
    /// (ln y = 2 atanh((y - 1) / (y + 1)), a series that converges fast for y in [1, 2); no Foundation needed.)
    static let log2Mantissa: [Float] = (0..<256).map { m in
        let y = 1 + Double(m) / 256, z = (y - 1) / (y + 1)
        var term = z, sum = 0.0
        for k in stride(from: 1, through: 41, by: 2) {
            sum += term / Double(k)
            term *= z * z
        }
        return Float(2 * sum / 0.693_147_180_559_945_3)
    }

    /// Entropy bound in bits of coding `f[0..<256]` with its own code: sum f * log2(total / f), with log2 taken from
    /// the count's float exponent and a table for the top 8 mantissa bits (error < 0.006 bits per count, far below
    /// what the split decision needs). Branch-free: a zero count gives 0 * (-127) = 0.
    func entropyBits(_ f: UnsafePointer<UInt32>, _ table: UnsafePointer<Float>) -> Double {
        @inline(__always) func log2(_ x: Float) -> Float {
            let b = x.bitPattern
            return Float(Int32(bitPattern: b &>> 23) &- 127) + table[Int(truncatingIfNeeded: (b &>> 15) & 0xff)]
        }
        var total: UInt32 = 0, sum: Double = 0
        for s in 0..<256 {
            let x = Float(f[s])
            total &+= f[s]
            sum += Double(x * log2(x))
        }
        let t = Float(total)
        return total == 0 ? 0 : Double(t) * Double(log2(t)) - sum
    }

    /// Writes one region: cuts it into blocks of whole chunks (a chunk joins the block before it unless the entropy
    /// bound says a block of its own saves more than a header costs), writes each, and counts the next region.
    func encodeRegion(_ bytes: UnsafePointer<UInt8>, count n: Int, next: UnsafePointer<UInt8>, nextCount: Int,
                      sink: inout BitSink) {
        let chunks = (n + chunkSize - 1) / chunkSize
        for c in 0..<chunks {
            let h = histogram(c), f = chunkFrequencies + c * 256
            for s in 0..<256 {
                var sum: UInt32 = 0
                for t in 0..<Workspace.subHistograms { sum &+= h[t &* 256 &+ s] }
                f[s] = sum
            }
        }
        clearHistograms()
        Workspace.log2Mantissa.withUnsafeBufferPointer { table in
            var first = 0
            while first < chunks {
                frequencies.update(from: chunkFrequencies + first * 256, count: 256)
                var end = first + 1
                var bits = end < chunks ? entropyBits(frequencies, table.baseAddress!) : 0
                while end < chunks {
                    let f = chunkFrequencies + end * 256
                    var distinct = 0
                    for s in 0..<256 {
                        merged[s] = frequencies[s] &+ f[s]
                        distinct &+= f[s] != 0 ? 1 : 0
                    }
                    let mergedBits = entropyBits(merged, table.baseAddress!)
                    let ownBits = entropyBits(f, table.baseAddress!)
                    // What a block of its own would add: the fixed header fields and ~4 bits per coded length.
                    guard mergedBits <= bits + ownBits + Double(60 + 4 * distinct) else { break }
                    frequencies.update(from: merged, count: 256)
                    bits = mergedBits
                    end += 1
                }
                frequencies[256] = 1
                encodeBlock(bytes, from: first * chunkSize, to: min(end * chunkSize, n), final: endsStream && nextCount == 0 && end == chunks,
                            next: next, nextCount: nextCount, sink: &sink)
                first = end
            }
        }
    }

    /// Optimal code lengths for `frequencies[0..<n]` (zero frequency: length 0) limited to `limit` bits, into
    /// `out[0..<n]`. Like zlib, gives at least two symbols a code (a lone one would be an incomplete code).
    func buildLengths(_ frequencies: UnsafePointer<UInt32>, _ n: Int, limit: Int, into out: UnsafeMutablePointer<UInt8>) {
        var k = 0
        for s in 0..<n where frequencies[s] != 0 {
            keys[k] = UInt64(frequencies[s]) << 16 | UInt64(s)
            k += 1
        }
        out.initialize(repeating: 0, count: n)
        var s = 0
        while k < 2 {
            if frequencies[s] == 0 {
                keys[k] = 1 << 16 | UInt64(s)
                k += 1
            }
            s += 1
        }
        sortKeys(k)
        // Moffat & Katajainen, "In-place calculation of minimum-redundancy codes" (1995), on weights sorted
        // ascending: phase 1 builds the tree in place (internal node weights, then parent indices), phase 2 turns
        // parents into internal-node depths, phase 3 turns those into leaf depths, deepest first.
        let a = depths
        for i in 0..<k { a[i] = Int(keys[i] >> 16) }
        a[0] += a[1]
        var root = 0, leaf = 2
        for next in 1..<(k - 1) {
            if leaf >= k || a[root] < a[leaf] {
                a[next] = a[root]; a[root] = next; root += 1
            } else {
                a[next] = a[leaf]; leaf += 1
            }
            if leaf >= k || (root < next && a[root] < a[leaf]) {
                a[next] += a[root]; a[root] = next; root += 1
            } else {
                a[next] += a[leaf]; leaf += 1
            }
        }
        a[k - 2] = 0
        var node = k - 3
        while node >= 0 {
            a[node] = a[a[node]] + 1
            node -= 1
        }
        var available = 1, used = 0, depth = 0
        root = k - 2
        var next = k - 1
        while available > 0 {
            while root >= 0 && a[root] == depth { used += 1; root -= 1 }
            while available > used { a[next] = depth; next -= 1; available -= 1 }
            available = 2 * used; depth += 1; used = 0
        }
        if a[0] > limit {
            // Too deep: clamp, then restore the Kraft sum by lengthening one shorter code per excess unit
            // (each step turns one leaf at length i into two at i+1 and removes one at the limit).
            let counts = lengthCounts
            counts.initialize(repeating: 0, count: 17)
            for i in 0..<k { counts[min(a[i], limit)] += 1 }
            var total = 0
            for length in 1...limit { total += counts[length] << (limit - length) }
            while total > 1 << limit {
                counts[limit] -= 1
                var length = limit - 1
                while counts[length] == 0 { length -= 1 }
                counts[length] -= 1
                counts[length + 1] += 2
                total -= 1
            }
            var i = 0
            for length in stride(from: limit, through: 1, by: -1) {
                for _ in 0..<counts[length] { a[i] = length; i += 1 }
            }
        }
        for i in 0..<k { out[Int(keys[i] & 0xffff)] = UInt8(a[i]) }
    }

    /// Sorts `keys[0..<k]` (frequency << 16 | symbol, made in symbol order) by frequency, ties by symbol: an LSD
    /// radix sort on the frequency bytes, stable, with as many passes as the largest frequency has bytes. (The
    /// standard library's sort took 6% of the encoder's time.)
    func sortKeys(_ k: Int) {
        var largest: UInt64 = 0
        for i in 0..<k { largest = max(largest, keys[i]) }
        var source = keys, target = sortBuffer
        var shift: UInt64 = 16
        while largest &>> shift != 0 {
            digitCounts.initialize(repeating: 0, count: 256)
            for i in 0..<k { digitCounts[Int(truncatingIfNeeded: (source[i] &>> shift) & 0xff)] += 1 }
            var position = 0
            for digit in 0..<256 {
                let c = digitCounts[digit]
                digitCounts[digit] = position
                position += c
            }
            for i in 0..<k {
                let digit = Int(truncatingIfNeeded: (source[i] &>> shift) & 0xff)
                target[digitCounts[digit]] = source[i]
                digitCounts[digit] += 1
            }
            swap(&source, &target)
            shift += 8
        }
        if source != keys { keys.update(from: source, count: k) }
    }

    /// Canonical codes (RFC 1951 3.2.2) for `lengths[0..<n]`, bit-reversed for LSB-first output.
    func assignCodes(_ lengths: UnsafePointer<UInt8>, _ n: Int, into table: UnsafeMutablePointer<UInt16>) {
        let counts = lengthCounts
        counts.initialize(repeating: 0, count: 17)
        for s in 0..<n { counts[Int(lengths[s])] += 1 }
        counts[0] = 0
        var code: UInt32 = 0
        for length in 1...15 {
            code = (code + UInt32(counts[length - 1])) << 1
            nextCodes[length] = code
        }
        for s in 0..<n {
            let length = Int(lengths[s])
            guard length != 0 else { table[s] = 0; continue }
            var r = UInt16(truncatingIfNeeded: nextCodes[length])
            nextCodes[length] += 1
            // Reverse all 16 bits (swap neighbours, pairs, nibbles, bytes), then drop the 16 - length low ones.
            r = (r & 0x5555) << 1 | (r >> 1) & 0x5555
            r = (r & 0x3333) << 2 | (r >> 2) & 0x3333
            r = (r & 0x0f0f) << 4 | (r >> 4) & 0x0f0f
            r = r << 8 | r >> 8
            table[s] = r >> (16 - length)
        }
    }

    /// Run-length codes the 257 literal lengths followed by the 2 distance lengths into `runs` (one sequence:
    /// RFC 1951 lets repeats cross from one set into the other), and counts the code-length symbols.
    func encodeLengthRuns() {
        let total = Workspace.literalCount + 2
        codeLengthFrequencies.initialize(repeating: 0, count: 19)
        runCount = 0
        func emit(_ symbol: Int, _ extra: Int = 0) {
            runs[runCount] = UInt16(symbol | extra << 5)
            runCount += 1
            codeLengthFrequencies[symbol] += 1
        }
        var i = 0
        while i < total {
            let value = Int(lengths[i])
            var run = 1
            while i + run < total && Int(lengths[i + run]) == value { run += 1 }
            i += run
            if value == 0 {
                while run >= 11 { let r = min(run, 138); emit(18, r - 11); run -= r }
                if run >= 3 { emit(17, run - 3); run = 0 }
                while run > 0 { emit(0); run -= 1 }
            } else {
                emit(value); run -= 1
                while run >= 3 { let r = min(run, 6); emit(16, r - 3); run -= r }
                while run > 0 { emit(value); run -= 1 }
            }
        }
    }

    /// Writes `region[from..<to]` (whole chunks) as one block whose byte counts are in `frequencies`, in the
    /// smallest of the three forms, and counts the next region's bytes at the same offsets.
    func encodeBlock(_ region: UnsafePointer<UInt8>, from: Int, to: Int, final: Bool, next: UnsafePointer<UInt8>,
                     nextCount: Int, sink: inout BitSink) {
        let bytes = region + from, n = to - from
        buildLengths(frequencies, Workspace.literalCount, limit: 15, into: lengths)
        lengths[257] = 1
        lengths[258] = 1
        encodeLengthRuns()
        buildLengths(codeLengthFrequencies, 19, limit: 7, into: codeLengthLengths)
        var lastCodeLength = 18   // HCLEN: trailing zero lengths in transmission order are not sent (min 4)
        while lastCodeLength > 3 && codeLengthLengths[Workspace.codeLengthOrder[lastCodeLength]] == 0 {
            lastCodeLength -= 1
        }
        var dynamicBits = 3 + 5 + 5 + 4 + 3 * (lastCodeLength + 1)
        for symbol in 0..<19 {
            dynamicBits += Int(codeLengthFrequencies[symbol]) * (Int(codeLengthLengths[symbol]) + Workspace.extraWidth(symbol))
        }
        var fixedBits = 3 + 7
        for s in 0..<Workspace.literalCount {
            dynamicBits += Int(frequencies[s]) * Int(lengths[s])
            fixedBits += Int(frequencies[s]) * (s < 144 ? 8 : s < 256 ? 9 : 7)
        }
        // Stored: 3 header bits and padding to a byte, LEN and NLEN, the bytes; a further 5 bytes per 65535.
        let storedBits = (Int(sink.count) + 3 + 7) / 8 * 8 - Int(sink.count) + 32 + 8 * n + 40 * ((n - 1) / 65_535)
        let finalBit: UInt64 = final ? 1 : 0
        if storedBits < min(dynamicBits, fixedBits) {
            writeStored(bytes, n, final: final, sink: &sink)
            countChunks(next, from, min(to, nextCount))
            return
        }
        let blockCodes: UnsafePointer<UInt16>, blockLengths: UnsafePointer<UInt8>
        var maxLength = 9
        if fixedBits <= dynamicBits {
            if !fixedReady {
                for s in 0..<288 { fixedLengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8 }
                assignCodes(fixedLengths, 288, into: fixedCodes)
                fixedReady = true
            }
            sink.write(finalBit | 1 << 1, 3)
            blockCodes = UnsafePointer(fixedCodes)
            blockLengths = UnsafePointer(fixedLengths)
        } else {
            assignCodes(lengths, Workspace.literalCount, into: codes)
            assignCodes(codeLengthLengths, 19, into: codeLengthCodes)
            sink.write(finalBit | 2 << 1, 3)
            sink.write(0, 5)   // HLIT - 257: literals and end-of-block only
            sink.write(1, 5)   // HDIST - 1: two distance codes
            sink.write(UInt64(lastCodeLength + 1 - 4), 4)
            for i in 0...lastCodeLength {
                sink.write(UInt64(codeLengthLengths[Workspace.codeLengthOrder[i]]), 3)
            }
            for i in 0..<runCount {
                let symbol = Int(runs[i] & 31), extra = UInt64(runs[i] >> 5)
                sink.write(UInt64(codeLengthCodes[symbol]), UInt64(codeLengthLengths[symbol]))
                if symbol >= 16 { sink.write(extra, UInt64(Workspace.extraWidth(symbol))) }
            }
            maxLength = 0
            for s in 0..<256 { maxLength = max(maxLength, Int(lengths[s])) }
            blockCodes = UnsafePointer(codes)
            blockLengths = UnsafePointer(lengths)
        }
        // Chunk by chunk, so that the next region's bytes are counted into the matching chunk's histogram.
        var start = from
        while start < to {
            let chunk = start / chunkSize
            let end = min(to, (chunk + 1) * chunkSize)
            let nextEnd = min(end, nextCount)
            let counted = writeLiterals(region + start, end - start, blockCodes, blockLengths, maxLength: maxLength,
                                        next: next + start, nextCount: max(0, nextEnd - start), into: histogram(chunk),
                                        sink: &sink)
            if start + counted < nextEnd { countRange(next, start + counted, nextEnd, into: histogram(chunk)) }
            start = end
        }
        sink.put(UInt64(blockCodes[256]), UInt64(blockLengths[256]))
        sink.flush()
    }

    /// Codes every byte (not end-of-block). Four codes of at most 14 bits (or three of 15) fit beside the <= 7
    /// pending bits, so the buffer is flushed once per four (three) bytes; the four codes are first joined into one
    /// word so that only one shift depends on the running bit count. In the same loop it counts the next block's
    /// bytes at the same offsets (returns how many): the two chains of work overlap, 26% faster than two passes.
    func writeLiterals(_ bytes: UnsafePointer<UInt8>, _ n: Int, _ codes: UnsafePointer<UInt16>,
                       _ lengths: UnsafePointer<UInt8>, maxLength: Int, next: UnsafePointer<UInt8>, nextCount: Int,
                       into h: UnsafeMutablePointer<UInt32>, sink: inout BitSink) -> Int {
        var bits = sink.bits, count = sink.count
        var out = sink.next
        var i = 0, counted = 0
        @inline(__always) func flush() {
            UnsafeMutableRawPointer(out).storeBytes(of: bits.littleEndian, as: UInt64.self)
            let whole = count & ~7
            out += Int(truncatingIfNeeded: whole &>> 3)
            bits = bits &>> whole
            count &= 7
        }
        if maxLength <= 14 {
            let fused = min(n, nextCount) & ~3
            while i < fused {
                let p = bytes + i, q = next + i
                h[Int(q[0])] &+= 1
                h[256 &+ Int(q[1])] &+= 1
                h[512 &+ Int(q[2])] &+= 1
                h[768 &+ Int(q[3])] &+= 1
                let a = Int(p[0]), b = Int(p[1]), c = Int(p[2]), d = Int(p[3])
                let la = UInt64(lengths[a]), lab = la &+ UInt64(lengths[b])
                let labc = lab &+ UInt64(lengths[c])
                let code = UInt64(codes[a]) | UInt64(codes[b]) &<< la | UInt64(codes[c]) &<< lab
                    | UInt64(codes[d]) &<< labc
                bits |= code &<< count
                count &+= labc &+ UInt64(lengths[d])
                flush()
                i &+= 4
            }
            counted = fused
            while i &+ 4 <= n {
                let p = bytes + i
                let a = Int(p[0]), b = Int(p[1]), c = Int(p[2]), d = Int(p[3])
                let la = UInt64(lengths[a]), lab = la &+ UInt64(lengths[b])
                let labc = lab &+ UInt64(lengths[c])
                let code = UInt64(codes[a]) | UInt64(codes[b]) &<< la | UInt64(codes[c]) &<< lab
                    | UInt64(codes[d]) &<< labc
                bits |= code &<< count
                count &+= labc &+ UInt64(lengths[d])
                flush()
                i &+= 4
            }
        } else {
            while i &+ 3 <= n {
                let p = bytes + i
                let a = Int(p[0]), b = Int(p[1]), c = Int(p[2])
                let la = UInt64(lengths[a]), lab = la &+ UInt64(lengths[b])
                let code = UInt64(codes[a]) | UInt64(codes[b]) &<< la | UInt64(codes[c]) &<< lab
                bits |= code &<< count
                count &+= lab &+ UInt64(lengths[c])
                flush()
                i &+= 3
            }
        }
        while i < n {
            let s = Int(bytes[i])
            bits |= UInt64(codes[s]) &<< count
            count &+= UInt64(lengths[s])
            flush()
            i &+= 1
        }
        sink.bits = bits; sink.count = count; sink.next = out
        return counted
    }

    /// Stored blocks of at most 65535 bytes each; only the last one of a final block has BFINAL set.
    func writeStored(_ bytes: UnsafePointer<UInt8>, _ n: Int, final: Bool, sink: inout BitSink) {
        var offset = 0
        repeat {
            let length = min(65_535, n - offset)
            let last = offset + length == n
            sink.write(final && last ? 1 : 0, 3)
            sink.alignToByte()
            UnsafeMutableRawPointer(sink.next).storeBytes(of: UInt16(length).littleEndian, as: UInt16.self)
            UnsafeMutableRawPointer(sink.next).storeBytes(of: (~UInt16(length)).littleEndian, toByteOffset: 2,
                                                          as: UInt16.self)
            (sink.next + 4).update(from: bytes + offset, count: length)
            sink.next += 4 + length
            offset += length
        } while offset < n
    }
}
