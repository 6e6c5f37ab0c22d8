// `npyexp --dry-run` (alias `--plan`): prints the plan of a run instead of running it. One line per input: the input,
// its output path, its shard when sharded, and whether it would be done, skipped (its output is complete: the check a
// real run makes before skipping) or would fail (a problem the plan already sees); then a summary line. `--json`
// gives the same as JSON Lines. Writes nothing. Relies on NPYExp (RunPlan, Checksums.isComplete, JSONObjectWriter).
import NPYExp

/// Prints a run's plan on standard output and returns the exit status the plan foretells.
struct DryRun {
    /// JSON Lines instead of text.
    var json: Bool
    /// The shard this process would handle, nil when not sharded.
    var shard: Shard?

    /// What would happen to one input.
    enum Action: String {
        case run = "do", skip, fail
    }

    /// Prints one line per planned input and a summary; returns 0, or 1 when an input would fail or discovery found
    /// problems, or 66 when nothing was found at all.
    func report(_ plan: RunPlan, runner: BatchRunner, problems: Int) -> Int32 {
        var tally: [Action: Int] = [:]
        for planned in plan.inputs {
            let action: Action =
                planned.problem != nil ? .fail : Checksums.isComplete(planned, pipeline: runner.pipeline) ? .skip : .run
            tally[action, default: 0] += 1
            writeStdout(line(planned, action) + "\n")
        }
        writeStdout(summary(tally, inputs: plan.inputs.count, leftOut: plan.ownOutputs.count) + "\n")
        if plan.inputs.isEmpty && problems > 0 { return ExitStatus.noInput }
        return problems > 0 || tally[.fail, default: 0] > 0 ? ExitStatus.someFailed : ExitStatus.success
    }

    func line(_ planned: PlannedInput, _ action: Action) -> String {
        let output = planned.output?.path ?? (planned.problem == nil ? "-" : nil)
        if json {
            var o = JSONObjectWriter()
            o.add("input", planned.item.path)
            o.add("output", output)
            o.add("shard", shard?.description)
            o.add("action", action.rawValue)
            o.add("problem", planned.problem?.message)
            return o.text
        }
        let target = output.map { " -> " + ($0 == "-" ? "<stdout>" : $0) } ?? ""
        let where_ = shard.map { " [shard \($0)]" } ?? ""
        switch action {
        case .run: return "do    \(planned.item.path)\(target)\(where_)"
        case .skip: return "skip  \(planned.item.path)\(target)\(where_) (complete)"
        case .fail: return "fail  \(planned.item.path)\(where_): \(planned.problem?.message ?? "")"
        }
    }

    func summary(_ tally: [Action: Int], inputs: Int, leftOut: Int) -> String {
        if json {
            var o = JSONObjectWriter()
            o.add("summary", true)
            o.add("inputs", inputs)
            o.add("do", tally[.run, default: 0])
            o.add("skip", tally[.skip, default: 0])
            o.add("fail", tally[.fail, default: 0])
            o.add("left_out", leftOut)
            o.add("shard", shard?.description)
            return o.text
        }
        let sharded = shard.map { " in shard \($0)" } ?? ""
        let left = leftOut > 0 ? "; \(leftOut) npyexp output\(leftOut == 1 ? "" : "s") left out" : ""
        return "dry run: \(inputs) input\(inputs == 1 ? "" : "s")\(sharded): \(tally[.run, default: 0]) to do, \(tally[.skip, default: 0]) complete, \(tally[.fail, default: 0]) failing\(left); nothing written"
    }
}
