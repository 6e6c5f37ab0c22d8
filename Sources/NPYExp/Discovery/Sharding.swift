// Sharding: splits one list of inputs among N independent processes (Slurm array tasks, Kubernetes Indexed Job pods,
// AWS Batch array children, GNU parallel jobs) without any coordination between them. Each input goes to the shard
// chosen by a hash of its path relative to its base, so the split does not depend on how the listing is ordered or
// on which other files exist: together the shards process every input exactly once. The shard is given as `K/N`
// (1-based, as Playwright spells it) or read from the job engine's environment. Relies on Crypto (SHA-256).
import Crypto

/// One shard of N: this process handles the inputs whose hash falls to `index`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based shard number, below `count`.
    public var index: Int
    /// Number of shards the inputs are split into.
    public var count: Int

    /// Shard `index` (0-based) of `count`; throws when the index is out of range or the count below 1.
    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1 else { throw ShardError("shard count must be at least 1, got \(count)") }
        guard (0..<count).contains(index) else {
            throw ShardError("shard index \(index) (0-based) is outside 0..<\(count)")
        }
        self.index = index
        self.count = count
    }

    /// `K/N`, 1-based, the form `--shard` takes.
    public var description: String { "\(index + 1)/\(count)" }

    /// Parses `K/N` with 1 <= K <= N.
    public static func parse(_ text: String) throws(ShardError) -> Shard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError("--shard takes K/N (1-based, e.g. 2/8) or auto, got '\(text)'")
        }
        guard n >= 1, (1...n).contains(k) else {
            throw ShardError("--shard \(text): K must be between 1 and N (1-based)")
        }
        return try Shard(index: k - 1, count: n)
    }

    /// The shard a job engine assigned to this process, read from its environment:
    ///
    /// - Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _MAX, _COUNT, _STEP). Without `count`, the array must be a
    ///   range (`0-15`, `1-16`, `0-30:2`): MAX = MIN + (COUNT-1)*STEP, checked from variables every task sees alike,
    ///   so a list such as `1,5,10` is refused by every task; task MIN+i*STEP is shard i of COUNT. With `count`
    ///   (`--shard-count N`) the task id itself is the 0-based shard number, for any array within 0..N-1
    ///   (`--array=0-15` for the full run, `--array=3,11` to rerun two failed shards); SLURM_ARRAY_TASK_MAX must be
    ///   below N.
    /// - Slurm job step (`srun -n S`, recognised by SLURM_STEP_ID; the batch script itself has SLURM_PROCID and
    ///   SLURM_NTASKS too but no SLURM_STEP_ID, and is not a step): SLURM_PROCID of SLURM_NTASKS. Inside an array
    ///   task the two combine, array-major: shard `arrayShard * S + SLURM_PROCID` of `arrayCount * S`; a
    ///   one-task step (plain `srun npyexp` in an array) changes nothing.
    /// - Kubernetes Indexed Job: JOB_COMPLETION_INDEX (0-based); the count is `count`, from `--shard-count`.
    /// - AWS Batch array job: AWS_BATCH_JOB_ARRAY_INDEX (0-based), AWS_BATCH_JOB_ARRAY_SIZE.
    ///
    /// Missing, malformed, contradictory or out-of-range variables throw, naming the variable.
    public static func fromEnvironment(_ environment: [String: String], count: Int? = nil) throws(ShardError) -> Shard {
        let slurm = environment["SLURM_ARRAY_TASK_ID"] != nil || environment["SLURM_STEP_ID"] != nil
        let engines = [
            (slurm, environment["SLURM_ARRAY_TASK_ID"] != nil ? "SLURM_ARRAY_TASK_ID" : "SLURM_STEP_ID", "Slurm"),
            (environment["JOB_COMPLETION_INDEX"] != nil, "JOB_COMPLETION_INDEX", "Kubernetes"),
            (environment["AWS_BATCH_JOB_ARRAY_INDEX"] != nil, "AWS_BATCH_JOB_ARRAY_INDEX", "AWS Batch"),
        ].filter { $0.0 }
        guard let engine = engines.first else {
            var hint = ""
            if environment["SLURM_PROCID"] != nil {
                hint = " (SLURM_PROCID is set but SLURM_STEP_ID is not: this is a Slurm batch script, not a job step; launch npyexp with srun)"
            }
            throw ShardError(
                "--shard auto found no job array or job step in the environment (SLURM_ARRAY_TASK_ID, SLURM_STEP_ID with SLURM_PROCID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX)\(hint); use --shard K/N"
            )
        }
        if engines.count > 1 {
            throw ShardError(
                "--shard auto: both \(engines[0].1) and \(engines[1].1) are set, cannot tell which engine runs this; use --shard K/N"
            )
        }
        let variables = EnvironmentIntegers(environment: environment)
        func agree(_ engineCount: Int, _ name: String) throws(ShardError) {
            if let count, count != engineCount {
                throw ShardError("--shard-count \(count) disagrees with \(name)=\(engineCount)")
            }
        }
        switch engine.2 {
        case "Slurm":
            let array = try slurmArray(variables, count: count)
            guard let step = try slurmStep(variables) else { return array! }
            guard let array else {
                try agree(step.count, "SLURM_NTASKS")
                return step
            }
            let (total, overflow) = array.count.multipliedReportingOverflow(by: step.count)
            guard !overflow else {
                throw ShardError("--shard auto: \(array.count) array shards times SLURM_NTASKS=\(step.count) is too many")
            }
            return try Shard(index: array.index * step.count + step.index, count: total)
        case "Kubernetes":
            let index = try variables.required("JOB_COMPLETION_INDEX")
            guard let count else {
                throw ShardError(
                    "--shard auto: JOB_COMPLETION_INDEX is set; give the Job's completions as --shard-count N")
            }
            guard index < count else {
                throw ShardError("--shard auto: JOB_COMPLETION_INDEX=\(index) is not below --shard-count \(count)")
            }
            return try Shard(index: index, count: count)
        default:
            let index = try variables.required("AWS_BATCH_JOB_ARRAY_INDEX")
            guard let size = try variables["AWS_BATCH_JOB_ARRAY_SIZE"] ?? count else {
                throw ShardError(
                    "--shard auto: AWS_BATCH_JOB_ARRAY_INDEX is set but AWS_BATCH_JOB_ARRAY_SIZE is not (or give --shard-count N)")
            }
            try agree(size, "AWS_BATCH_JOB_ARRAY_SIZE")
            guard index < size else {
                throw ShardError("--shard auto: AWS_BATCH_JOB_ARRAY_INDEX=\(index) is not below AWS_BATCH_JOB_ARRAY_SIZE=\(size)")
            }
            return try Shard(index: index, count: size)
        }
    }

    /// The shard of a Slurm array task, nil outside an array. See `fromEnvironment`.
    static func slurmArray(_ variables: EnvironmentIntegers, count: Int?) throws(ShardError) -> Shard? {
        guard let id = try variables["SLURM_ARRAY_TASK_ID"] else { return nil }
        let minimum = try variables.required("SLURM_ARRAY_TASK_MIN", with: "SLURM_ARRAY_TASK_ID")
        let maximum = try variables.required("SLURM_ARRAY_TASK_MAX", with: "SLURM_ARRAY_TASK_ID")
        let taskCount = try variables.required("SLURM_ARRAY_TASK_COUNT", with: "SLURM_ARRAY_TASK_ID")
        guard (minimum...max(minimum, maximum)).contains(id) else {
            throw ShardError(
                "--shard auto: SLURM_ARRAY_TASK_ID=\(id) is outside SLURM_ARRAY_TASK_MIN=\(minimum)..SLURM_ARRAY_TASK_MAX=\(maximum)")
        }
        if let count {
            // 0-based task ids are shard numbers: the whole array 0-(N-1), or any subset of it for a rerun.
            guard maximum < count else {
                throw ShardError(
                    "--shard auto --shard-count \(count): SLURM_ARRAY_TASK_MAX=\(maximum) is not below \(count); with --shard-count, array task ids are 0-based shard numbers (--array=0-\(count - 1), or a subset of it such as --array=3,11)"
                )
            }
            return try Shard(index: id, count: count)
        }
        let step = try variables["SLURM_ARRAY_TASK_STEP"] ?? 1
        // A range MIN-MAX:STEP has exactly COUNT tasks. Every task sees the same four values, so a list such as
        // 1,5,10 (Slurm 22.05 reports STEP=1 for it) is refused by all of them, not by some.
        let (span, spanOverflow) = (taskCount - 1).multipliedReportingOverflow(by: step)
        let (last, lastOverflow) = minimum.addingReportingOverflow(span)
        guard step >= 1, taskCount >= 1, !spanOverflow, !lastOverflow, last == maximum else {
            throw ShardError(
                "--shard auto: the Slurm array is not a range (SLURM_ARRAY_TASK_MIN=\(minimum), SLURM_ARRAY_TASK_MAX=\(maximum), SLURM_ARRAY_TASK_STEP=\(step), SLURM_ARRAY_TASK_COUNT=\(taskCount)): a list such as --array=1,5,10 cannot be mapped to shards; submit a range, or number the tasks 0-based and give --shard-count N"
            )
        }
        guard (id - minimum) % step == 0 else {
            throw ShardError(
                "--shard auto: SLURM_ARRAY_TASK_ID=\(id) does not fit SLURM_ARRAY_TASK_MIN=\(minimum), STEP=\(step), COUNT=\(taskCount)")
        }
        return try Shard(index: (id - minimum) / step, count: taskCount)
    }

    /// This process's place in an `srun` job step, nil outside a step. See `fromEnvironment`.
    static func slurmStep(_ variables: EnvironmentIntegers) throws(ShardError) -> Shard? {
        guard variables.environment["SLURM_STEP_ID"] != nil else { return nil }
        let rank = try variables.required("SLURM_PROCID", with: "SLURM_STEP_ID")
        let tasks = try variables.required("SLURM_NTASKS", with: "SLURM_STEP_ID")
        if let stepTasks = try variables["SLURM_STEP_NUM_TASKS"], stepTasks != tasks {
            throw ShardError("--shard auto: SLURM_NTASKS=\(tasks) disagrees with SLURM_STEP_NUM_TASKS=\(stepTasks)")
        }
        guard tasks >= 1, rank < tasks else {
            throw ShardError("--shard auto: SLURM_PROCID=\(rank) is not below SLURM_NTASKS=\(tasks)")
        }
        return try Shard(index: rank, count: tasks)
    }

    /// The shard (0-based) that `relativePath` belongs to among `count`: the first 8 bytes of the SHA-256 of its
    /// UTF-8 bytes, read as a big-endian integer, modulo `count`. Simple to reproduce in any language, e.g. Python:
    /// `int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "big") % n`.
    public static func shardIndex(of relativePath: String, count: Int) -> Int {
        let digest = SHA256.hash(data: Array(relativePath.utf8))
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        return Int(value % UInt64(count))
    }

    /// Whether this shard handles `item`.
    public func contains(_ item: InputItem) -> Bool {
        count == 1 || Self.shardIndex(of: item.relativePath, count: count) == index
    }

    /// The items this shard handles, in their original order.
    public func select(_ items: [InputItem]) -> [InputItem] { items.filter(contains) }
}

/// A `--shard` value or environment that cannot name a shard. Always a usage error (exit 64).
public struct ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The one-line message.
    public var description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// Non-negative integers read from an environment; a malformed value is an error naming its variable.
struct EnvironmentIntegers {
    var environment: [String: String]

    /// The value of `name`, nil when unset.
    subscript(name: String) -> Int? {
        get throws(ShardError) {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingSpaces()), value >= 0 else {
                throw ShardError("--shard auto: \(name)='\(text)' is not a non-negative integer")
            }
            return value
        }
    }

    /// The value of `name`, which must be set (because `other` is, when given).
    func required(_ name: String, with other: String? = nil) throws(ShardError) -> Int {
        guard let value = try self[name] else {
            throw ShardError("--shard auto: " + (other.map { "\($0) is set but \(name) is not" } ?? "\(name) is not set"))
        }
        return value
    }
}

extension String {
    func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s.removeLast() }
        return s
    }
}
