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

    static func writeSidecar(for output: String, digest: String, provenance: Provenance?, durable: Bool) throws {
        let name = PathTools.split(output).1
        let file = try AtomicFile(finalPath: sidecarPath(for: output))
        let text = line(digest: digest, name: name) + (provenance.map { $0.line } ?? "")
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

    /// The output's digest when the output is complete and was made from this very input with the same options:
    /// its sidecar verifies, and the recorded input size and mtime match (or, if they moved, the input's SHA-256).
    static func completeOutputDigest(_ output: String, input: InputFile, recipe: String) -> String? {
        // The sidecar is read once; the cheap checks come before hashing the output.
        guard let text = try? readSmallFile(sidecarPath(for: output), limit: 4096),
            let recorded = Provenance(sidecarText: text), recorded.recipe == recipe,
            let identity = input.identity, identity.size == recorded.size,
            let expected = recordedDigest(in: text, name: PathTools.split(output).1),
            let digest = try? sha256(ofFile: output), digest == expected
        else { return nil }
        if identity.mtimeNanoseconds == recorded.mtimeNanoseconds { return digest }
        guard let now = try? sha256(ofFile: input.path), now == recorded.sha256 else { return nil }
        return digest
    }

    /// The hash the sidecar records for `path`, when the sidecar is well-formed and names the file.
    public static func recordedDigest(of path: String) -> String? {
        guard let text = try? readSmallFile(sidecarPath(for: path), limit: 4096) else { return nil }
        return recordedDigest(in: text, name: PathTools.split(path).1)
    }

    /// The hash a sidecar's text records for the file called `name`.
    static func recordedDigest(in text: String, name: String) -> String? {
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
        let file = try InputFile(path: path, exclusive: false)
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
        let file = try InputFile(path: path, exclusive: false)
        var bytes = [UInt8](repeating: 0, count: limit)
        let n = try bytes.withUnsafeMutableBytes { try file.readFully(into: $0) }
        return String(decoding: bytes[..<n], as: UTF8.self)
    }
}

/// Where an output came from, kept as a comment line in its sidecar (`sha256sum -c` ignores lines starting with #):
/// the input's size, mtime and SHA-256, and the options that shaped the output.
struct Provenance: Equatable {
    var size: Int
    var mtimeNanoseconds: Int
    var sha256: String
    var recipe: String

    static let prefix = "# npyexp source "

    var line: String { "\(Self.prefix)size=\(size) mtime_ns=\(mtimeNanoseconds) sha256=\(sha256) options=\(recipe)\n" }

    init(size: Int, mtimeNanoseconds: Int, sha256: String, recipe: String) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.sha256 = sha256
        self.recipe = recipe
    }

    init?(sidecarText text: String) {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(Self.prefix) }) else { return nil }
        var fields: [Substring: Substring] = [:]
        for part in line.dropFirst(Self.prefix.count).split(separator: " ") {
            guard let eq = part.firstIndex(of: "=") else { return nil }
            fields[part[..<eq]] = part[part.index(after: eq)...]
        }
        guard let size = fields["size"].flatMap({ Int($0) }), let mtime = fields["mtime_ns"].flatMap({ Int($0) }),
            let sha = fields["sha256"], let recipe = fields["options"]
        else { return nil }
        self.init(size: size, mtimeNanoseconds: mtime, sha256: String(sha), recipe: String(recipe))
    }
}
