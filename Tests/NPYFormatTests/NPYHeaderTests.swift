// NPYFormatTests: the header reader and writer against bytes numpy 2.4 made (fixtures/npy), plus the
// streaming contract (nil for every proper prefix) and every error class. Relies on Foundation and Testing.
import Foundation
import Testing
import NPYFormat

@Suite struct NPYHeaderFixtureTests {
    @Test func manifestIsFromNumpy2() {
        #expect(Fixtures.manifest.numpy_version.hasPrefix("2."))
        #expect(Fixtures.manifest.valid.count > 150)
        #expect(Fixtures.manifest.invalid.count > 50)
    }

    @Test func parsesEveryNumpyFileAsNumpyReadsIt() throws {
        for fixture in Fixtures.manifest.valid {
            let bytes = Fixtures.bytes(fixture.file)
            let result = try #require(try parsePrefix(bytes, count: bytes.count).get(), "\(fixture.file)")
            let header = result.header
            #expect(result.byteCount == fixture.data_offset, "\(fixture.file)")
            #expect(header.version == NPYVersion(major: fixture.version[0], minor: fixture.version[1]), "\(fixture.file)")
            #expect(header.dtype.descr == fixture.descr, "\(fixture.file)")
            #expect(header.dtype.name == fixture.name, "\(fixture.file)")
            #expect(header.dtype.description == fixture.name, "\(fixture.file)")
            #expect(header.dtype.kind == scalarKind(fixture.kind), "\(fixture.file)")
            #expect(header.dtype.itemSize == fixture.itemsize, "\(fixture.file)")
            #expect(header.dtype.byteOrder == byteOrder(fixture.byteorder), "\(fixture.file)")
            #expect(header.fortranOrder == fixture.fortran_order, "\(fixture.file)")
            #expect(header.shape == fixture.shape, "\(fixture.file)")
            #expect(header.elementCount == fixture.size, "\(fixture.file)")
            #expect(header.dataByteCount == fixture.nbytes, "\(fixture.file)")
            if !fixture.header_only {
                #expect(bytes.count - result.byteCount == fixture.nbytes, "\(fixture.file)")
            }
        }
    }

    /// The writer is checked from the manifest's values alone, so a parse bug cannot hide a writer bug.
    @Test func encodesExactlyAsNumpyWrites() throws {
        for fixture in Fixtures.manifest.valid where fixture.made_by == "numpy" {
            let bytes = Fixtures.bytes(fixture.file)
            let version = NPYVersion(major: fixture.version[0], minor: fixture.version[1])
            let header = NPYHeader(
                dtype: try NPYDType(descr: fixture.descr), fortranOrder: fixture.fortran_order,
                shape: fixture.shape, version: version == .v1_0 ? nil : version)
            #expect(header.version == version, "\(fixture.file)")
            #expect(header.encoded() == Array(bytes[0..<fixture.data_offset]), "\(fixture.file)")
        }
    }

    @Test func roundTripsEveryValidFile() throws {
        for fixture in Fixtures.manifest.valid {
            let bytes = Fixtures.bytes(fixture.file)
            let parsed = try #require(try parsePrefix(bytes, count: bytes.count).get())
            let encoded = parsed.header.encoded()
            let again = try #require(try parsePrefix(encoded, count: encoded.count).get())
            #expect(again.header == parsed.header, "\(fixture.file)")
            #expect(again.byteCount == encoded.count, "\(fixture.file)")
            #expect(encoded.count % 64 == 0, "\(fixture.file)")
        }
    }

    @Test func headerTooLongForVersion1FallsBackTo2LikeNumpy() throws {
        let fixture = Fixtures.manifest.auto_version
        let header = NPYHeader(
            dtype: try NPYDType(descr: fixture.descr), fortranOrder: fixture.fortran_order,
            shape: Array(repeating: 1, count: fixture.ndim))
        #expect(header.version == NPYVersion(major: fixture.version[0], minor: fixture.version[1]))
        #expect(header.encoded() == Fixtures.bytes(fixture.file))
        // Asked for 1.0 explicitly, it still cannot fit a uint16 length: written as 2.0, as numpy would choose.
        var v1 = header
        v1.version = .v1_0
        #expect(v1.encoded() == Fixtures.bytes(fixture.file))
    }

    /// The streaming contract: nothing but nil until the last header byte, then the header, whatever follows.
    @Test func splitFeedingReturnsNilUntilTheHeaderIsComplete() throws {
        for fixture in Fixtures.manifest.valid {
            var bytes = Fixtures.bytes(fixture.file)
            bytes += [0x93, 0x4E, 0x55]  // trailing data must not matter
            // Every prefix of ordinary headers; for the 10000-byte one, a dense sample (the test is quadratic).
            let counts = fixture.data_offset <= 1024
                ? Array(0..<fixture.data_offset)
                : Array(0..<1024) + Array(stride(from: 1024, to: fixture.data_offset - 64, by: 61))
                    + Array((fixture.data_offset - 64)..<fixture.data_offset)
            for count in counts {
                guard case .success(nil) = parsePrefix(bytes, count: count) else {
                    Issue.record("\(fixture.file): prefix of \(count) bytes did not give nil")
                    break
                }
            }
            let full = try #require(try parsePrefix(bytes, count: fixture.data_offset).get(), "\(fixture.file)")
            let more = try #require(try parsePrefix(bytes, count: bytes.count).get(), "\(fixture.file)")
            #expect(full.header == more.header && full.byteCount == more.byteCount, "\(fixture.file)")
        }
    }

    @Test func refusesEveryInvalidFileWithItsMessage() {
        for fixture in Fixtures.manifest.invalid {
            let bytes = Fixtures.bytes(fixture.file)
            switch parsePrefix(bytes, count: bytes.count) {
            case .failure(let error):
                #expect(error.kind == errorKind(fixture.kind), "\(fixture.file)")
                #expect(error.description == fixture.message, "\(fixture.file)")
                #expect(!error.description.contains("\n"), "\(fixture.file)")
            case .success(let result):
                Issue.record("\(fixture.file): accepted as \(String(describing: result?.header))")
            }
        }
    }

    /// However the stream is split, a bad header gives nil or the very same error, never another one.
    @Test func invalidFilesFailTheSameWayForEveryPrefix() {
        for fixture in Fixtures.manifest.invalid {
            let bytes = Fixtures.bytes(fixture.file)
            for count in 0...bytes.count {
                switch parsePrefix(bytes, count: count) {
                case .success(nil): continue
                case .success(let result?):
                    Issue.record("\(fixture.file): \(count) bytes accepted as \(result.header)")
                case .failure(let error):
                    #expect(error.description == fixture.message, "\(fixture.file) after \(count) bytes")
                }
            }
        }
    }

    @Test func numpyRefusesTheFilesItShouldToo() {
        // Where npyexp is stricter than numpy it is on purpose: duplicate keys, dtypes numpy has and npyexp does
        // not process, and odd spellings. Everything else numpy refuses as well.
        let stricter: Set<String> = ["duplicate-descr.npy", "duplicate-shape.npy", "triple-quote.npy"]
        for fixture in Fixtures.manifest.invalid
        where fixture.kind != "unsupportedDType" && !stricter.contains(fixture.file) {
            #expect(fixture.numpy_refuses, "\(fixture.file)")
        }
    }
}

@Suite struct NPYHeaderEarlyErrorTests {
    func header(_ file: String) -> [UInt8] { Fixtures.bytes(file) }

    @Test func badMagicIsReportedFromTheFirstWrongByte() {
        let zip = header("bad-magic-zip.npy")
        if case .failure(let error) = parsePrefix(zip, count: 1) {
            #expect(error == NPYFormatError(.badMagic, "not an NPY file (bad magic)"))
        } else {
            Issue.record("'P' as the first byte must throw at once")
        }
        let nearly = header("bad-magic.npy")
        if case .failure(let error) = parsePrefix(nearly, count: 6) {
            #expect(error.kind == .badMagic)
        } else {
            Issue.record("a wrong sixth magic byte must throw")
        }
        if case .success(nil) = parsePrefix(nearly, count: 5) {} else { Issue.record("5 good magic bytes must be nil") }
    }

    @Test func versionIsCheckedAfterEightBytes() {
        let bytes = header("bad-version-4.npy")
        if case .success(nil) = parsePrefix(bytes, count: 7) {} else { Issue.record("7 bytes must be nil") }
        if case .failure(let error) = parsePrefix(bytes, count: 8) {
            #expect(error.description == "unsupported NPY version 4.0")
            #expect(error.kind == .unsupportedVersion)
        } else {
            Issue.record("8 bytes of version 4.0 must throw")
        }
    }

    @Test func lengthIsCheckedAsSoonAsItIsRead() {
        let v2 = header("too-large-v2-length-only.npy")
        #expect(v2.count == 12)
        if case .success(nil) = parsePrefix(v2, count: 11) {} else { Issue.record("11 bytes must be nil") }
        if case .failure(let error) = parsePrefix(v2, count: 12) {
            #expect(error.kind == .headerTooLarge)
        } else {
            Issue.record("a 2 GiB header length must throw")
        }
        let v1 = header("too-large-v1.npy")
        if case .failure(let error) = parsePrefix(v1, count: 10) {
            #expect(error.description == "NPY header too large (10001 bytes, limit 10000)")
        } else {
            Issue.record("a 10001-byte header length must throw once read")
        }
    }

    @Test func maxHeaderLengthIsTheCallersLimit() throws {
        let fixture = try #require(Fixtures.manifest.valid.first { $0.file == "hand-max-length.npy" })
        let bytes = Fixtures.bytes(fixture.file)
        let textLength = fixture.data_offset - 10
        #expect(textLength == 10_000)
        #expect(try parsePrefix(bytes, count: bytes.count).get() != nil)
        if case .failure(let error) = parsePrefix(bytes, count: bytes.count, maxHeaderLength: 9_999) {
            #expect(error.description == "NPY header too large (10000 bytes, limit 9999)")
        } else {
            Issue.record("limit 9999 must refuse a 10000-byte header")
        }
    }

    @Test func aSyntaxErrorIsReportedBeforeTheHeaderIsComplete() {
        // "['descr'..." is wrong from its first text byte: no need to wait for the rest of the header.
        let bytes = header("not-a-dict.npy")
        if case .failure(let error) = parsePrefix(bytes, count: 11) {
            #expect(error.kind == .malformedHeader)
        } else {
            Issue.record("'[' as the first header byte must throw at once")
        }
    }
}
