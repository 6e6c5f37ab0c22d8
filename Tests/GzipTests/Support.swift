// GzipTests support: fixture paths, the inflate libraries to test, feeding the decoder in chunks, a seeded
// generator, and running the independent readers and writers (gzip(1), pigz, python3) that the tests compare against.
import CZlib
import Foundation
import ToolSupport
@testable import Gzip

enum Fixtures {
    /// fixtures/gzip at the package root, found from this file's path so any working directory works.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/gzip")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

/// SplitMix64 (ToolSupport): reproducible chunk sizes and test data without Foundation's unseeded generators.
typealias SeededGenerator = SplitMix64

/// The inflate libraries every decoder test runs on: zlib always, ISA-L when it loads on this machine. When it does
/// not, its cases are left out and `InflateBackendTests.isalIsInstalled` says why (and fails where
/// NPYEXP_REQUIRE_ISAL is set, as in CI, which installs libisal-dev).
enum Backends {
    static let testable: [InflateBackend] = InflateBackend.allCases.filter(\.isAvailable)
}

/// Decodes `input` fed in chunks whose sizes come from `chunkSize` (called repeatedly), then finishes.
func decode(_ input: [UInt8], backend: InflateBackend = .zlib, chunkSize: () -> Int = { Int.max }) throws -> [UInt8] {
    let decoder = GzipDecoder(backend: backend)
    var output: [UInt8] = []
    try input.withUnsafeBytes { all in
        var offset = 0
        while offset < all.count {
            let count = min(max(1, chunkSize()), all.count - offset)
            try decoder.write(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])) {
                output.append(contentsOf: $0)
            }
            offset += count
        }
    }
    try decoder.finish()
    return output
}

/// The GzipError thrown by decoding `input`, or nil when it decodes.
func decodeError(_ input: [UInt8], backend: InflateBackend = .zlib, chunkSize: () -> Int = { Int.max }) -> GzipError? {
    do {
        _ = try decode(input, backend: backend, chunkSize: chunkSize)
        return nil
    } catch let error as GzipError {
        return error
    } catch {
        return GzipError(.compressionFailed, detail: "unexpected error \(error)")
    }
}

func encode(_ input: [UInt8], level: Int = 6, strategy: DeflateStrategy = .default,
            chunkSize: () -> Int = { Int.max }) throws -> [UInt8] {
    let encoder = GzipEncoder(level: level, strategy: strategy)
    var output: [UInt8] = []
    try input.withUnsafeBytes { all in
        var offset = 0
        while offset < all.count {
            let count = min(max(1, chunkSize()), all.count - offset)
            try encoder.write(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])) {
                output.append(contentsOf: $0)
            }
            offset += count
        }
    }
    try encoder.finish { output.append(contentsOf: $0) }
    return output
}

struct ProcessResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
}

/// Runs a tool (looked up on PATH through /usr/bin/env) with `arguments`; stdin is empty. stdout and stderr go
/// to temporary files, read after the child exits: corelibs Foundation's pipe reads trap on EINTR (SIGCHLD).
func run(_ arguments: [String]) throws -> ProcessResult {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("gziptests-\(UUID().uuidString)")
    let outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    let stdout = [UInt8](try Data(contentsOf: outURL))
    let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
}

/// Writes `bytes` to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], suffix: String = ".gz") throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("gziptests-\(UUID().uuidString)\(suffix)")
    try Data(bytes).write(to: url)
    return url.path
}

/// Runs a python3 snippet with extra argv; fails the caller when python fails.
func python(_ script: String, _ arguments: [String] = []) throws -> [UInt8] {
    let result = try run(["python3", "-c", script] + arguments)
    guard result.status == 0 else {
        throw GzipError(.compressionFailed, detail: "python3 failed: \(result.stderr)")
    }
    return result.stdout
}

/// Bytes whose compressibility is in between: a short alphabet with runs, plus noise.
func mixedBytes(count: Int, seed: UInt64) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
        let run = Int.random(in: 1...40, using: &generator)
        if Bool.random(using: &generator) {
            let byte = UInt8.random(in: 97...102, using: &generator)
            bytes.append(contentsOf: repeatElement(byte, count: run))
        } else {
            for _ in 0..<run { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
        }
    }
    return Array(bytes.prefix(count))
}

/// A value shared by concurrentPerform iterations under a lock.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

// Test-only conveniences that the product does not need (kept out of the Gzip module).
extension GzipBlocks {
    /// Appends one complete member for `input` to `output` (a copy of the product's buffer-based call).
    static func compressMember(
        _ input: UnsafeRawBufferPointer, level: Int, strategy: DeflateStrategy, into output: inout [UInt8]
    ) throws {
        let member = UnsafeMutableRawBufferPointer.allocate(
            byteCount: maxMemberByteCount(inputCount: input.count), alignment: 64)
        defer { member.deallocate() }
        let count = try compressMember(input, level: level, strategy: strategy, into: member)
        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: member[0..<count]))
    }
}

extension CRC32 {
    /// CRC-32 of A followed by B, given CRC(A) = `a`, CRC(B) = `b` and B's length (zlib's crc32_combine).
    static func combine(_ a: UInt32, _ b: UInt32, lengthOfB: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(uLong(a), uLong(b), off_t(lengthOfB)))
    }
}
