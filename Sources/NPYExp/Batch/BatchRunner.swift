// BatchRunner: a whole run as the library does it: plan every input (refusing runs that would replace inputs or
// collide), run the jobs several at a time with group commit (large inputs then reading ahead by less, so memory
// stays bounded; a commit's reports told in input order), come back to inputs another run was holding, write the
// manifest and sums file, and compute the exit status. The CLI's commands only build a configuration and call this.
// Relies on the Planner, ExpPipeline, CommitGroup, Manifest, SumsFile and Synchronization.Mutex.
import Synchronization

/// The process exit statuses the CLI documents (sysexits style).
public enum ExitStatus {
    /// Every input done or already complete.
    public static let success: Int32 = 0
    /// Some input failed.
    public static let someFailed: Int32 = 1
    /// A usage error (bad option or value, or a run refused by the planner).
    public static let usage: Int32 = 64
    /// No input matched.
    public static let noInput: Int32 = 66
    /// An output or record could not be written.
    public static let outputError: Int32 = 74
}

/// What a batch does besides the outputs.
public struct BatchOptions: Sendable {
    /// Start no new input after the first failure.
    public var stopAfterFailure = false
    /// Write the single result to standard output.
    public var toStandardOutput = false
    /// Where to write the JSON Lines manifest.
    public var manifest: String?
    /// Where to write the SHA256SUMS file.
    public var sums: String?
    /// The shard this process handles, recorded in the manifest's summary.
    public var shard: Shard?
    /// The version recorded in the manifest.
    public var version = ""
    /// The defaults: go on past failures, outputs to files, no records.
    public init() {}
}

/// The outcome of a batch.
public struct BatchResult: Sendable {
    /// One report per input processed, in input order.
    public var reports: [FileReport]
    /// Inputs not started (after a failure with `stopAfterFailure`).
    public var notStarted: Int
    /// Failures writing the manifest or sums file.
    public var recordErrors: [NPYExpError]

    /// The exit status: 74 when an output or record could not be written, 1 when any input failed (or any
    /// `discoveryProblems`), 66 when nothing was named at all, else 0.
    public func exitStatus(discoveryProblems: Int = 0) -> Int32 {
        if !recordErrors.isEmpty || reports.contains(where: { $0.error?.category == .output }) {
            return ExitStatus.outputError
        }
        if reports.isEmpty && discoveryProblems > 0 { return ExitStatus.noInput }
        if discoveryProblems > 0 || reports.contains(where: { $0.error != nil }) { return ExitStatus.someFailed }
        return ExitStatus.success
    }
}

/// Runs planned inputs through a pipeline.
public final class BatchRunner: Sendable {
    /// The pipeline every input goes through.
    public let pipeline: ExpPipeline
    /// What the batch does besides the outputs.
    public let options: BatchOptions

    /// A runner for `configuration` and `options`.
    public init(_ configuration: ExpConfiguration, options: BatchOptions = BatchOptions()) {
        pipeline = ExpPipeline(configuration)
        self.options = options
    }

    /// The plan for `items` (see `Planner.plan`); throws a usage error when the run must be refused.
    public func plan(_ items: [InputItem]) throws(NPYExpError) -> RunPlan {
        try Planner.plan(items, pipeline: pipeline, toStandardOutput: options.toStandardOutput, records: records)
    }

    /// The other files the run writes, with the options that name them.
    private var records: [(option: String, path: String)] {
        [("--sums", options.sums), ("--manifest", options.manifest)].compactMap { option, path in
            path.map { (option, $0) }
        }
    }

    /// The plan for backward pairs: the gradients are the inputs, each with its forward result as operand.
    public func plan(pairs: [BackwardPair]) throws(NPYExpError) -> RunPlan {
        try Planner.plan(
            pairs.map(\.grad), operands: pairs.map(\.result), pipeline: pipeline,
            toStandardOutput: options.toStandardOutput, records: records)
    }

    /// Runs every planned input, calling `onReport` (one call at a time) as each is final (the reports a group commit
    /// makes final together, in input order); then writes the records.
    public func run(_ plan: RunPlan, started: Double = Clock.now(), onReport: @escaping @Sendable (FileReport) -> Void = { _ in })
        -> BatchResult
    {
        let reports =
            options.toStandardOutput || plan.inputs.contains(where: \.item.isStandardInput)
            ? runInOrder(plan.inputs, onReport: onReport)
            : runConcurrently(plan.inputs, onReport: onReport)
        var result = BatchResult(reports: reports, notStarted: plan.inputs.count - reports.count, recordErrors: [])
        if let manifest = options.manifest {
            let summary = Manifest.summary(
                reports, notStarted: result.notStarted, seconds: Clock.now() - started, shard: options.shard,
                version: options.version)
            do { try Manifest.write(reports, summary: summary, to: manifest) } catch { result.recordErrors.append(error) }
        }
        if let sums = options.sums {
            do { try SumsFile.write(reports, to: sums) } catch { result.recordErrors.append(error) }
        }
        return result
    }

    /// One input after the other, each committed at once (standard input and output are used by one job at a time).
    private func runInOrder(_ inputs: [PlannedInput], onReport: (FileReport) -> Void) -> [FileReport] {
        var reports: [FileReport] = []
        for input in inputs {
            let report: FileReport
            if let problem = input.problem {
                report = FileReport(input: input.item, status: .failed(problem))
            } else {
                let target: ExpPipeline.JobTarget =
                    options.toStandardOutput || input.output == nil ? .standardOutput : .file(planned: input.output)
                report = pipeline.run(input.item, target: target, wait: true, operand: input.operand).report
            }
            onReport(report)
            reports.append(report)
            if options.stopAfterFailure && report.error != nil { break }
        }
        return reports
    }

    /// Several inputs at a time; outputs staged and committed in groups when there are several.
    private func runConcurrently(_ inputs: [PlannedInput], onReport: @escaping @Sendable (FileReport) -> Void)
        -> [FileReport]
    {
        let configuration = pipeline.configuration
        let state = Mutex<(next: Int, failed: Bool, reports: [FileReport?])>(
            (0, false, Array(repeating: nil, count: inputs.count)))
        let callback = Mutex<Void>(())
        let busy = Mutex<[Int]>([])
        let workers = max(1, min(configuration.fileConcurrency ?? configuration.jobs, inputs.count))
        // Many outputs: commit them in groups (two syncfs per batch instead of three fsyncs per file).
        let group =
            inputs.count > 1 && configuration.durable ? CommitGroup(batchFiles: CommitGroup.batchFiles(workers: workers)) : nil
        let positions = Mutex<[String: [Int]]>([:])
        for (i, input) in inputs.enumerated() { positions.withLock { $0[input.item.path, default: []].append(i) } }
        let publish: @Sendable ([(Int, FileReport)]) -> Void = { finished in
            state.withLock { s in
                for (i, r) in finished {
                    s.reports[i] = r
                    if r.error != nil { s.failed = true }
                }
            }
            // A commit's reports are told in input order, whichever job finished first.
            callback.withLock { _ in finished.sorted { $0.0 < $1.0 }.forEach { onReport($0.1) } }
        }
        // Several inputs at once: each large one reads ahead by at most two chunks and writes its output on the
        // job's own thread, so that two 64 MiB inputs in flight stay within the memory one input with three chunks of
        // read-ahead and a writer thread would take.
        let pipeline = workers > 1 ? self.pipeline.besideOtherInputs(readingAheadAtMost: 2) : self.pipeline
        let stop = options.stopAfterFailure
        // The group hands back reports without positions: find them by input path (paths are unique in a plan).
        let place: @Sendable ([FileReport]) -> [(Int, FileReport)] = { reports in
            positions.withLock { p in reports.map { (p[$0.input.path]!.first!, $0) } }
        }
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                let index: Int? = state.withLock { s in
                    if s.next >= inputs.count || (stop && s.failed) { return nil }
                    s.next += 1
                    return s.next - 1
                }
                guard let index else { return }
                let input = inputs[index]
                if let problem = input.problem {
                    publish([(index, FileReport(input: input.item, status: .failed(problem)))])
                    continue
                }
                let target: ExpPipeline.JobTarget =
                    group != nil && input.output != nil ? .staged(planned: input.output!) : .file(planned: input.output)
                let outcome = pipeline.run(input.item, target: target, wait: group == nil, operand: input.operand)
                if outcome.busy {
                    // Another run holds it: come back to it once this run holds no locks (no deadlock).
                    busy.withLock { $0.append(index) }
                    continue
                }
                if let group, let entry = outcome.staged {
                    publish(place(group.add(entry)))
                } else {
                    publish([(index, outcome.report)])
                }
            }
        }
        Parallel.run(workers, jobs: workers, work)
        if let group { publish(place(group.flush())) }
        // Inputs another run was holding: wait for each in turn, holding nothing else; usually its output is now
        // complete and is skipped.
        for index in busy.withLock({ $0.sorted() }) where !(stop && state.withLock { $0.failed }) {
            let input = inputs[index]
            let outcome = pipeline.run(input.item, target: .file(planned: input.output), wait: true, operand: input.operand)
            publish([(index, outcome.report)])
        }
        return state.withLock { $0.reports.compactMap { $0 } }
    }
}

extension ExpPipeline {
    /// A pipeline like this one for inputs run several at a time: large inputs read ahead by at most `chunks`
    /// chunks, and outputs are written without a writer thread of their own.
    fileprivate func besideOtherInputs(readingAheadAtMost chunks: Int) -> ExpPipeline {
        guard configuration.readAheadChunks > chunks || configuration.writeBehind else { return self }
        var c = configuration
        c.readAheadChunks = max(1, min(c.readAheadChunks, chunks))
        c.writeBehind = false
        return ExpPipeline(c)
    }
}
