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
    /// Slurm arrays (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN and, for stepped arrays,
    /// SLURM_ARRAY_TASK_STEP), Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX, 0-based; the count is `count`, from
    /// `--shard-count`), AWS Batch array jobs (AWS_BATCH_JOB_ARRAY_INDEX, 0-based, AWS_BATCH_JOB_ARRAY_SIZE).
    /// `count`, when given, must agree with the engine's own count.
    public static func fromEnvironment(_ environment: [String: String], count: Int? = nil) throws(ShardError) -> Shard {
        let engines = [
            ("SLURM_ARRAY_TASK_ID", "Slurm"), ("JOB_COMPLETION_INDEX", "Kubernetes"),
            ("AWS_BATCH_JOB_ARRAY_INDEX", "AWS Batch"),
        ].filter { environment[$0.0] != nil }
        guard let engine = engines.first else {
            throw ShardError(
                "--shard auto found no job array in the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX); use --shard K/N"
            )
        }
        if engines.count > 1 {
            throw ShardError(
                "--shard auto: both \(engines[0].0) and \(engines[1].0) are set, cannot tell which engine runs this; use --shard K/N"
            )
        }
        func integer(_ name: String) throws(ShardError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingSpaces()), value >= 0 else {
                throw ShardError("--shard auto: \(name)='\(text)' is not a non-negative integer")
            }
            return value
        }
        func agree(_ engineCount: Int, _ name: String) throws(ShardError) {
            if let count, count != engineCount {
                throw ShardError("--shard-count \(count) disagrees with \(name)=\(engineCount)")
            }
        }
        switch engine.0 {
        case "SLURM_ARRAY_TASK_ID":
            let id = try integer("SLURM_ARRAY_TASK_ID")!
            guard let taskCount = try integer("SLURM_ARRAY_TASK_COUNT") else {
                throw ShardError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
            }
            guard let minimum = try integer("SLURM_ARRAY_TASK_MIN") else {
                throw ShardError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not")
            }
            let step = try integer("SLURM_ARRAY_TASK_STEP") ?? 1
            try agree(taskCount, "SLURM_ARRAY_TASK_COUNT")
            // Arrays given as a range (0-15, 1-16, 0-15:4) map to 0..<COUNT; a list like 1,5,9 does not.
            guard step >= 1, id >= minimum, (id - minimum) % step == 0, (id - minimum) / step < taskCount else {
                throw ShardError(
                    "--shard auto: SLURM_ARRAY_TASK_ID=\(id) does not fit SLURM_ARRAY_TASK_MIN=\(minimum), STEP=\(step), COUNT=\(taskCount) (submit the array as a range such as --array=0-\(taskCount - 1))"
                )
            }
            return try Shard(index: (id - minimum) / step, count: taskCount)
        case "JOB_COMPLETION_INDEX":
            let index = try integer("JOB_COMPLETION_INDEX")!
            guard let count else {
                throw ShardError(
                    "--shard auto: JOB_COMPLETION_INDEX is set; give the Job's completions as --shard-count N")
            }
            guard index < count else {
                throw ShardError("--shard auto: JOB_COMPLETION_INDEX=\(index) is not below --shard-count \(count)")
            }
            return try Shard(index: index, count: count)
        default:
            let index = try integer("AWS_BATCH_JOB_ARRAY_INDEX")!
            guard let size = try integer("AWS_BATCH_JOB_ARRAY_SIZE") ?? count else {
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
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension String {
    func trimmingSpaces() -> Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" { s.removeLast() }
        return s
    }
}
