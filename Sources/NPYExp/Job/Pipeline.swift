// Pipeline: the per-input job. For one input it chains the stages (Reader -> Transform -> Payload -> OutputFile),
// checks whether a complete output already exists, and either commits the output at once (one input) or stages it
// for the batch's commit group. Every failure, at any stage and on any path (small in memory, overlapped large input,
// block-parallel inflate, standard input, standard output), ends here as one `NPYExpError` and the removal of the
// input's temporaries. Relies on the Storage, Job and Records files of this module.
import Gzip
import NPYFormat

/// Applies exp to .npy / .npy.gz inputs and writes checksummed outputs.
public final class ExpPipeline: Sendable {
    /// The options every input of this pipeline is processed with.
    public let configuration: ExpConfiguration

    /// A pipeline for `configuration`.
    public init(_ configuration: ExpConfiguration) {
        self.configuration = configuration
    }

    /// The output path for an input whose container is `container`.
    public func outputPath(for item: InputItem, inputContainer container: Container, suffix: String = "exp") -> String {
        let gzip = outputIsGzip(container)
        let name = PathTools.split(item.relativePath).1
        let stem = Self.stem(name)
        if container == .zip {
            // An archive stays an archive (--gzip / --no-gzip choose how its members are stored).
            if let dir = configuration.outputDirectory { return PathTools.join(dir, item.relativePath) }
            return PathTools.join(PathTools.split(item.path).0, stem + ".\(suffix).npz")
        }
        if let dir = configuration.outputDirectory {
            let (relDir, _) = PathTools.split(item.relativePath)
            let sameContainer = (container == .gzip) == gzip
            let fileName = sameContainer ? name : stem + (gzip ? ".npy.gz" : ".npy")
            return PathTools.join(PathTools.join(dir, relDir == "." ? "" : relDir), fileName)
        }
        let (dir, _) = PathTools.split(item.path)
        return PathTools.join(dir, stem + (gzip ? ".\(suffix).npy.gz" : ".\(suffix).npy"))
    }

    func outputIsGzip(_ input: Container) -> Bool {
        switch configuration.container {
        case .followInput: return input == .gzip
        case .gzip: return true
        case .plain: return false
        }
    }

    /// The name without its .npy / .npy.gz / .gz / .npz ending.
    static func stem(_ name: String) -> String {
        for suffix in [".npy.gz", ".npy", ".gz", ".npz"] where name.hasSuffix(suffix) && name.count > suffix.count {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    /// Processes one input to its output file (or to standard output when `toStandardOutput`), committing it at
    /// once. Use `BatchRunner` for many inputs: it plans them first and commits in groups.
    public func process(_ item: InputItem, toStandardOutput: Bool = false) -> FileReport {
        let target: JobTarget = toStandardOutput || item.isStandardInput && configuration.outputDirectory == nil
            ? .standardOutput : .file(planned: nil)
        return run(item, target: target, wait: true).report
    }

    /// Where a job writes.
    enum JobTarget {
        /// Standard output, no sidecar.
        case standardOutput
        /// A file: the path the planner chose for the container it saw (nil: work it out here).
        case file(planned: PlannedOutput?)
        /// A file, staged for a commit group instead of committed.
        case staged(planned: PlannedOutput)
    }

    /// The outcome of one job: its report, and for a staged output what the commit group needs.
    struct JobOutcome {
        var report: FileReport
        var staged: CommitGroup.Entry?
        /// Another run holds the input (only when not waiting for it).
        var busy: Bool { report.error?.category == .busy }
    }

    /// Runs the job for `item` (exp; or, with an `operand`, exp's backward with `item` the gradient and `operand`
    /// the forward result). With `wait` false, an input another run holds is not waited for (`busy`).
    func run(_ item: InputItem, target: JobTarget, wait: Bool, operand: InputItem? = nil) -> JobOutcome {
        var report = FileReport(input: item, status: .done)
        let started = Clock.now()
        var staged: CommitGroup.Entry?
        var container: Container?
        do {
            staged = try runJob(item, target: target, wait: wait, operand: operand, container: &container, report: &report)
        } catch {
            report.status = .failed(NPYExpError(wrapping: error, path: item.path, insideGzip: container == .gzip))
        }
        report.seconds = Clock.now() - started
        staged?.report = report
        return JobOutcome(report: report, staged: staged)
    }

    private func runJob(
        _ item: InputItem, target: JobTarget, wait: Bool, operand operandItem: InputItem?, container seen: inout Container?,
        report: inout FileReport
    ) throws -> CommitGroup.Entry? {
        let file = item.isStandardInput ? InputFile(standardInput: ()) : try InputFile(path: item.path, wait: wait)
        // The input's flock must outlive the sidecar's rename, or an overlapping run could see the output half-done.
        defer { withExtendedLifetime(file) {} }
        file.progress = configuration.progress
        let reader = InputReader(file: file, jobs: configuration.jobs)
        let container = try reader.detect()
        seen = container
        let gzip = outputIsGzip(container)
        // Backward: the forward result, shared-read (never locked: it is not what this job writes from).
        let operandFile = try operandItem.map { try InputFile(path: $0.path, exclusive: false) }
        let recipe = self.recipe(container == .zip ? archiveRecipe() : recipe(gzip: gzip), operand: operandFile)

        let output: OutputFile
        let planned: PlannedOutput?
        switch target {
        case .standardOutput: planned = nil
        case .file(let p): planned = p
        case .staged(let p): planned = p
        }
        if case .standardOutput = target {
            output = OutputFile(standardOutput: ())
        } else {
            let path = try outputPath(item, planned: planned, container: container, operand: operandItem)
            report.outputPath = path
            if !configuration.force,
                let digest = Checksums.completeOutputDigest(path, input: file, recipe: recipe)
            {
                report.status = .skipped
                report.outputSHA256 = digest
                // A run that only skips still clears what killed runs left beside its outputs.
                TemporaryFiles.removeStale(in: PathTools.split(path).0)
                return nil
            }
            output = try OutputFile(finalPath: path)
        }
        do {
            if container == .zip {
                // Large archives are read ahead on a thread of their own, like large .npy.gz inputs.
                let large = (file.identity?.size ?? 0) >= 2 * configuration.chunkBytes && configuration.jobs > 1
                let archive: MemberSource = large
                    ? ArchiveReadAhead(
                        file: file, prefix: reader.detectedPrefix, depth: 3, chunkBytes: configuration.chunkBytes)
                    : ArchiveReader(file: file, prefix: reader.detectedPrefix)
                let operand = try operandFile.map { try archiveOperand($0) }
                report.members = try ArchiveJob(configuration: configuration).run(archive, to: output, operand: operand)
                report.elementCount = report.members?.reduce(0) { $0 + $1.elementCount } ?? 0
                report.counts = report.members?.reduce(ResultCounts()) { $0 + $1.counts } ?? ResultCounts()
                report.inputBytes = file.bytesRead
                return try finishOutput(output, file: file, recipe: recipe, target: target, report: &report)
            }
            let operand = try operandFile.map { file -> OperandStream in
                let reader = InputReader(file: file, jobs: configuration.jobs)
                let container: Container
                do { container = try reader.detect() } catch { throw NPYExpError(wrapping: error, path: file.path) }
                if container == .zip {
                    throw NPYExpError(path: file.path, "is an .npz archive, the gradient is not", category: .data)
                }
                return try OperandStream(reader, path: file.path, chunkBytes: configuration.chunkBytes)
            }
            let transform = ExpTransform(
                requested: configuration.outputType, promotion: configuration.promotion, jobs: configuration.jobs,
                chunkBytes: configuration.chunkBytes, sink: makePayload(output, gzip: gzip), operand: operand)
            if configuration.hashPayload { transform.hashPayload() }
            // Small inputs are not worth a second thread; large ones inflate ahead of exp and deflate.
            let small = (file.identity?.size ?? Int.max) < 2 * configuration.chunkBytes
            if small || configuration.jobs == 1 {
                try reader.run { try transform.consume($0) }
            } else {
                try reader.runOverlapped(depth: configuration.readAheadChunks, chunkBytes: configuration.chunkBytes) {
                    try transform.consume($0)
                }
            }
            try transform.finish()
            report.payloadSHA256 = transform.payloadDigest()
            report.elementCount = transform.elementCount
            report.counts = transform.counts
            report.inputDType = transform.header?.dtype
            report.outputDType = transform.computeType?.dtype
            report.shape = transform.header?.shape
            report.inputBytes = reader.compressedBytes
            return try finishOutput(output, file: file, recipe: recipe, target: target, report: &report)
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Records the output's size and digest, writes its sidecar, and commits it (one input) or stages it for the
    /// batch's commit group.
    private func finishOutput(
        _ output: OutputFile, file: InputFile, recipe: String, target: JobTarget, report: inout FileReport
    ) throws -> CommitGroup.Entry? {
        report.inputSHA256 = file.digest()
        report.outputBytes = output.byteCount
        report.outputSHA256 = output.digest
        let provenance = file.identity.map {
            Provenance(
                size: $0.size, mtimeNanoseconds: $0.mtimeNanoseconds, sha256: report.inputSHA256 ?? "", recipe: recipe)
        }
        try output.writeSidecar(provenance: provenance)
        if case .staged = target, let staged = output.stage() {
            return CommitGroup.Entry(staged: staged, report: report, input: file)
        }
        try output.commit(durable: configuration.durable)
        return nil
    }

    /// The forward result of a backward job over archives, which must be an archive too.
    private func archiveOperand(_ file: InputFile) throws -> ArchiveOperand {
        let reader = InputReader(file: file, jobs: 1)
        let container: Container
        do { container = try reader.detect() } catch { throw NPYExpError(wrapping: error, path: file.path) }
        guard container == .zip else {
            throw NPYExpError(path: file.path, "is not an .npz archive, the gradient is", category: .data)
        }
        return ArchiveOperand(file: file, prefix: reader.detectedPrefix, chunkBytes: configuration.chunkBytes)
    }

    /// The planned output path, checked against the container seen now; or, unplanned, worked out and checked here.
    func outputPath(_ item: InputItem, planned: PlannedOutput?, container: Container, operand: InputItem?) throws
        -> String
    {
        if let planned {
            if let expected = planned.inputContainer, expected != container {
                throw NPYExpError(path: item.path, "input changed while being read", category: .data)
            }
            return planned.path
        }
        let path = outputPath(for: item, inputContainer: container, suffix: operand == nil ? "exp" : "backward")
        if let dir = configuration.outputDirectory {
            try PathTools.checkStaysInside(relativePath: item.relativePath, outputDirectory: dir, input: item.path)
        }
        try Planner.refuseReplacingInput(item.path, path)
        if let operand { try Planner.refuseReplacingInput(operand.path, path) }
        Planner.protectIfNamedLikeTemporary(item.path, identity: nil)
        if let operand { Planner.protectIfNamedLikeTemporary(operand.path, identity: nil) }
        if let problem = Planner.outputNameProblem(path, input: item.path) { throw problem }
        return path
    }

    /// The encoder for an output: block-framed gzip deflated on all cores, or plain bytes.
    func makePayload(_ output: OutputFile, gzip: Bool) -> PayloadSink {
        gzip
            ? BlockDeflatePayload(
                output, level: configuration.level, strategy: configuration.strategy,
                blockSize: configuration.blockSize, jobs: configuration.jobs, writeBehind: configuration.writeBehind)
            : PlainPayload(output)
    }

    /// The options (and, for backward, the forward result's identity) that shape an output's bytes; an output made
    /// with other options, or from another result, is redone.
    func recipe(_ base: String, operand: InputFile?) -> String {
        guard let operand else { return base }
        let identity = operand.identity.map { "\($0.size):\($0.mtimeNanoseconds)" } ?? "stream"
        return base + ",backward-of=\(identity)"
    }

    /// The options that shape an output archive's bytes.
    func archiveRecipe() -> String {
        let members: String
        switch configuration.container {
        case .followInput: members = "members=as-input"
        case .gzip: members = "members=deflated"
        case .plain: members = "members=stored"
        }
        return "npz," + members + "," + recipe(gzip: true)
    }

    /// The options that shape an exp output's bytes.
    func recipe(gzip: Bool) -> String {
        let strategy: String
        switch configuration.strategy {
        case .auto: strategy = "auto"
        case .fixed(let s): strategy = s.rawValue
        }
        let dtype = configuration.outputType?.rawValue ?? (configuration.promotion == .torch ? "auto" : "auto-numpy")
        return gzip
            ? "dtype=\(dtype),gzip,level=\(configuration.level),strategy=\(strategy),block=\(configuration.blockSize)"
            : "dtype=\(dtype),plain"
    }
}
