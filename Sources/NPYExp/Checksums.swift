// Checksums: the coreutils-format sidecar `OUTPUT.sha256` (`HASH  NAME`, NAME the output's file name, so that
// `sha256sum -c` verifies it from the output's directory), written atomically after the output, and the check that
// lets a rerun skip an output that is already complete. Relies on Crypto (SHA-256).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto

/// Sidecar checksum files.
public enum Checksums {
    public static func sidecarPath(for output: String) -> String { output + ".sha256" }

    /// The line `sha256sum` writes for `name`.
    static func line(digest: String, name: String) -> String { "\(digest)  \(name)\n" }

    static func writeSidecar(for output: String, digest: String, durable: Bool) throws {
        let name = PathTools.split(output).1
        let file = try AtomicFile(finalPath: sidecarPath(for: output))
        let text = line(digest: digest, name: name)
        do {
            try Array(text.utf8).withUnsafeBytes { try file.write($0) }
            try file.commit(sync: durable)
        } catch {
            file.abandon()
            throw error
        }
    }

    /// The digest recorded in `path`'s sidecar when the sidecar names this file and the file's bytes match it.
    public static func verifiedDigest(of path: String) -> String? {
        guard let recorded = recordedDigest(of: path), let actual = try? sha256(ofFile: path) else { return nil }
        return recorded == actual ? actual : nil
    }

    /// The hash the sidecar records for `path`, when the sidecar is well-formed and names the file.
    public static func recordedDigest(of path: String) -> String? {
        guard let text = try? readSmallFile(sidecarPath(for: path), limit: 4096) else { return nil }
        let name = PathTools.split(path).1
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64 else { continue }
            var fileName = Substring(parts[1])
            if fileName.hasPrefix(" ") || fileName.hasPrefix("*") { fileName = fileName.dropFirst() }
            if fileName == name { return String(parts[0]).lowercased() }
        }
        return nil
    }

    /// Streams a file through SHA-256.
    public static func sha256(ofFile path: String) throws -> String {
        let file = try InputFile(path: path)
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        return hex(hasher.finalize())
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func readSmallFile(_ path: String, limit: Int) throws -> String {
        let file = try InputFile(path: path)
        var bytes = [UInt8](repeating: 0, count: limit)
        let n = try bytes.withUnsafeMutableBytes { try file.readFully(into: $0) }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }
}
