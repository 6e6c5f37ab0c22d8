// Verify: re-checks outputs after the fact, like `sha256sum -c` and `gzip -t` together, plus the NPY structure.
// Each file is read once: its bytes go through SHA-256 (compared with the sidecar) and, decompressed when gzip
// (zlib checks every member's CRC32 and length), into a header parser that counts the data bytes against the shape.
// Relies on Gzip (GzipDecoder), NPYFormat (NPYHeader.parse), Crypto (SHA-256), Dispatch.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Dispatch
import Gzip
import NPYFormat
import Synchronization

/// One fault found by `OutputVerifier`; `description` is the line the CLI prints after `npyexp: `.
public struct VerifyFault: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

/// The result of checking one file.
public struct VerifyResult: Sendable, Equatable {
    public var path: String
    /// Empty when the file is intact.
    public var faults: [VerifyFault]
}

/// Checks outputs against their `.sha256` sidecars, their gzip CRCs and their NPY structure.
public enum OutputVerifier {
    /// One file to check, with the digest its sidecar records (nil: no sidecar lists it).
    public struct Target: Sendable, Equatable {
        public var path: String
        public var expectedSHA256: String?
        /// The sidecar that was looked at, for messages.
        public var sidecar: String
    }

    /// What one command-line argument names: a sidecar (every file it lists), a directory (every sidecar below it,
    /// and every npyexp-named output `*.exp.npy[.gz]` without one), or a file (checked against `FILE.sha256`).
    /// Faults found while listing (unreadable or malformed sidecars, listed files that are missing) come back
    /// as `faults`.
    public static func targets(for argument: String) -> (targets: [Target], faults: [VerifyFault]) {
        var st = stat()
        guard stat(argument, &st) == 0 else {
            return ([], [VerifyFault(path: argument, SystemCall.errnoText(errno))])
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            var targets: [Target] = []
            var faults: [VerifyFault] = []
            let base = InputDiscovery.trimTrailingSlashes(argument)
            let files = walkAll(base)
            let fileSet = Set(files)
            for rel in files where rel.hasSuffix(".sha256") {
                let listed = listedTargets(sidecar: PathTools.join(base, rel))
                targets += listed.targets
                faults += listed.faults
            }
            for rel in files where InputDiscovery.isOwnOutputName(rel) && !fileSet.contains(rel + ".sha256") {
                let path = PathTools.join(base, rel)
                targets.append(Target(path: path, expectedSHA256: nil, sidecar: Checksums.sidecarPath(for: path)))
            }
            return (targets.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }, faults)
        }
        if argument.hasSuffix(".sha256") { return listedTargets(sidecar: argument) }
        let sidecar = Checksums.sidecarPath(for: argument)
        let listed = listedTargets(sidecar: sidecar)
        let mine = listed.targets.first { $0.path == argument }
        return ([Target(path: argument, expectedSHA256: mine?.expectedSHA256, sidecar: sidecar)], [])
    }

    /// The files a sidecar lists (`HASH  NAME` or `HASH *NAME`, NAME relative to the sidecar's directory).
    static func listedTargets(sidecar: String) -> (targets: [Target], faults: [VerifyFault]) {
        let text: String
        do {
            text = try Checksums.readSmallFile(sidecar, limit: 1 << 20)
        } catch {
            return ([], [NPYExpError(wrapping: error, path: sidecar).asFault])
        }
        let dir = PathTools.split(sidecar).0
        var targets: [Target] = []
        var faults: [VerifyFault] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", maxSplits: 1)
            let hash = parts.first.map(String.init) ?? ""
            guard parts.count == 2, hash.utf8.count == 64, hash.utf8.allSatisfy(Self.isHexDigit) else {
                faults.append(VerifyFault(path: sidecar, "malformed checksum line \(number + 1)"))
                continue
            }
            var name = Substring(parts[1])
            if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
            let path = PathTools.join(dir, String(name))
            targets.append(Target(path: path, expectedSHA256: hash.lowercased(), sidecar: sidecar))
        }
        if targets.isEmpty && faults.isEmpty { faults.append(VerifyFault(path: sidecar, "no checksum lines")) }
        return (targets, faults)
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x61...0x66).contains(c) || (0x41...0x46).contains(c)
    }

    /// Every regular file below `dir`, relative, skipping hidden names (temporaries of running jobs among them).
    static func walkAll(_ dir: String) -> [String] {
        var found: [String] = []
        func visit(_ rel: String) {
            for e in InputDiscovery.entries(rel.isEmpty ? dir : PathTools.join(dir, rel)) where !e.name.hasPrefix(".") {
                let child = rel.isEmpty ? e.name : rel + "/" + e.name
                if e.isDirectory { visit(child) } else if e.isFile { found.append(child) }
            }
        }
        visit("")
        return found
    }

    /// Checks one file: its SHA-256 against `expectedSHA256` (a missing sidecar is a fault), and, when it looks like
    /// gzip or NPY (or is named so), the gzip stream (CRC32 and length of every member) and the NPY structure.
    public static func check(_ target: Target) -> VerifyResult {
        var faults: [VerifyFault] = []
        let path = target.path
        let file: InputFile
        do {
            file = try InputFile(path: path, exclusive: false)
        } catch {
            return VerifyResult(path: path, faults: [error.asFault])
        }
        let structure = StructureCheck(name: PathTools.split(path).1)
        var hasher = SHA256()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        do {
            while true {
                let n = try file.read(into: buffer)
                if n == 0 { break }
                let piece = UnsafeRawBufferPointer(rebasing: buffer[..<n])
                hasher.update(bufferPointer: piece)
                structure.feed(piece)
            }
        } catch {
            return VerifyResult(path: path, faults: [error.asFault])
        }
        let actual = Checksums.hex(hasher.finalize())
        if let expected = target.expectedSHA256 {
            if expected != actual {
                faults.append(VerifyFault(path: path, "SHA-256 mismatch (\(target.sidecar) records \(expected), file is \(actual))"))
            }
        } else {
            faults.append(VerifyFault(path: path, "no checksum: \(target.sidecar) is missing or does not list it"))
        }
        if let fault = structure.finish() { faults.append(VerifyFault(path: path, fault)) }
        return VerifyResult(path: path, faults: faults)
    }

    /// Checks the bytes of an .npy or .npy.gz stream held in memory (no checksum); nil when they are intact.
    /// Used by the fuzz targets and by callers that already hold the bytes.
    public static func structuralFault(of bytes: UnsafeRawBufferPointer, name: String = "x.npy") -> String? {
        let structure = StructureCheck(name: name)
        structure.feed(bytes)
        return structure.finish()
    }

    /// Checks every target, `jobs` files at a time; results in the targets' order.
    public static func checkAll(_ targets: [Target], jobs: Int = ExpConfiguration.availableCores) -> [VerifyResult] {
        let results = Mutex<[VerifyResult?]>(Array(repeating: nil, count: targets.count))
        let next = Atomic<Int>(0)
        let workers = max(1, min(jobs, targets.count))
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                guard i < targets.count else { return }
                let r = check(targets[i])
                results.withLock { $0[i] = r }
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        return results.withLock { $0.compactMap { $0 } }
    }
}

/// Streams a file's bytes through an optional gzip decoder into an NPY header parser and a data byte counter.
/// The first fault found is kept; later bytes are ignored by the failed stage.
final class StructureCheck {
    private let name: String
    private var started = false
    private var decoder: GzipDecoder?
    private var fault: String?
    private var headerBytes: [UInt8] = []
    private var header: NPYHeader?
    private var dataSeen = 0
    /// Neither gzip nor NPY magic: a file named otherwise (a manifest, say) that only its checksum covers.
    private var opaque = false

    init(name: String) { self.name = name }

    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard fault == nil, !opaque, bytes.count > 0 else { return }
        if !started {
            started = true
            let gzipMagic = bytes.count >= 1 && bytes[0] == 0x1f && (bytes.count < 2 || bytes[1] == 0x8b)
            let npyNamed = name.hasSuffix(".npy") || name.hasSuffix(".npy.gz") || name.hasSuffix(".gz")
            if gzipMagic {
                decoder = GzipDecoder()
            } else if !npyNamed && bytes[0] != 0x93 {
                opaque = true
                return
            }
        }
        if let decoder {
            do {
                try decoder.write(bytes) { self.npy($0) }
            } catch {
                fault = "\(error)"
            }
        } else {
            npy(bytes)
        }
    }

    private func npy(_ bytes: UnsafeRawBufferPointer) {
        guard fault == nil else { return }
        if header != nil {
            dataSeen += bytes.count
            return
        }
        headerBytes.append(contentsOf: bytes)
        do {
            guard let (h, used) = try headerBytes.withUnsafeBytes({ try NPYHeader.parse($0) }) else { return }
            header = h
            dataSeen = headerBytes.count - used
            headerBytes = []
        } catch {
            fault = NPYExpError(wrapping: error, path: name).message
        }
    }

    /// The first fault, or nil when the stream was complete and exact.
    func finish() -> String? {
        if opaque { return nil }
        if fault == nil, let decoder {
            do { try decoder.finish() } catch { fault = "\(error)" }
        }
        if let fault { return fault }
        guard let header else {
            return headerBytes.isEmpty ? "empty file (no NPY header)" : "truncated NPY header (\(headerBytes.count) bytes)"
        }
        let expected = header.dataByteCount
        if dataSeen < expected { return "data shorter than the shape: expected \(expected) bytes, got \(dataSeen)" }
        if dataSeen > expected { return "\(dataSeen - expected) unexpected bytes after the array data (expected \(expected) bytes)" }
        return nil
    }
}

extension NPYExpError {
    var asFault: VerifyFault { VerifyFault(path: path, message) }
}
