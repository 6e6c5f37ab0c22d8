// The fault-injection matrix of the safety promise: each fault class times each processing path, with inputs larger
// than two chunks (so the overlapped reader, the block-parallel inflate, the lockstep backward reader and the .npz
// archive reader and writer are the paths that meet the fault) and, for batch paths, alongside good inputs. Every cell checks the same four things:
// the exit status, the error line's phrase, that no temporary is left anywhere, and that every good input of the
// batch was committed (its output verifies with coreutils `sha256sum -c`). No cell may end by a signal other than
// the one it sends. Relies on the real binary, numpy (inputs), coreutils, and root for the tmpfs cells.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How the input that meets the fault is processed.
enum MatrixPath: String, CaseIterable, CustomTestStringConvertible {
    /// A small plain input in a batch (in-memory reader, group commit).
    case smallInBatch
    /// A plain input of several chunks in a batch (overlapped reader, group commit).
    case overlappedInBatch
    /// An npyexp-made block-framed gzip input of several batches (block-parallel inflate, group commit).
    case blockGzipInBatch
    /// A gzip(1)-style single-member input of several chunks (serial inflate on the overlapped reader).
    case serialGzipInBatch
    /// One large input alone (fsync + rename commit).
    case singleLarge
    /// Standard input to standard output.
    case standardInput
    /// A large file to standard output (`-c`).
    case standardOutput
    /// A backward pair of large inputs (lockstep reader).
    case backward
    /// An .npz archive (a deflated and a stored member of several chunks each) in a batch.
    case archiveInBatch
    /// A large .npz archive from standard input to standard output.
    case archiveStandardInput

    var testDescription: String { rawValue }
    var isBatch: Bool {
        [.smallInBatch, .overlappedInBatch, .blockGzipInBatch, .serialGzipInBatch, .archiveInBatch].contains(self)
    }
    var isArchive: Bool { self == .archiveInBatch || self == .archiveStandardInput }
    var writesToStandardOutput: Bool { [.standardInput, .standardOutput, .archiveStandardInput].contains(self) }
}

/// A fault the run meets.
enum MatrixFault: String, CaseIterable, CustomTestStringConvertible {
    /// The input's data is damaged late in the stream.
    case damagedLate
    /// The output's file system is full (a small tmpfs, or /dev/full for standard output).
    case diskFull
    /// `ulimit -f`: writes fail with EFBIG instead of the process dying of SIGXFSZ.
    case fileSizeLimit
    /// SIGTERM while the large input is being written.
    case terminated
    /// A refused conversion (complex input with --dtype float32) found in the header.
    case refusedConversion

    var testDescription: String { rawValue }
}

struct MatrixCell: CustomTestStringConvertible, Sendable {
    var fault: MatrixFault
    var path: MatrixPath
    /// Named temporaries forced (NPYEXP_TEMPORARIES=named), the fallback where O_TMPFILE is missing; otherwise
    /// they are unnamed, as on this machine's file systems.
    var named = false
    var testDescription: String { "\(fault.rawValue) x \(path.rawValue)" + (named ? " x named" : "") }

    static var all: [MatrixCell] {
        var cells: [MatrixCell] = []
        for fault in MatrixFault.allCases {
            for path in MatrixPath.allCases {
                // Backward has no --dtype. A small output neither fills a disk nor passes a size limit, and is
                // written too fast to be interrupted: those faults are for the large paths.
                if fault == .refusedConversion && path == .backward { continue }
                let large: [MatrixFault] = [.diskFull, .fileSizeLimit, .terminated]
                if path == .smallInBatch && large.contains(fault) { continue }
                cells.append(MatrixCell(fault: fault, path: path))
                // Each way of making temporaries meets every fault on every path that writes files.
                if !path.writesToStandardOutput { cells.append(MatrixCell(fault: fault, path: path, named: true)) }
            }
        }
        return cells
    }
}

/// Elements of the large inputs: 12 MiB of float32, three 4 MiB chunks.
let matrixElements = 3 << 20

@Suite(.serialized) struct FaultMatrixTests {
    @Test(arguments: MatrixCell.all)
    func faultOnPath(_ cell: MatrixCell) throws {
        let root = try scratchDirectory("matrix")
        defer {
            unmount(root.appendingPathComponent("out"))
            try? FileManager.default.removeItem(at: root)
        }
        let input = root.appendingPathComponent("in")
        let out = root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        if cell.fault == .diskFull && !cell.path.writesToStandardOutput {
            guard mountSmallTmpfs(at: out, size: "3m") else {
                print("skipped \(cell.testDescription): mounting a tmpfs needs root")
                return
            }
        }

        // The input that meets the fault, and (batch paths) good inputs beside it.
        let bad = try makeFaultyInput(cell, in: input)
        var good: [String] = []
        if cell.path.isBatch {
            for i in 0..<4 {
                let name = "good\(i).npy"
                try makeNormalInput(input.appendingPathComponent(name), elements: 300, seed: 100 + i)
                good.append(name)
            }
        }

        var arguments: [String] = []
        var stdinFile: URL?
        switch cell.path {
        case .standardInput, .archiveStandardInput:
            arguments = ["-c", "-"]
            stdinFile = bad
        case .standardOutput:
            arguments = ["-c", bad.path]
        case .backward:
            let grad = input.appendingPathComponent("grad.npy")
            try makeNormalInput(grad, elements: matrixElements, seed: 7)
            arguments = ["backward", "-o", out.path, bad.path, grad.path]
        case .singleLarge:
            arguments = ["-o", out.path, bad.path]
        default:
            arguments = ["-o", out.path, input.path]
        }
        if cell.fault == .refusedConversion { arguments.insert(contentsOf: ["--dtype", "float32"], at: 0) }

        let result = try runMatrixCommand(cell, arguments: arguments, stdin: stdinFile, in: root)

        // 1. Never killed by a signal it did not ask for.
        #expect(!result.terminatedBySignal, "\(cell.testDescription): died of a signal; stderr: \(result.stderr)")
        // 2. The documented status and phrase.
        let (status, phrases) = expectation(cell)
        #expect(result.status == status, "\(cell.testDescription): status \(result.status); stderr: \(result.stderr)")
        #expect(
            phrases.contains { result.stderr.contains($0) },
            "\(cell.testDescription): stderr lacks \(phrases): \(result.stderr)")
        if cell.fault == .terminated {
            let lines = result.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == 1, "\(cell.testDescription): one line on SIGTERM, got \(lines)")
        }
        // 3. No temporary anywhere.
        let left = try temporariesBelow(root)
        #expect(left.isEmpty, "\(cell.testDescription): temporaries left: \(left)")
        // 4. Nothing at the bad input's output path; every good input committed and verified.
        let badOutput = out.appendingPathComponent(bad.lastPathComponent)
        if !cell.path.writesToStandardOutput && cell.path != .backward {
            #expect(!FileManager.default.fileExists(atPath: badOutput.path), "\(cell.testDescription): partial output")
        }
        if cell.fault != .terminated {
            for name in good {
                let sidecar = out.appendingPathComponent(name + ".sha256")
                #expect(try coreutilsChecksumOK(sidecar: sidecar), "\(cell.testDescription): \(name) not committed")
            }
        }
    }

    /// The status and phrase each fault must give.
    func expectation(_ cell: MatrixCell) -> (Int32, [String]) {
        switch cell.fault {
        case .damagedLate:
            switch cell.path {
            case .archiveInBatch, .archiveStandardInput: return (1, ["truncated archive"])
            case .blockGzipInBatch: return (1, ["gzip CRC32 mismatch", "corrupt deflate data", "gzip length mismatch"])
            case .serialGzipInBatch: return (1, ["truncated gzip stream"])
            default: return (1, ["data shorter than the shape"])
            }
        case .diskFull: return (74, ["no space left on device"])
        case .fileSizeLimit: return (74, ["file too large"])
        case .terminated: return (143, ["stopped by SIGTERM"])
        case .refusedConversion: return (1, ["cannot convert"])
        }
    }

    /// Makes the input that meets the fault: large (three chunks) except on the small path.
    func makeFaultyInput(_ cell: MatrixCell, in dir: URL) throws -> URL {
        let elements = cell.path == .smallInBatch ? 500 : matrixElements
        let gzip = cell.path == .blockGzipInBatch || cell.path == .serialGzipInBatch
        let url = dir.appendingPathComponent(cell.path.isArchive ? "bad.npz" : gzip ? "bad.npy.gz" : "bad.npy")
        if cell.path.isArchive {
            // Two members of three chunks each, the first deflated, the second stored (complex for the refused
            // conversion, found in the second member's header after the first was written).
            try python(
                """
                import sys, zipfile, numpy as np
                n = int(sys.argv[2]); rng = np.random.default_rng(3)
                a = rng.standard_normal(n, dtype=np.float32)
                b = (a * (1 + 1j)).astype(np.complex64) if sys.argv[3] == "1" else rng.standard_normal(n, dtype=np.float32)
                with zipfile.ZipFile(sys.argv[1], "w") as z:
                    for name, x, kind in (("a.npy", a, zipfile.ZIP_DEFLATED), ("b.npy", b, zipfile.ZIP_STORED)):
                        info = zipfile.ZipInfo(name)
                        info.compress_type = kind
                        with z.open(info, "w", force_zip64=True) as m:
                            np.save(m, x)
                """, [url.path, String(elements), cell.fault == .refusedConversion ? "1" : "0"])
            if cell.fault == .damagedLate {
                let bytes = try Data(contentsOf: url)
                try bytes.prefix(bytes.count * 3 / 4).write(to: url)
            }
            return url
        }
        if cell.fault == .refusedConversion {
            try python(
                "import sys, numpy as np\nnp.save(sys.argv[1], (np.arange(int(sys.argv[2])) * (1 + 1j)).astype(np.complex64))",
                [url.path, String(elements / 2)])
            return url
        }
        if cell.path == .blockGzipInBatch {
            // npyexp's own block format, written by npyexp itself from a plain input.
            let plain = dir.appendingPathComponent("src.npy")
            try makeNormalInput(plain, elements: elements, seed: 3)
            let made = try npyexp(["-c", "--gzip", plain.path])
            try made.stdout.write(to: url)
            try FileManager.default.removeItem(at: plain)
        } else {
            try makeNormalInput(url, elements: elements, seed: 3, gzip: gzip)
        }
        if cell.fault == .damagedLate {
            var bytes = try Data(contentsOf: url)
            if cell.path == .blockGzipInBatch {
                // Flip bytes in a member of a later 4 MiB batch: its CRC or its deflate data no longer holds.
                let at = bytes.count * 3 / 4
                for i in at..<(at + 64) { bytes[i] ^= 0x5a }
            } else {
                bytes = bytes.prefix(bytes.count * 3 / 4)
            }
            try bytes.write(to: url)
        }
        return url
    }

    /// Runs the cell's command with its fault in place.
    func runMatrixCommand(_ cell: MatrixCell, arguments: [String], stdin: URL?, in dir: URL) throws -> RunResult {
        let quoted = ([Paths.binary] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        var shell = "exec " + quoted
        if let stdin { shell += " < '\(stdin.path)'" }
        switch cell.fault {
        case .diskFull where cell.path.writesToStandardOutput:
            shell += " > /dev/full"
        case .fileSizeLimit:
            // 4 MiB: every large output passes it; standard output goes to a file so the limit applies there too.
            shell = "ulimit -f 4096; " + shell + (cell.path.writesToStandardOutput ? " > '\(dir.path)/stdout.bin'" : "")
        default:
            if cell.path.writesToStandardOutput { shell += " > '\(dir.path)/stdout.bin'" }
        }
        if cell.named { shell = "export NPYEXP_TEMPORARIES=named; " + shell }
        if cell.fault == .terminated {
            let child = try Spawned("/bin/sh", ["-c", shell], in: dir)
            // Wait until the run is writing (a temporary exists, or output bytes appear), then stop it. The shell
            // execs npyexp, so the child's PID is npyexp's.
            let started = poll(timeout: 20) {
                (try? temporariesBelow(dir).isEmpty == false) == true
                    || !unnamedTemporaries(of: child.pid, below: dir).isEmpty
                    || ((try? FileManager.default.attributesOfItem(atPath: dir.path + "/stdout.bin")[.size] as? Int)
                        ?? 0) > 0
            }
            #expect(started, "\(cell.testDescription): never started writing")
            kill(child.pid, SIGTERM)
            return try child.wait()
        }
        return try run("/bin/sh", ["-c", shell], in: dir)
    }
}

/// Every name below `dir` (any depth, hidden ones included) that carries npyexp's temporary marker.
func temporariesBelow(_ dir: URL) throws -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: dir.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { $0.contains(".npyexp-tmp.") }
}
