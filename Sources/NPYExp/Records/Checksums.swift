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
    /// Where the sidecar of `output` lives: `OUTPUT.sha256`.
    public static func sidecarPath(for output: String) -> String { output + ".sha256" }

    /// The line `sha256sum` writes for `name`: `HASH  NAME`, or, when the name holds a backslash, newline or
    /// carriage return, `\HASH  ESCAPED` with those escaped as coreutils does.
    static func line(digest: String, name: String) -> String {
        let (escaped, marked) = escape(name)
        return (marked ? "\\" : "") + "\(digest)  \(escaped)\n"
    }

    /// coreutils' escaping: `\` -> `\\`, newline -> `\n`, carriage return -> `\r`; true when anything was escaped
    /// (the line then starts with a backslash).
    static func escape(_ name: String) -> (String, Bool) {
        guard name.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\n" || $0 == "\r" }) else { return (name, false) }
        var out = ""
        for c in name.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return (out, true)
    }

    /// One checksum line read back: (lower-case hash, file name), or nil when the line is not one. Understands
    /// `HASH  NAME`, `HASH *NAME` and coreutils' escaped form (a leading backslash).
    static func parseLine(_ line: Substring) -> (hash: String, name: String)? {
        var text = line
        let escaped = text.hasPrefix("\\")
        if escaped { text = text.dropFirst() }
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 64, parts[0].utf8.allSatisfy(isHexDigit) else { return nil }
        var name = parts[1]
        guard name.hasPrefix(" ") || name.hasPrefix("*") else { return nil }
        name = name.dropFirst()
        guard escaped else { return (parts[0].lowercased(), String(name)) }
        var out = ""
        var iterator = name.unicodeScalars.makeIterator()
        while let c = iterator.next() {
            guard c == "\\" else {
                out.unicodeScalars.append(c)
                continue
            }
            switch iterator.next() {
            case "\\": out += "\\"
            case "n": out += "\n"
            case "r": out += "\r"
            default: return nil
            }
        }
        return (parts[0].lowercased(), out)
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x61...0x66).contains(c) || (0x41...0x46).contains(c)
    }

    /// The output's digest when the output is complete and was made from this very input with the same options:
    /// its sidecar verifies, and the recorded input size and mtime match (or, if they moved, the input's SHA-256).
    static func completeOutputDigest(_ output: String, input: InputFile, recipe: String) -> String? {
        // The sidecar is read once; the cheap checks come before hashing the output.
        guard let text = sidecarText(of: output),
            let recorded = Provenance(sidecarText: text), recorded.recipe == recipe,
            let identity = input.identity, identity.size == recorded.size,
            let expected = recordedDigest(in: text, name: PathTools.split(output).1),
            isRegularFile(output), let digest = try? sha256(ofFile: output), digest == expected
        else { return nil }
        if identity.mtimeNanoseconds == recorded.mtimeNanoseconds { return digest }
        guard let now = try? sha256(ofFile: input.path), now == recorded.sha256 else { return nil }
        return digest
    }

    /// The text of `output`'s sidecar, when it is a regular file (or a link to one): a FIFO there is never
    /// opened, as opening it would wait for a writer.
    static func sidecarText(of output: String) -> String? {
        let path = sidecarPath(for: output)
        var st = stat()
        guard FileSystem.stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return try? readSmallFile(path, limit: 4096)
    }

    /// Whether `path` itself (not a link's target) is a regular file, as every output npyexp writes is: a FIFO or a
    /// link to a device where an output should be is never read as one (it could be endless).
    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return FileSystem.lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The hash the sidecar records for `path`, when the sidecar is well-formed and names the file.
    public static func recordedDigest(of path: String) -> String? {
        guard let text = sidecarText(of: path) else { return nil }
        return recordedDigest(in: text, name: PathTools.split(path).1)
    }

    /// The hash a sidecar's text records for the file called `name`.
    static func recordedDigest(in text: String, name: String) -> String? {
        for line in text.split(separator: "\n") {
            if let (hash, fileName) = parseLine(line), fileName == name { return hash }
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
        return FileSystem.string(fromBytes: bytes[..<n])
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

extension Checksums {
    /// Whether a planned input's output is already complete, by the very check a run makes before skipping it: the
    /// sidecar verifies and records this input and `pipeline`'s options. False under `force`, for standard input and
    /// for inputs without a planned output. Reads (hashes the output), never writes; used by `npyexp --dry-run`.
    public static func isComplete(_ planned: PlannedInput, pipeline: ExpPipeline) -> Bool {
        guard !pipeline.configuration.force, !planned.item.isStandardInput, let output = planned.output,
            let container = output.inputContainer,
            let input = try? InputFile(path: planned.item.path, exclusive: false, wait: false)
        else { return false }
        let recipe = pipeline.recipe(gzip: pipeline.outputIsGzip(container))
        return completeOutputDigest(output.path, input: input, recipe: recipe) != nil
    }
}
