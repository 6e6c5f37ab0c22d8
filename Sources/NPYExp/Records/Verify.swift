// Verify: re-checks outputs after the fact, like `sha256sum -c` and `gzip -t` together, plus the NPY structure.
// Each file is read once: its bytes go through SHA-256 (compared with the sidecar) and, decompressed when gzip
// (zlib checks every member's CRC32 and length), into a header parser that counts the data bytes against the shape;
// an .npz archive is read by ArchiveInspection (every member's CRC-32, sizes and NPY structure).
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
    /// The file the fault is about.
    public var path: String
    /// What is wrong.
    public var message: String
    /// A fault of `path`.
    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    /// `PATH: message`.
    public var description: String { "\(path): \(message)" }
}

/// The result of checking one file.
public struct VerifyResult: Sendable, Equatable {
    /// The file checked.
    public var path: String
    /// Empty when the file is intact.
    public var faults: [VerifyFault]
}

/// Checks outputs against their `.sha256` sidecars, their gzip CRCs and their NPY structure.
public enum OutputVerifier {
    /// One file to check, with the digest its sidecar records (nil: no sidecar lists it).
    public struct Target: Sendable, Equatable {
        /// The file to check.
        public var path: String
        /// The digest a checksum list records for it (nil: none lists it).
        public var expectedSHA256: String?
        /// The sidecar that was looked at, for messages.
        public var sidecar: String
    }

    /// What one command-line argument names: a checksum list (a `.sha256` sidecar, a `SHA256SUMS` or `*.sums` file,
    /// or any file whose first line is a checksum line: every file it lists), a directory (every checksum list below
    /// it, and every `.npy` / `.npy.gz` / `.npz` below it that none of them lists, which is a fault), or a file (checked
    /// against `FILE.sha256`). Faults found while listing (unreadable directories or lists, malformed lines, listed
    /// files that are missing) come back as `faults`.
    public static func targets(for argument: String) -> (targets: [Target], faults: [VerifyFault]) {
        var st = stat()
        guard FileSystem.stat(argument, &st) == 0 else {
            return ([], [VerifyFault(path: argument, SystemCall.errnoText(errno))])
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            var targets: [Target] = []
            var faults: [VerifyFault] = []
            let base = InputDiscovery.trimTrailingSlashes(argument)
            let walked = walkAll(base)
            faults += walked.problems.map(\.asFault)
            var covered: Set<String> = []
            for rel in walked.files where isChecksumListName(rel) {
                let listed = listedTargets(sidecar: PathTools.join(base, rel))
                targets += listed.targets
                faults += listed.faults
                for t in listed.targets { covered.insert(SumsFile.normalise(absolute(t.path))) }
            }
            for rel in walked.files where InputDiscovery.isTensorName(rel) {
                let path = PathTools.join(base, rel)
                if !covered.contains(SumsFile.normalise(absolute(path))) {
                    targets.append(
                        Target(path: path, expectedSHA256: nil, sidecar: Checksums.sidecarPath(for: path)))
                }
            }
            return (targets.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }, faults)
        }
        if isChecksumListName(argument) || looksLikeChecksumList(argument) { return listedTargets(sidecar: argument) }
        let sidecar = Checksums.sidecarPath(for: argument)
        let listed = listedTargets(sidecar: sidecar)
        let mine = listed.targets.first { $0.path == argument }
        return ([Target(path: argument, expectedSHA256: mine?.expectedSHA256, sidecar: sidecar)], [])
    }

    /// Names that hold checksum lines: sidecars, and coreutils-style sums files.
    static func isChecksumListName(_ path: String) -> Bool {
        let name = PathTools.split(path).1
        return name.hasSuffix(".sha256") || name.hasSuffix(".sums") || name.hasPrefix("SHA256SUMS")
    }

    /// A file that is neither NPY nor gzip and starts with a checksum line.
    static func looksLikeChecksumList(_ path: String) -> Bool {
        guard let text = try? Checksums.readSmallFile(path, limit: 512),
            let first = text.split(separator: "\n", maxSplits: 1).first
        else { return false }
        return Checksums.parseLine(first) != nil
    }

    /// An absolute path for comparisons, resolved against the working directory.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : PathTools.join(PathTools.currentDirectory(), path)
    }

    /// The files a checksum list names (`HASH  NAME`, `HASH *NAME`, or coreutils' escaped `\HASH  NAME`; NAME
    /// relative to the list's directory).
    static func listedTargets(sidecar: String) -> (targets: [Target], faults: [VerifyFault]) {
        let text: String
        do {
            text = try Checksums.readSmallFile(sidecar, limit: 64 << 20)
        } catch {
            return ([], [NPYExpError(wrapping: error, path: sidecar).asFault])
        }
        let dir = PathTools.split(sidecar).0
        var targets: [Target] = []
        var faults: [VerifyFault] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let (hash, name) = Checksums.parseLine(line) else {
                faults.append(VerifyFault(path: sidecar, "malformed checksum line \(number + 1)"))
                continue
            }
            let path = name.hasPrefix("/") ? name : PathTools.join(dir, name)
            targets.append(Target(path: path, expectedSHA256: hash, sidecar: sidecar))
        }
        if targets.isEmpty && faults.isEmpty { faults.append(VerifyFault(path: sidecar, "no checksum lines")) }
        return (targets, faults)
    }

    /// Every regular file below `dir`, relative, skipping hidden names (temporaries of running jobs among them);
    /// directories that cannot be read are reported.
    static func walkAll(_ dir: String) -> (files: [String], problems: [NPYExpError]) {
        var found: [String] = []
        var problems: [NPYExpError] = []
        func visit(_ rel: String) {
            for e in InputDiscovery.entries(rel.isEmpty ? dir : PathTools.join(dir, rel), problems: &problems)
            where !e.name.hasPrefix(".") {
                let child = rel.isEmpty ? e.name : rel + "/" + e.name
                if e.isDirectory { visit(child) } else if e.isFile { found.append(child) }
            }
        }
        visit("")
        return (found, problems)
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
        var archive: (isArchive: Bool, fault: String?) = (false, nil)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        do {
            // The file hashes what is read from it; an archive is read through the archive reader (members' CRCs,
            // sizes, NPY structure, central directory), anything else streamed through the structure check.
            let first = UnsafeRawBufferPointer(rebasing: buffer[..<(try file.read(into: buffer))])
            var feed = structure.feed
            if first.count >= 2 && Container.recognise(first[0], first[1]) == .zip {
                archive.isArchive = true
                do {
                    _ = try ArchiveInspection.read(file, prefix: first)
                } catch {
                    archive.fault = NPYExpError(wrapping: error, path: path).message
                }
                feed = { _ in }
            } else {
                feed(first)
            }
            while true {
                let n = try file.read(into: buffer)
                if n == 0 { break }
                feed(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            }
        } catch {
            return VerifyResult(path: path, faults: [error.asFault])
        }
        let actual = file.digest()
        if let expected = target.expectedSHA256 {
            if expected != actual {
                faults.append(VerifyFault(path: path, "SHA-256 mismatch (\(target.sidecar) records \(expected), file is \(actual))"))
            }
        } else {
            faults.append(
                VerifyFault(path: path, "no checksum: \(target.sidecar) is missing or does not list it, nor does a sums file"))
        }
        if let fault = archive.isArchive ? archive.fault : structure.finish() { faults.append(VerifyFault(path: path, fault)) }
        return VerifyResult(path: path, faults: faults)
    }

    /// Checks the bytes of an .npy, .npy.gz or .npz stream held in memory (no checksum); nil when they are intact.
    /// Used by the fuzz targets and by callers that already hold the bytes.
    public static func structuralFault(of bytes: UnsafeRawBufferPointer, name: String = "x.npy") -> String? {
        if bytes.count >= 2 && Container.recognise(bytes[0], bytes[1]) == .zip {
            do {
                _ = try ArchiveInspection.members(of: bytes)
                return nil
            } catch {
                return NPYExpError(wrapping: error, path: name).message
            }
        }
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
    private var parser = NPYStreamParser()
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
        do {
            try parser.feed(bytes) { _ in }
        } catch {
            fault = NPYExpError(wrapping: error, path: name, insideGzip: decoder != nil).message
        }
    }

    /// The first fault, or nil when the stream was complete and exact.
    func finish() -> String? {
        if opaque { return nil }
        if fault == nil, let decoder {
            do { try decoder.finish() } catch { fault = "\(error)" }
        }
        if let fault { return fault }
        do { try parser.finish() } catch { return error.description }
        return nil
    }
}

extension NPYExpError {
    var asFault: VerifyFault { VerifyFault(path: path, message) }
}
