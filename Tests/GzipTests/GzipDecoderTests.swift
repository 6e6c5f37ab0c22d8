// GzipTests: the streaming decoder, on every inflate library available (zlib, ISA-L), against files written by
// gzip(1), pigz and python's zlib, fed in chunks of every size, and its error kinds and messages against an
// independent verdict computed with python's zlib: both libraries must give the same verdict in the same words.
import Foundation
import Testing
@testable import Gzip

/// `seq 1 n` as bytes, built here rather than by any gzip tool.
func seqBytes(_ n: Int) -> [UInt8] { Array((1...n).map { "\($0)\n" }.joined().utf8) }

@Suite struct GzipDecoderFixtureTests {
    static let fixtures: [(gz: String, expected: String?)] = [
        ("multi.gz", "multi.out"), ("headers.gz", "headers.out"), ("empty.gz", nil), ("pigz.gz", nil),
    ]

    static func expected(_ name: String) throws -> [UInt8] {
        switch name {
        case "empty.gz": return []
        case "pigz.gz": return seqBytes(15000)
        default: return try Fixtures.bytes(fixtures.first { $0.gz == name }!.expected!)
        }
    }

    @Test(arguments: Backends.testable, ["multi.gz", "headers.gz", "empty.gz", "pigz.gz"])
    func decodesWholeFile(backend: InflateBackend, name: String) throws {
        let output = try decode(Fixtures.bytes(name), backend: backend)
        #expect(output == (try Self.expected(name)))
    }

    @Test(arguments: Backends.testable, ["multi.gz", "headers.gz", "empty.gz", "pigz.gz"])
    func decodesOneByteAtATime(backend: InflateBackend, name: String) throws {
        let output = try decode(Fixtures.bytes(name), backend: backend, chunkSize: { 1 })
        #expect(output == (try Self.expected(name)))
    }

    @Test(arguments: Backends.testable, [1, 2, 3, 7])
    func decodesRandomChunkings(backend: InflateBackend, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        for name in ["multi.gz", "headers.gz", "pigz.gz"] {
            let output = try decode(Fixtures.bytes(name), backend: backend,
                                    chunkSize: { Int.random(in: 1...5000, using: &generator) })
            #expect(output == (try Self.expected(name)), "\(name)")
        }
    }

    /// Inflating straight into the caller's memory (`write(_:room:deliver:)`, what the read-ahead pipe uses) gives
    /// the same bytes as the copying API for every library, however input and rooms are cut; each part lands at the
    /// start of the room it was given and within it; a corrupted file fails in the same words both ways.
    @Test(arguments: Backends.testable, [1, 2, 3])
    func decodesIntoCallerMemory(backend: InflateBackend, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        func inPlace(_ input: [UInt8]) throws -> [UInt8] {
            let decoder = GzipDecoder(backend: backend)
            let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 5000, alignment: 64)
            defer { memory.deallocate() }
            var output: [UInt8] = []
            var given = memory
            try input.withUnsafeBytes { all in
                var offset = 0
                while offset < all.count {
                    let count = min(Int.random(in: 1...5000, using: &generator), all.count - offset)
                    try decoder.write(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]), room: {
                        given = UnsafeMutableRawBufferPointer(rebasing: memory[0..<Int.random(in: 1...5000, using: &generator)])
                        return given
                    }, deliver: { part in
                        #expect(part.baseAddress == UnsafeRawPointer(given.baseAddress) && part.count <= given.count)
                        output.append(contentsOf: part)
                    })
                    offset += count
                }
            }
            try decoder.finish()
            return output
        }
        for name in ["multi.gz", "headers.gz", "pigz.gz", "empty.gz"] {
            #expect(try inPlace(Fixtures.bytes(name)) == (try Self.expected(name)), "\(name)")
        }
        var damaged = try Fixtures.bytes("pigz.gz")
        damaged[damaged.count / 2] ^= 0x5a
        let copying = decodeError(damaged, backend: backend)
        #expect(copying != nil)
        do {
            _ = try inPlace(damaged)
            Issue.record("a damaged file decoded")
        } catch let error as GzipError {
            #expect(error.description == copying?.description)
        }
    }

    @Test(arguments: Backends.testable)
    func countsMembersAndBytes(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("headers.gz")
        let decoder = GzipDecoder(backend: backend)
        try input.withUnsafeBytes { try decoder.write($0) { _ in } }
        try decoder.finish()
        #expect(decoder.membersDecoded == 3)
        #expect(decoder.compressedBytesRead == input.count)
    }

    /// The multi-member file made by `gzip -c a > x; gzip -c b >> x`, cut exactly after the first member
    /// (where python's zlib says that member ends), is a valid one-member file holding a.txt.
    @Test(arguments: Backends.testable)
    func cutBetweenMembersIsValid(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("multi.gz")
        let firstEnd = Int(String(decoding: try python("""
            import sys, zlib
            data = open(sys.argv[1], 'rb').read()
            d = zlib.decompressobj(31); d.decompress(data)
            print(len(data) - len(d.unused_data))
            """, [Fixtures.path("multi.gz")]), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))!
        let a = Array(seqBytes(3000))
        #expect(try decode(Array(input[..<firstEnd]), backend: backend) == a)
        #expect(decodeError(Array(input[..<(firstEnd + 1)]), backend: backend)?.kind == .truncated)
        #expect(decodeError(Array(input[..<(firstEnd + 2)]), backend: backend)?.kind == .truncated)
        #expect(decodeError(Array(input[..<(firstEnd - 1)]), backend: backend)?.kind == .truncated)
    }
}

@Suite struct GzipDecoderErrorTests {
    @Test(arguments: Backends.testable)
    func emptyInputIsTruncated(backend: InflateBackend) {
        let error = decodeError([], backend: backend)
        #expect(error == GzipError(.truncated, detail: "empty input"))
        #expect(error?.description == "truncated gzip stream (empty input)")
    }

    @Test(arguments: Backends.testable)
    func notGzip(backend: InflateBackend) throws {
        let error = decodeError(Array("hello, world\n".utf8), backend: backend)
        #expect(error?.kind == .notGzip)
        #expect(error?.description.hasPrefix("not in gzip format") == true)
        // 1f then not 8b: still not gzip, even fed one byte at a time.
        #expect(decodeError([0x1f, 0x8c, 0, 0], backend: backend, chunkSize: { 1 })?.kind == .notGzip)
        #expect(decodeError([0x1f], backend: backend)?.kind == .truncated)
    }

    @Test(arguments: Backends.testable, [1, 2, 5, 9, 10, 14, 20, 100, 1000, 20000])
    func truncatedAnywhereIsTruncated(backend: InflateBackend, cut: Int) throws {
        let input = try Fixtures.bytes("multi.gz")
        let prefix = Array(input[..<cut])
        #expect(decodeError(prefix, backend: backend)?.kind == .truncated)
        #expect(decodeError(prefix, backend: backend, chunkSize: { 3 })?.kind == .truncated)
        #expect(decodeError(prefix, backend: backend)?.description.hasPrefix("truncated gzip stream") == true)
    }

    @Test(arguments: Backends.testable)
    func trailerFlipsAreChecksumErrors(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("multi.gz")
        for offset in (input.count - 8)..<(input.count - 4) {
            var bad = input; bad[offset] ^= 0x01
            let error = decodeError(bad, backend: backend)
            #expect(error?.kind == .crcMismatch, "offset \(offset)")
            #expect(error?.description.hasPrefix("gzip CRC32 mismatch") == true)
        }
        for offset in (input.count - 4)..<input.count {
            var bad = input; bad[offset] ^= 0x01
            let error = decodeError(bad, backend: backend, chunkSize: { 1 })
            #expect(error?.kind == .lengthMismatch, "offset \(offset)")
            #expect(error?.description.hasPrefix("gzip length mismatch") == true)
        }
    }

    @Test(arguments: Backends.testable)
    func garbageAfterTheLastMember(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("multi.gz")
        for tail: [UInt8] in [Array("garbage".utf8), [0], [0, 0, 0, 0], [0x1f, 0x00]] {
            let error = decodeError(input + tail, backend: backend)
            #expect(error?.kind == .trailingGarbage, "\(tail)")
            #expect(error?.description.hasPrefix("trailing garbage after gzip data") == true)
            #expect(decodeError(input + tail, backend: backend, chunkSize: { 1 })?.kind == .trailingGarbage)
        }
    }

    @Test(arguments: Backends.testable)
    func headerFaults(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("multi.gz")
        var method = input; method[2] = 7
        #expect(decodeError(method, backend: backend) == GzipError(.badHeader, detail: "unknown compression method"))
        var flags = input; flags[3] |= 0x20
        #expect(decodeError(flags, backend: backend, chunkSize: { 1 })
                == GzipError(.badHeader, detail: "unknown header flags set"))
        #expect(decodeError(flags, backend: backend)?.description == "invalid gzip header (unknown header flags set)")
        // headers.gz's first member carries FHCRC; a changed name byte must fail the header CRC.
        var named = try Fixtures.bytes("headers.gz")
        let nameStart = 10 + 2 + 7
        named[nameStart] ^= 0x01
        #expect(decodeError(named, backend: backend) == GzipError(.badHeader, detail: "header crc mismatch"))
        #expect(decodeError(named, backend: backend, chunkSize: { 1 }) == GzipError(.badHeader, detail: "header crc mismatch"))
    }

    @Test(arguments: Backends.testable)
    func errorsAreSticky(backend: InflateBackend) throws {
        let decoder = GzipDecoder(backend: backend)
        let garbage: [UInt8] = Array("nope".utf8)
        #expect(throws: GzipError.self) { try garbage.withUnsafeBytes { try decoder.write($0) { _ in } } }
        #expect(throws: GzipError.self) { try decoder.finish() }
    }

    /// Mutates multi.gz (flip one byte, or cut it) at many offsets and compares our verdict, reason included, with
    /// one computed by python's zlib under the policy documented in GzipDecoder.swift, on each library, fed whole
    /// and in 5-byte pieces (ISA-L's faults are replayed on zlib, so its words must match too).
    @Test(arguments: Backends.testable, [Int.max, 5])
    func verdictsMatchPythonZlib(backend: InflateBackend, piece: Int) throws {
        let input = try Fixtures.bytes("multi.gz")
        var flips = Array(stride(from: 0, to: input.count, by: 53))
        flips += Array((input.count - 12)..<input.count)
        // The first member's deflate data starts at 16: its block header and code lengths, where zlib names many
        // different faults (and ISA-L's own words would differ).
        flips += Array(17..<90).filter { $0 % 53 != 0 }
        let cuts = Array(stride(from: 0, to: input.count, by: 997))
        let script = """
            import sys, zlib
            data = open(sys.argv[1], 'rb').read()
            header_msgs = {'unknown compression method', 'unknown header flags set', 'header crc mismatch',
                           'invalid window size'}
            def verdict(d):
                if not d: return 'truncated'
                pos = members = 0
                while pos < len(d):
                    rest = d[pos:pos + 2]
                    if rest != b'\\x1f\\x8b'[:len(rest)]:
                        return 'notGzip' if members == 0 else 'trailingGarbage'
                    if len(rest) < 2: return 'truncated'
                    z = zlib.decompressobj(31)
                    try:
                        z.decompress(d[pos:])
                    except zlib.error as e:
                        msg = str(e).split(': ', 1)[1]
                        if msg == 'incorrect data check': return 'crcMismatch'
                        if msg == 'incorrect length check': return 'lengthMismatch'
                        if msg in header_msgs: return 'badHeader:' + msg
                        return 'corruptData:' + msg
                    if not z.eof: return 'truncated'
                    pos = len(d) - len(z.unused_data); members += 1
                return 'ok'
            for arg in sys.argv[2:]:
                kind, at = arg[0], int(arg[1:])
                if kind == 'f': print(verdict(data[:at] + bytes([data[at] ^ 0x5a]) + data[at + 1:]))
                else: print(verdict(data[:at]))
            """
        let arguments = [Fixtures.path("multi.gz")] + flips.map { "f\($0)" } + cuts.map { "c\($0)" }
        let expected = String(decoding: try python(script, arguments), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        var mutated: [[UInt8]] = flips.map { var bad = input; bad[$0] ^= 0x5a; return bad }
        mutated += cuts.map { Array(input[..<$0]) }
        try #require(expected.count == mutated.count)
        var corruptSeen = 0
        for (index, bytes) in mutated.enumerated() {
            let ours: String = switch decodeError(bytes, backend: backend, chunkSize: { piece }) {
            case nil: "ok"
            case let error? where error.kind == .corruptData: "corruptData:\(error.detail ?? "")"
            case let error? where error.kind == .badHeader: "badHeader:\(error.detail ?? "")"
            case let error?: "\(error.kind)"
            }
            if ours.hasPrefix("corruptData") { corruptSeen += 1 }
            #expect(ours == expected[index], "mutation \(arguments[index + 1])")
        }
        #expect(corruptSeen > 10)
    }
}
