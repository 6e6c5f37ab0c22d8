// Planner: the whole map of a run, built before anything is written. Every input gets its output path (for the
// container its first bytes show), and the run is refused, with one line naming both parties, when two inputs would
// share an output, when anything the run writes (an output, a sidecar, the --sums or --manifest file) is an input of
// the run, or when the records would overwrite an output. Files are compared by name after resolving their
// directory, and by inode where they exist, so `a/../x.npy`, symbolic links and `-o` trees that overlap the inputs are
// all seen. Inputs found by a walk or a glob that are npyexp's own outputs (NAME.exp.npy[.gz] without -o, or files in
// an -o tree nested inside the walked tree) are left out; named inputs never are. Relies on Glibc and the pipeline's
// naming rules.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one input's output goes, decided before anything is written.
public struct PlannedOutput: Sendable, Equatable {
    /// The output's path.
    public var path: String
    /// The container the input's first bytes showed when planned (nil: standard input, not looked at).
    public var inputContainer: Container?
}

/// One input of a plan.
public struct PlannedInput: Sendable {
    /// The input.
    public var item: InputItem
    /// Its output; nil when it goes to standard output or could not be planned.
    public var output: PlannedOutput?
    /// Why the input cannot be processed (reported as its failure; the other inputs go on).
    public var problem: NPYExpError?
    /// For backward: the forward result paired with this gradient.
    public var operand: InputItem?
}

/// The map of a run: what each input becomes, and what was left out.
public struct RunPlan: Sendable {
    /// The inputs to process, in order.
    public var inputs: [PlannedInput]
    /// Inputs found by a walk or glob that are npyexp's own outputs, left out.
    public var ownOutputs: [InputItem]
}

/// Builds and checks run plans.
public enum Planner {
    /// Plans `items` for `pipeline`'s configuration. `records` are the other files the run writes, with the option
    /// that names them (`--sums`, `--manifest`). Throws a usage error (exit 64) when the run would replace an input
    /// or write two things to one path; nothing has been written then.
    /// With `operands` (backward), `items` are gradients and `operands[i]` the forward result paired with item i;
    /// results are inputs too, so nothing may replace them either.
    public static func plan(
        _ items: [InputItem], operands: [InputItem]? = nil, pipeline: ExpPipeline, toStandardOutput: Bool = false,
        records: [(option: String, path: String)] = []
    ) throws(NPYExpError) -> RunPlan {
        let configuration = pipeline.configuration
        var names = CanonicalNames()
        let (kept, own) = separatingOwnOutputs(
            items.indices.map { (items[$0], operands?[$0]) },
            outputDirectory: configuration.outputDirectory, names: &names)

        // Inputs: canonical name and inode of each.
        var inputByName: [String: String] = [:]
        var inputByInode: [FileIdentity: String] = [:]
        var planned: [PlannedInput] = []
        var containers: [Container?] = []  // what each planned input's first bytes show (nil: not looked at)
        // A few system calls per input, on all cores: a run over many small files would otherwise wait on them.
        let paths = kept.map { $0.0.isStandardInput ? nil : $0.0.path }
        let sniffs = Parallel.map(paths.count, jobs: configuration.jobs) { i in
            paths[i].map(sniffContainer) ?? (container: nil, identity: nil)
        }
        for ((item, operand), sniff) in zip(kept, sniffs) {
            if item.isStandardInput {
                planned.append(PlannedInput(item: item))
                containers.append(nil)
                continue
            }
            if operand == nil, let id = sniff.identity, inputByInode[id] != nil {
                continue  // the same file named twice (`a.npy ./a.npy`): done once
            }
            if let id = sniff.identity { inputByInode[id] = item.path }
            inputByName[names.canonical(item.path)] = item.path
            protectIfNamedLikeTemporary(item.path, identity: sniff.identity)
            if let operand {
                inputByName[names.canonical(operand.path)] = operand.path
                let id = FileIdentity(statOf: operand.path)
                if let id { inputByInode[id] = operand.path }
                protectIfNamedLikeTemporary(operand.path, identity: id)
            }
            planned.append(PlannedInput(item: item, output: nil, problem: nil, operand: operand))
            containers.append(sniff.container)
        }

        // Outputs: each path once, never an input.
        var claimed: [String: String] = [:]  // canonical output or sidecar name -> input that writes it
        func refuse(_ message: String) -> NPYExpError {
            NPYExpError(path: "refused", message, category: .usage, fault: .refused)
        }
        if !toStandardOutput {
            for i in planned.indices {
                let item = planned[i].item
                let path: String
                if item.isStandardInput {
                    guard let dir = configuration.outputDirectory else { continue }
                    path = PathTools.join(dir, item.relativePath)
                    planned[i].output = PlannedOutput(path: path, inputContainer: nil)
                } else {
                    // An unreadable input keeps a name-based guess; it fails with its own error when run.
                    let container = containers[i] ?? (item.path.hasSuffix(".gz") ? .gzip : .plain)
                    path = pipeline.outputPath(
                        for: item, inputContainer: container, suffix: planned[i].operand == nil ? "exp" : "backward")
                    planned[i].output = PlannedOutput(path: path, inputContainer: containers[i])
                    if let dir = configuration.outputDirectory {
                        do {
                            try PathTools.checkStaysInside(
                                relativePath: item.relativePath, outputDirectory: dir, input: item.path,
                                resolve: { names.realDirectory($0) })
                        } catch {
                            planned[i].problem = error
                            planned[i].output = nil
                            continue
                        }
                    }
                }
                if let problem = outputNameProblem(path, input: item.path) {
                    planned[i].problem = problem
                    planned[i].output = nil
                    continue
                }
                let outputName = names.canonical(path)
                for (written, what) in [(outputName, path), (outputName + ".sha256", path + ".sha256")] {
                    if let input = inputByName[written] {
                        throw refuse(
                            input == item.path
                                ? "the output of \(item.path) would replace the input itself (\(what))"
                                : "the output of \(item.path) would replace the input \(input) (\(what))")
                    }
                    if let other = claimed[written] {
                        throw refuse("\(other) and \(item.path) would both be written to \(what)")
                    }
                    claimed[written] = item.path
                }
                // In a directory that does not exist yet there is nothing to replace (no lstat per output then).
                if names.realDirectory(PathTools.split(path).0) != nil, let id = FileIdentity(lstatOf: path),
                    let input = inputByInode[id]
                {
                    throw refuse("the output of \(item.path) would replace the input \(input) (\(path))")
                }
            }
        }

        // Records: never an input, an output, or each other.
        var recordNames: [String: String] = [:]
        for (option, path) in records {
            let name = names.canonical(path)
            let isInput =
                inputByName[name] ?? FileIdentity(statOf: path).flatMap { inputByInode[$0] }
            if let input = isInput {
                throw refuse("\(option) \(path) is an input of this run (\(input))")
            }
            if let writer = claimed[name] {
                throw refuse("\(option) \(path) is also where \(writer) is written")
            }
            // `npyexp --sums *.npy` hands the first tensor to --sums: never overwrite tensor data with a record.
            if InputDiscovery.isTensorName(PathTools.split(path).1) || looksLikeTensor(path) {
                throw refuse("\(option) \(path) names a tensor file, not a record (was a glob expanded into it?)")
            }
            if let other = recordNames[name] {
                throw refuse("\(other) and \(option) both name \(path)")
            }
            recordNames[name] = option
        }
        return RunPlan(inputs: planned, ownOutputs: own)
    }

    /// Why `path` cannot be an output, or nil: a name of npyexp's temporary form (a later run would take it for a
    /// leftover and remove it), or a name whose sidecar (NAME.sha256) would be longer than NAME_MAX. Told before
    /// anything is computed, for that input alone.
    static func outputNameProblem(_ path: String, input: String) -> NPYExpError? {
        let name = PathTools.split(path).1
        if TemporaryFiles.writerPID(ofTemporaryName: name) != nil {
            return NPYExpError(
                path: input, "output name \(name) has the form of npyexp's temporary files (a later run would remove it)",
                category: .output, fault: .refused)
        }
        let sidecar = PathTools.split(Checksums.sidecarPath(for: path)).1
        if sidecar.utf8.count > Int(NAME_MAX) {
            return NPYExpError(
                path: input, "output name too long: \(sidecar.utf8.count) bytes with .sha256, the limit is \(NAME_MAX)",
                category: .output, fault: .system(errno: ENAMETOOLONG))
        }
        return nil
    }

    /// Keeps the sweep of killed runs' temporaries away from an input whose name has their form.
    static func protectIfNamedLikeTemporary(_ path: String, identity: FileIdentity?) {
        guard TemporaryFiles.writerPID(ofTemporaryName: PathTools.split(path).1) != nil,
            let identity = identity ?? FileIdentity(statOf: path)
        else { return }
        TemporaryFiles.protect(identity)
    }

    /// An output must never replace its own input (for single inputs processed without a plan).
    static func refuseReplacingInput(_ input: String, _ output: String) throws(NPYExpError) {
        var names = CanonicalNames()
        let same =
            names.canonical(input) == names.canonical(output)
            || (FileIdentity(statOf: input).map { $0 == FileIdentity(lstatOf: output) } ?? false)
        if same {
            throw NPYExpError(path: input, "output path is the input itself: \(output)", category: .usage)
        }
    }

    /// Splits off inputs found by a walk or a glob that are npyexp's own outputs: without an output directory, files
    /// named NAME.exp.npy[.gz]; with one that lies strictly inside the walked tree, the files inside it that have a
    /// sidecar naming them. Named and listed inputs are always kept.
    static func separatingOwnOutputs(
        _ items: [(item: InputItem, operand: InputItem?)], outputDirectory: String?, names: inout CanonicalNames
    ) -> (inputs: [(InputItem, InputItem?)], ownOutputs: [InputItem]) {
        var kept: [(InputItem, InputItem?)] = []
        var own: [InputItem] = []
        let outRoot = outputDirectory.flatMap { PathTools.realPath($0) }
        for (item, operand) in items {
            guard item.origin == .walk || item.origin == .glob else {
                kept.append((item, operand))
                continue
            }
            let isOwn: Bool
            if let outRoot {
                let base = names.realDirectory(item.base) ?? ""
                let outInsideBase = outRoot != base && outRoot.hasPrefix(base == "/" ? "/" : base + "/")
                let real = names.canonical(item.path)
                // Inside the nested output tree, a file is an earlier output only when its sidecar says so; any
                // other file there is an input like the rest (and the plan refuses to replace it).
                isOwn = outInsideBase && real.hasPrefix(outRoot + "/") && Checksums.recordedDigest(of: item.path) != nil
            } else {
                isOwn = outputDirectory == nil && InputDiscovery.isOwnOutputName(PathTools.split(item.path).1)
            }
            if isOwn { own.append(item) } else { kept.append((item, operand)) }
        }
        return (kept, own)
    }

    /// The first two bytes and the identity of a regular file; nil when it cannot be read or is not a regular file
    /// (stat, then open, fstat, pread).
    static func peek(_ path: String) -> (magic: (UInt8, UInt8)?, identity: FileIdentity)? {
        // Only a regular file is opened. Opening a FIFO for reading lets its writer start, and closing it again
        // before the job opens it for real would leave that writer without a reader (SIGPIPE) and the job waiting
        // for a writer that is gone.
        var before = stat()
        guard FileSystem.stat(path, &before) == 0, (before.st_mode & S_IFMT) == S_IFREG else { return nil }
        let fd = FileSystem.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        var magic: (UInt8, UInt8) = (0, 0)
        let n = withUnsafeMutableBytes(of: &magic) { pread(fd, $0.baseAddress, 2, 0) }
        return (n == 2 ? magic : nil, FileIdentity(st))
    }

    /// The container an input's first two bytes show, and the file's identity; nils when it cannot be read.
    static func sniffContainer(_ path: String) -> (container: Container?, identity: FileIdentity?) {
        guard let (magic, identity) = peek(path) else { return (nil, nil) }
        return (magic.map { Container.recognise($0.0, $0.1) } ?? .plain, identity)
    }

    /// Whether an existing file starts like NPY (`\x93N`), gzip data or a zip archive.
    static func looksLikeTensor(_ path: String) -> Bool {
        guard let magic = peek(path)?.magic else { return false }
        return magic == (0x1f, 0x8b) || magic == (0x93, 0x4e) || magic == (0x50, 0x4b)
    }
}

/// A file's device and inode.
struct FileIdentity: Hashable {
    var device: UInt
    var inode: UInt

    init(_ st: stat) {
        device = UInt(st.st_dev)
        inode = UInt(st.st_ino)
    }

    /// The identity of what `path` names, following symbolic links; nil when it does not exist.
    init?(statOf path: String) {
        var st = stat()
        guard FileSystem.stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    /// The identity of the directory entry `path` itself (a symbolic link is not followed: renaming over it
    /// replaces the link, not its target).
    init?(lstatOf path: String) {
        var st = stat()
        guard FileSystem.lstat(path, &st) == 0 else { return nil }
        self.init(st)
    }
}

/// Canonical absolute names: the real path of the directory (cached: one realpath per directory, whether or not it
/// exists) plus the last component; directories that do not exist yet are normalised textually.
struct CanonicalNames {
    private var directories: [String: String?] = [:]

    mutating func realDirectory(_ dir: String) -> String? {
        if let known = directories[dir] { return known }
        let real = PathTools.realPath(dir.isEmpty ? "." : dir)
        // `.some`: a directory that does not exist is remembered too (assigning nil would remove the entry).
        directories[dir] = .some(real)
        return real
    }

    mutating func canonical(_ path: String) -> String {
        let (dir, name) = PathTools.split(path)
        if name == "." || name == ".." || name.isEmpty { return realDirectory(path) ?? SumsFile.absolute(path) }
        if let real = realDirectory(dir) { return PathTools.join(real, name) }
        // Not there yet: its nearest existing ancestor decides.
        return SumsFile.normalise(
            path.hasPrefix("/") ? path : PathTools.join(PathTools.currentDirectory(), path))
    }
}
