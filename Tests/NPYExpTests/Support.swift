// Test support: runs the built `npyexp` binary as a real process, makes scratch directories, and reads .npy /
// .npy.gz files back (gzip through the Gzip module, header through NPYFormat) for comparisons with the numpy-made
// references in fixtures/expected. Relies on Foundation (Process, FileManager).
import Foundation
import Gzip
import NPYFormat
import Testing

enum Paths {
    /// The package root, found from this file's location.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("fixtures")
    static let data = fixtures.appendingPathComponent("data")
    static let expected = fixtures.appendingPathComponent("expected")

    /// The npyexp binary built beside this test bundle.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The test runner may live inside an .xctest bundle directory.
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("npyexp").path),
            dir.path != "/"
        {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("npyexp").path
    }()
}

/// A child that exits before reading all its input must not kill the test runner.
let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

/// What a finished process printed and returned.
struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: String
    var terminatedBySignal: Bool
}

/// Runs a program to completion; stdin from `input` (or /dev/null).
@discardableResult
func run(
    _ executable: String, _ arguments: [String], in directory: URL? = nil, input: Data? = nil,
    environment: [String: String]? = nil
) throws -> RunResult {
    _ = ignoreSIGPIPE
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    if let environment {
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    // Files, not pipes: nothing can block or break, and the child sees a regular stdin as a user's redirect would.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("npyexp-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out")
    let errURL = scratch.appendingPathComponent("err")
    let inURL = scratch.appendingPathComponent("in")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    FileManager.default.createFile(atPath: inURL.path, contents: input ?? Data())
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    defer {
        try? out.close()
        try? err.close()
        try? inHandle.close()
    }
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input == nil ? FileHandle.nullDevice : inHandle
    try p.run()
    p.waitUntilExit()
    let outData = try Data(contentsOf: outURL)
    let errData = try Data(contentsOf: errURL)
    return RunResult(
        status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self),
        terminatedBySignal: p.terminationReason == .uncaughtSignal)
}

/// Runs npyexp.
@discardableResult
func npyexp(_ arguments: [String], in directory: URL? = nil, input: Data? = nil) throws -> RunResult {
    try run(Paths.binary, arguments, in: directory, input: input)
}

/// A fresh scratch directory, removed by the caller's `defer`.
func scratchDirectory(_ name: String = "t") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "npyexp-test-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// An .npy file read back: its header and raw data bytes (after gunzip when gzip).
struct LoadedArray {
    var header: NPYHeader
    var headerBytes: [UInt8]
    var data: [UInt8]
}

func gunzipIfNeeded(_ bytes: [UInt8]) throws -> [UInt8] {
    guard bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b else { return bytes }
    var out: [UInt8] = []
    let decoder = GzipDecoder()
    try bytes.withUnsafeBytes { raw in
        try decoder.write(raw) { out.append(contentsOf: $0) }
    }
    try decoder.finish()
    return out
}

func loadNPY(_ url: URL) throws -> LoadedArray {
    let raw = try gunzipIfNeeded([UInt8](Data(contentsOf: url)))
    let parsed = try raw.withUnsafeBytes { try NPYHeader.parse($0) }
    guard let (header, used) = parsed else { throw TestFailure("incomplete header in \(url.path)") }
    return LoadedArray(header: header, headerBytes: Array(raw[..<used]), data: Array(raw[used...]))
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Distance in units in the last place between two floats of the same type (0 when both NaN).
func ulpDistance<F: BinaryFloatingPoint>(_ a: F, _ b: F) -> Double {
    if a.isNaN && b.isNaN { return 0 }
    if a == b { return 0 }
    if a.isNaN || b.isNaN || a.isInfinite || b.isInfinite {
        // An infinity against the largest finite value is one step.
        if a.isInfinite && b.isFinite { return b.magnitude == F.greatestFiniteMagnitude && a.sign == b.sign ? 1 : .infinity }
        if b.isInfinite && a.isFinite { return a.magnitude == F.greatestFiniteMagnitude && a.sign == b.sign ? 1 : .infinity }
        return .infinity
    }
    let ulp = max(a.ulp, b.ulp, F.leastNonzeroMagnitude)
    return Double((a - b).magnitude / ulp)
}

/// Largest element-wise ulp distance between two little-endian float arrays of the given item size.
func maxULP(_ a: [UInt8], _ b: [UInt8], itemSize: Int) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in
            let n = a.count / itemSize
            for i in 0..<n {
                let d: Double
                switch itemSize {
                case 2:
                    d = ulpDistance(
                        Float16(bitPattern: pa.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)),
                        Float16(bitPattern: pb.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                case 4:
                    d = ulpDistance(pa.loadUnaligned(fromByteOffset: 4 * i, as: Float.self),
                                    pb.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
                default:
                    d = ulpDistance(pa.loadUnaligned(fromByteOffset: 8 * i, as: Double.self),
                                    pb.loadUnaligned(fromByteOffset: 8 * i, as: Double.self))
                }
                worst = max(worst, d)
            }
        }
    }
    return worst
}

/// Every file below `dir`, relative, sorted.
func listFiles(_ dir: URL) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
    var files: [String] = []
    while let p = e.nextObject() as? String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent(p).path, isDirectory: &isDir), !isDir.boolValue {
            files.append(p)
        }
    }
    return files.sorted()
}
