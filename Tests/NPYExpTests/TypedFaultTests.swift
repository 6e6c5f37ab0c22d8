// Typed faults: every bad-input class reaches the library caller as an `NPYExpError` whose `fault` names the class,
// so callers and tests match the fault, not the text; and every fault's message is defined once, distinct from
// every other fault's. Relies on `@testable import NPYExp` (the library API), NPYFormat, Gzip and fixtures/bad.
import Foundation
import Gzip
import NPYFormat
import Testing

@testable import NPYExp

@Suite struct TypedFaultTests {
    /// fixtures/bad file -> the typed fault the library must report.
    static let expected: [(String, NPYExpError.Fault)] = [
        ("bad_magic.npy", .format(.badMagic)),
        ("corrupt_deflate.npy.gz", .gzip(.corruptData)),
        ("crc_mismatch.npy.gz", .gzip(.crcMismatch)),
        ("header_too_large.npy", .format(.headerTooLarge)),
        ("huge_shape.npy", .format(.shapeTooLarge)),
        ("length_mismatch.npy.gz", .gzip(.lengthMismatch)),
        ("malformed_header.npy", .format(.malformedHeader)),
        ("missing_key.npy", .format(.malformedHeader)),
        ("negative_shape.npy", .format(.invalidShape)),
        ("not_gzip.npy.gz", .gzip(.notGzip)),
        ("object_dtype.npy", .format(.unsupportedDType)),
        ("short_data.npy", .stream(.shortData)),
        ("structured_dtype.npy", .format(.unsupportedDType)),
        ("trailing_bytes.npy", .stream(.trailingBytes)),
        ("trailing_garbage.npy.gz", .gzip(.trailingGarbage)),
        ("truncated.npy.gz", .gzip(.truncated)),
        ("version_9.npy", .format(.unsupportedVersion)),
    ]

    @Test(arguments: expected.map(\.0))
    func eachBadInputHasItsTypedFault(name: String) throws {
        let fault = Self.expected.first { $0.0 == name }!.1
        let out = try scratchDirectory("typed")
        defer { try? FileManager.default.removeItem(at: out) }
        var c = ExpConfiguration()
        c.outputDirectory = out.path
        let path = Paths.fixtures.appendingPathComponent("bad/\(name)").path
        let report = ExpPipeline(c).process(InputItem(file: path))
        #expect(report.error?.fault == fault, "\(name): \(String(describing: report.error))")
        #expect(report.error?.category == .data)
    }

    /// A `.gz` name holding valid gzip whose content is not NPY: the content is at fault, not the container.
    @Test func gzipOfNonNPYContentIsNotCalledNotGzip() throws {
        let dir = try scratchDirectory("gz-content")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.npy.gz")
        try python("import gzip,sys\nopen(sys.argv[1],'wb').write(gzip.compress(b'hello, not npy'))", [path.path])
        var c = ExpConfiguration()
        c.outputDirectory = dir.appendingPathComponent("out").path
        let report = ExpPipeline(c).process(InputItem(file: path.path))
        #expect(report.error?.fault == .format(.badMagic))
        #expect(report.error?.message == "not an NPY file (bad magic)")
        let plain = dir.appendingPathComponent("y.npy.gz")
        try Data("plain junk".utf8).write(to: plain)
        #expect(ExpPipeline(c).process(InputItem(file: plain.path)).error?.fault == .gzip(.notGzip))
    }

    @Test func systemFaultsKeepTheirErrno() throws {
        let report = ExpPipeline(ExpConfiguration()).process(InputItem(file: "/nonexistent/x.npy"))
        #expect(report.error?.fault == .system(errno: ENOENT))
        #expect(report.error?.category == .noInput)
    }

    /// Each fault class has its own message, defined in one place: the leading words differ between classes.
    @Test func everyFaultHasItsOwnMessage() {
        var messages: [String: String] = [:]
        func add(_ key: String, _ message: String) {
            let lead = message.split(separator: "(").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? message
            #expect(messages.values.contains(lead) == false, "\(key) shares its message '\(lead)'")
            messages[key] = lead
            print("\(key): \(message)")
        }
        let gzipKinds: [GzipError.Kind] = [
            .notGzip, .truncated, .corruptData, .crcMismatch, .lengthMismatch, .trailingGarbage, .badHeader,
            .compressionFailed,
        ]
        for kind in gzipKinds { add("gzip.\(kind)", GzipError(kind, detail: "x").description) }
        add("stream.empty", NPYStreamFault.empty.description)
        add("stream.truncatedHeader", NPYStreamFault.truncatedHeader(after: 40).description)
        add("stream.shortData", NPYStreamFault.shortData(expected: 8, got: 4).description)
        add("stream.trailingBytes", NPYStreamFault.trailingBytes(expected: 8, extra: 4).description)
        #expect(messages.count == gzipKinds.count + 4)
    }
}
