// GzipTests: the serial encoder, read back by our decoder at random chunkings and by gzip(1), zcat and
// python's gzip module; and CRC32 against the standard check value and python's zlib.crc32.
import Foundation
import Testing
@testable import Gzip

@Suite struct GzipEncoderTests {
    @Test(arguments: [(6, DeflateStrategy.default), (1, .huffman), (9, .filtered), (6, .rle), (0, .default)])
    func roundTripsAtRandomChunkings(level: Int, strategy: DeflateStrategy) throws {
        var generator = SeededGenerator(seed: UInt64(level * 10 + strategy.rawValue.count))
        let input = mixedBytes(count: 700_000, seed: 42)
        let compressed = try encode(input, level: level, strategy: strategy,
                                    chunkSize: { Int.random(in: 1...90_000, using: &generator) })
        let output = try decode(compressed, chunkSize: { Int.random(in: 1...70_000, using: &generator) })
        #expect(output == input)
    }

    @Test func equalInputGivesEqualBytesAndAPlainHeader() throws {
        let input = mixedBytes(count: 50_000, seed: 7)
        let first = try encode(input)
        let second = try encode(input, chunkSize: { 1000 })
        #expect(first == second)
        // RFC 1952: magic, CM 8, no flags (no name), mtime 0.
        #expect(Array(first[0..<8]) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0])
    }

    @Test func emptyInput() throws {
        let compressed = try encode([])
        #expect(try decode(compressed) == [])
        let path = try temporaryFile(compressed)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tool = try run(["gzip", "-dc", path])
        #expect(tool.status == 0 && tool.stdout.isEmpty)
    }

    @Test func readableByGzipZcatAndPython() throws {
        let input = mixedBytes(count: 300_000, seed: 9)
        let path = try temporaryFile(try encode(input, level: 6, strategy: .huffman, chunkSize: { 4096 }))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try run(["gzip", "-t", path]).status == 0)
        let gzip = try run(["gzip", "-dc", path])
        #expect(gzip.status == 0 && gzip.stdout == input)
        let zcat = try run(["zcat", path])
        #expect(zcat.status == 0 && zcat.stdout == input)
        let py = try python("import gzip, sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())", [path])
        #expect(py == input)
    }
}

@Suite struct CRC32Tests {
    @Test func standardCheckValue() {
        // The CRC-32 catalogue's check value: CRC of the ASCII digits "123456789".
        let crc = Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }
        #expect(crc == 0xCBF4_3926)
        #expect(CRC32.checksum(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }

    @Test func matchesPythonZlib() throws {
        let bytes = mixedBytes(count: 100_003, seed: 3)
        let path = try temporaryFile(bytes, suffix: ".bin")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = try python("import sys, zlib; print(zlib.crc32(open(sys.argv[1], 'rb').read()))", [path])
        let expected = UInt32(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(bytes.withUnsafeBytes { CRC32.checksum($0) } == expected)
    }

    @Test(arguments: [0, 1, 1000, 65_536, 99_999])
    func combineMatchesConcatenation(split: Int) {
        let bytes = mixedBytes(count: 100_000, seed: 11)
        bytes.withUnsafeBytes { all in
            let a = CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[..<split]))
            let b = CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[split...]))
            let whole = CRC32.checksum(all)
            #expect(CRC32.combine(a, b, lengthOfB: all.count - split) == whole)
            // Continuing from a running CRC is the other way to the same value.
            #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[split...]), initial: a) == whole)
        }
    }
}
