// GzipTests: the two inflate libraries side by side. Which one is selected and how it is named; CRC-32 on both
// against python's zlib; and the decoder's exact messages (truncation, checksums, trailing garbage) on both, with
// the expected offsets and member numbers computed by python's zlib from the same bytes, and a multi-MiB input
// compressed by gzip(1) read back on both.
import Foundation
import Testing
@testable import Gzip

@Suite struct InflateBackendTests {
    /// ISA-L is optional; CI installs it and sets NPYEXP_REQUIRE_ISAL so that a broken lookup fails there.
    @Test func isalIsInstalled() {
        guard let reason = InflateBackend.isal.unavailableReason else { return }
        if ProcessInfo.processInfo.environment["NPYEXP_REQUIRE_ISAL"] != nil {
            Issue.record("NPYEXP_REQUIRE_ISAL is set but ISA-L cannot be used: \(reason)")
        } else {
            print("GzipTests: ISA-L cases skipped, only zlib is tested (\(reason))")
        }
    }

    @Test func selectionFollowsTheEnvironmentValue() throws {
        let isal = InflateBackend.isal.isAvailable
        #expect(try Inflater.select(requested: "").get() == (isal ? .isal : .zlib))
        #expect(try Inflater.select(requested: "zlib").get() == InflateBackend.zlib)
        #expect(throws: InflaterSelectionError(
            description: "NPYEXP_INFLATE=gzip is not a known inflate library (zlib or isal)")) {
            try Inflater.select(requested: "gzip").get()
        }
        switch Inflater.select(requested: "isal") {
        case .success(let backend): #expect(isal && backend == .isal)
        case .failure(let error):
            #expect(!isal)
            #expect(error.description.hasPrefix("NPYEXP_INFLATE=isal but ISA-L cannot be used: "))
        }
    }

    @Test func libraryNames() throws {
        let zlibVersion = String(decoding: try python("import zlib; print(zlib.ZLIB_RUNTIME_VERSION)"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(InflateBackend.zlib.libraryName == "zlib \(zlibVersion)")
        if InflateBackend.isal.isAvailable {
            // Debian's package version (2.30.0-5) starts with the version of the headers we were built with.
            let dpkg = try run(["dpkg-query", "-W", "-f", "${Version}", "libisal2"])
            let name = InflateBackend.isal.libraryName
            #expect(name.hasPrefix("isa-l 2."))
            if dpkg.status == 0 {
                #expect(String(decoding: dpkg.stdout, as: UTF8.self).hasPrefix(String(name.dropFirst(6))))
            }
        }
        #expect(Inflater.backendName == (try Inflater.selected()).libraryName)
    }

    @Test(arguments: Backends.testable)
    func crc32AgreesWithPython(backend: InflateBackend) throws {
        var generator = SeededGenerator(seed: 99)
        let bytes = (0..<3_000_001).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let path = try temporaryFile(bytes, suffix: ".bin")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = try python("""
            import sys, zlib
            d = open(sys.argv[1], 'rb').read()
            print(zlib.crc32(d), zlib.crc32(d[1:1000]), zlib.crc32(d[7:], zlib.crc32(d[:7])))
            """, [path])
        let expected = String(decoding: text, as: UTF8.self).split(whereSeparator: \.isWhitespace).map { UInt32($0)! }
        bytes.withUnsafeBytes { all in
            #expect(CRC32.checksum(all, initial: 0, backend: backend) == expected[0])
            #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[1..<1000]), initial: 0, backend: backend)
                    == expected[1])
            let head = CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[..<7]), initial: 0, backend: backend)
            #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[7...]), initial: head, backend: backend)
                    == expected[2])
        }
    }
}

@Suite struct GzipDecoderMessageTests {
    /// Where each member of `path` ends, by python's zlib (each member inflated on its own).
    static func memberEnds(_ path: String) throws -> [Int] {
        let text = try python("""
            import sys, zlib
            d = open(sys.argv[1], 'rb').read(); pos = 0; ends = []
            while pos < len(d):
                z = zlib.decompressobj(31); z.decompress(d[pos:]); pos = len(d) - len(z.unused_data); ends.append(pos)
            print(*ends)
            """, [path])
        return String(decoding: text, as: UTF8.self).split(whereSeparator: \.isWhitespace).map { Int($0)! }
    }

    /// Every cut of multi.gz (two members) gives the documented message with the member number and byte count
    /// python derives; cuts at a member's end decode.
    @Test(arguments: Backends.testable, [Int.max, 7])
    func truncationMessagesAtEveryOffset(backend: InflateBackend, piece: Int) throws {
        let input = try Fixtures.bytes("multi.gz")
        let ends = try Self.memberEnds(Fixtures.path("multi.gz"))
        try #require(ends.count == 2 && ends[1] == input.count)
        let cuts = Set(Array(stride(from: 0, to: input.count, by: 29)) + Array(0..<24)
                       + ends.flatMap { ($0 - 12)...($0 + 12) }).filter { $0 <= input.count }
        for cut in cuts.sorted() {
            let error = decodeError(Array(input[..<cut]), backend: backend, chunkSize: { piece })
            let done = ends.filter { $0 <= cut }.count
            if cut == 0 {
                #expect(error?.description == "truncated gzip stream (empty input)")
            } else if ends.contains(cut) {
                #expect(error == nil, "cut \(cut)")
            } else {
                #expect(error?.description == "truncated gzip stream (member \(done + 1) unfinished after \(cut) bytes)",
                        "cut \(cut)")
            }
        }
    }

    /// A flipped CRC or ISIZE names the member and the byte where its check ended (after the CRC, after ISIZE).
    @Test(arguments: Backends.testable)
    func checksumMessagesNameTheMember(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("multi.gz")
        let ends = try Self.memberEnds(Fixtures.path("multi.gz"))
        for (index, end) in ends.enumerated() {
            var crc = input; crc[end - 7] ^= 0x40
            #expect(decodeError(crc, backend: backend)?.description
                    == "gzip CRC32 mismatch (member \(index + 1), ending at byte \(end - 4))")
            var size = input; size[end - 2] ^= 0x01
            #expect(decodeError(size, backend: backend, chunkSize: { 3 })?.description
                    == "gzip length mismatch (member \(index + 1), ending at byte \(end))")
        }
    }

    @Test(arguments: Backends.testable)
    func trailingGarbageMessage(backend: InflateBackend) throws {
        let input = try Fixtures.bytes("multi.gz")
        for tail: [UInt8] in [Array("xyz".utf8), [0x1f, 0x00], [0]] {
            #expect(decodeError(input + tail, backend: backend, chunkSize: { 4096 })?.description
                    == "trailing garbage after gzip data (at byte \(input.count), after 2 member(s))")
        }
    }

    /// A bad block type (BTYPE 11) in the first deflate byte: zlib's words on both libraries.
    @Test(arguments: Backends.testable)
    func invalidBlockTypeInZlibWords(backend: InflateBackend) throws {
        var input = try Fixtures.bytes("multi.gz")
        try #require(input[3] == 8)   // FNAME only: the deflate data starts after the name's zero byte
        input[input[10...].firstIndex(of: 0)! + 1] = 0xff
        #expect(decodeError(input, backend: backend)?.description == "corrupt deflate data (invalid block type)")
    }

    /// Seeded random damage (1-3 flipped bytes, a cut, a tail) to gzip(1), python and block-format files, fed in
    /// random pieces: ISA-L's verdict, words and output must be zlib's (which the tests above hold to python's).
    @Test(.enabled(if: InflateBackend.isal.isAvailable, "needs ISA-L (libisal-dev)"))
    func librariesAgreeOnRandomDamage() throws {
        var generator = SeededGenerator(seed: 31337)
        let (blocks, _) = try blockFile(mixedBytes(count: 300_000, seed: 3), blockSize: 65_536, strategy: .default)
        let files = [try Fixtures.bytes("multi.gz"), try Fixtures.bytes("headers.gz"), try Fixtures.bytes("pigz.gz"),
                     blocks]
        for round in 0..<400 {
            var bytes = files[round % files.count]
            for _ in 0...Int.random(in: 0...2, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
            }
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: bytes = Array(bytes[..<Int.random(in: 0..<bytes.count, using: &generator)])
            case 1: bytes += [0x1f, 0x8b, 8][..<Int.random(in: 1...3, using: &generator)]
            default: break
            }
            let piece = [Int.max, 1, 7, 4096][round % 4]
            func outcome(_ backend: InflateBackend) -> String {
                do { return "ok \(try decode(bytes, backend: backend, chunkSize: { piece }).hashValue)" }
                catch { return "\(error)" }
            }
            #expect(outcome(.isal) == outcome(.zlib), "round \(round)")
        }
    }

    /// 6 MiB (text-like runs mixed with noise, then random bytes) compressed by gzip(1) -6, plus a second member
    /// by python's gzip at level 1: both libraries return exactly the input, whatever the read sizes.
    @Test(arguments: Backends.testable)
    func multiMiBInputFromGzipAndPython(backend: InflateBackend) throws {
        var generator = SeededGenerator(seed: 2026)
        let first = mixedBytes(count: 4 << 20, seed: 77)
        let second = (0..<(2 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let firstPath = try temporaryFile(first, suffix: ".bin"), secondPath = try temporaryFile(second, suffix: ".bin")
        defer {
            try? FileManager.default.removeItem(atPath: firstPath)
            try? FileManager.default.removeItem(atPath: secondPath)
        }
        let gzip = try run(["sh", "-c", "gzip -6 -n -c < \"$0\"", firstPath])
        try #require(gzip.status == 0)
        let python = try python("""
            import gzip, sys
            sys.stdout.buffer.write(gzip.compress(open(sys.argv[1], 'rb').read(), compresslevel=1, mtime=0))
            """, [secondPath])
        let file = gzip.stdout + python
        let output = try decode(file, backend: backend, chunkSize: { Int.random(in: 1...300_000, using: &generator) })
        #expect(output.count == first.count + second.count)
        #expect(output == first + second)
    }
}
