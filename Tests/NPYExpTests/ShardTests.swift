// Scale-out (issue 3, item 5 and 7): shards run as separate processes (through GNU parallel when installed) over a
// numpy-made corpus process every input exactly once and give byte-identical outputs to a single run; their sums
// files merge into the single run's file; the shard of each input follows the documented hash, recomputed here in
// Python; `--shard auto` reads each engine's variables; bad values are usage errors (64). Also the corpus and JSON
// helpers the other tests of this issue share. Relies on python3 with numpy, GNU parallel (optional), sha256sum.
import Foundation
import NPYExp
import Testing

/// Runs a Python snippet with arguments; throws when it fails.
@discardableResult
func python(_ script: String, _ arguments: [String] = []) throws -> String {
    let r = try run("/usr/bin/env", ["python3", "-c", script] + arguments)
    guard r.status == 0 else { throw TestFailure("python failed: \(r.stderr)") }
    return String(decoding: r.stdout, as: UTF8.self)
}

/// `count` small tensors below `dir`, in nested directories, mixed .npy / .npy.gz and dtypes; returns their paths
/// relative to `dir`, sorted.
@discardableResult
func makeCorpus(_ dir: URL, count: Int = 40) throws -> [String] {
    let script = """
        import numpy as np, gzip, os, sys
        root, n = sys.argv[1], int(sys.argv[2])
        rng = np.random.default_rng(11)
        dtypes = [np.float32, np.float64, np.float16, np.int16, np.uint8]
        for i in range(n):
            sub = ["", "a", "a/b", "c"][i % 4]
            os.makedirs(os.path.join(root, sub), exist_ok=True)
            x = rng.normal(0, 3, size=(i % 5 + 1, 7)).astype(dtypes[i % 5])
            path = os.path.join(root, sub, f"t{i:02d}.npy")
            if i % 2:
                with gzip.open(path + ".gz", "wb") as f: np.save(f, x)
            else:
                np.save(path, x)
        """
    try python(script, [dir.path, String(count)])
    return listFiles(dir)
}

/// Parses JSON Lines into dictionaries.
func jsonLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(line)")
        }
        return object
    }
}

func readText(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }

/// Outputs below `dir` (sidecars, sums and manifests left out).
func outputFiles(_ dir: URL) -> [String] {
    listFiles(dir).filter { $0.hasSuffix(".npy") || $0.hasSuffix(".npy.gz") }
}

@Suite struct ShardTests {
    static let hasParallel = FileManager.default.isExecutableFile(atPath: "/usr/bin/parallel")

    /// Runs `npyexp ARGS` once per shard 1...n, with `{}` in an argument replaced by the shard number; through GNU
    /// parallel (all at once) when installed, else one process after another.
    func runShards(_ n: Int, _ arguments: [String], in dir: URL) throws {
        if Self.hasParallel {
            let r = try run(
                "/usr/bin/parallel", ["--will-cite", "--halt", "now,fail=1", Paths.binary] + arguments + [":::"]
                    + (1...n).map(String.init), in: dir)
            #expect(r.status == 0, "parallel: \(r.stderr)")
        } else {
            for k in 1...n {
                let r = try npyexp(arguments.map { $0.replacingOccurrences(of: "{}", with: String(k)) }, in: dir)
                #expect(r.status == 0, "\(r.stderr)")
            }
        }
    }

    @Test func shardsAreDisjointCompleteAndIdenticalToOneRun() throws {
        let root = try scratchDirectory("shard")
        defer { try? FileManager.default.removeItem(at: root) }
        let corpus = root.appendingPathComponent("corpus")
        let inputs = try makeCorpus(corpus)
        #expect(inputs.count == 40)
        let single = try npyexp(["-o", "single", "--sums", "single/SHA256SUMS", "--manifest", "single.jsonl", "corpus"], in: root)
        #expect(single.status == 0, "\(single.stderr)")
        #expect(outputFiles(root.appendingPathComponent("single")) == inputs)

        // Each shard into its own directory: the sets must be disjoint, together complete, and the bytes equal.
        try runShards(3, ["--shard", "{}/3", "-o", "sep{}", "corpus"], in: root)
        var seen: [String: Int] = [:]
        for k in 1...3 {
            let dir = root.appendingPathComponent("sep\(k)")
            for file in outputFiles(dir) {
                #expect(seen[file] == nil, "\(file) in shard \(seen[file] ?? 0) and \(k)")
                seen[file] = k
                #expect(try Data(contentsOf: dir.appendingPathComponent(file))
                    == Data(contentsOf: root.appendingPathComponent("single/\(file)")))
            }
        }
        #expect(seen.keys.sorted() == inputs)
        // The shard of each input is the documented hash of its relative path, recomputed independently.
        let expected = try python(
            """
            import hashlib, sys
            for p in sys.argv[1:]:
                print(p, int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "big") % 3 + 1)
            """, inputs)
        for line in expected.split(separator: "\n") {
            let parts = line.split(separator: " ")
            #expect(seen[String(parts[0])] == Int(parts[1]), "\(line)")
        }
        #expect(Set(seen.values).count == 3, "every shard got some of 40 files")

        // Shards into one directory, a sums file and a manifest each: merged as documented they equal the single run.
        try runShards(3, ["--shard", "{}/3", "-o", "common", "--sums", "common/shard{}.sums", "--manifest", "m{}.jsonl", "corpus"], in: root)
        let merge = try run("/bin/sh", ["-c", "cat common/shard*.sums | LC_ALL=C sort -k2 > common/SHA256SUMS"], in: root)
        #expect(merge.status == 0)
        #expect(try Data(contentsOf: root.appendingPathComponent("common/SHA256SUMS"))
            == Data(contentsOf: root.appendingPathComponent("single/SHA256SUMS")))
        let check = try run("/usr/bin/sha256sum", ["-c", "--strict", "SHA256SUMS"], in: root.appendingPathComponent("common"))
        #expect(check.status == 0, "\(check.stderr)")
        #expect(String(decoding: check.stdout, as: UTF8.self).split(separator: "\n").count == 40)
        let merged = try run("/bin/sh", ["-c", "cat m1.jsonl m2.jsonl m3.jsonl | grep -v '^{\"type\":\"summary\"'"], in: root)
        let records = try jsonLines(String(decoding: merged.stdout, as: UTF8.self))
        let singleRecords = try jsonLines(readText(root.appendingPathComponent("single.jsonl"))).filter { $0["type"] as? String == "file" }
        #expect(records.count == 40)
        #expect(Set(records.compactMap { $0["input"] as? String }) == Set(singleRecords.compactMap { $0["input"] as? String }))
        #expect(Set(records.compactMap { $0["output_sha256"] as? String }) == Set(singleRecords.compactMap { $0["output_sha256"] as? String }))
    }

    @Test func filesFromListsAreShardedTheSameInAnyOrder() throws {
        let root = try scratchDirectory("filesfrom")
        defer { try? FileManager.default.removeItem(at: root) }
        let inputs = try makeCorpus(root.appendingPathComponent("corpus"), count: 24)
        let listed = inputs.map { "corpus/" + $0 }
        try Data((listed.joined(separator: "\n") + "\n").utf8).write(to: root.appendingPathComponent("list.txt"))
        // The same names reversed and NUL-separated, given on standard input.
        let reversed = Data(listed.reversed().joined(separator: "\u{0}").utf8)
        var union: [String] = []
        for k in 1...2 {
            let a = try npyexp(["--shard", "\(k)/2", "-o", "a\(k)", "--files-from", "list.txt"], in: root)
            #expect(a.status == 0, "\(a.stderr)")
            let b = try npyexp(["--shard", "\(k)/2", "-o", "b\(k)", "--files-from", "-", "-0"], in: root, input: reversed)
            #expect(b.status == 0, "\(b.stderr)")
            let filesA = outputFiles(root.appendingPathComponent("a\(k)"))
            #expect(filesA == outputFiles(root.appendingPathComponent("b\(k)")))
            union += filesA
        }
        // Listed relative paths keep their directories below -o.
        #expect(union.sorted() == listed)
        // A listed name that does not exist is reported and the rest go on (exit 1).
        try Data("corpus/\(inputs[0])\nnot/there.npy\n".utf8).write(to: root.appendingPathComponent("bad.txt"))
        let bad = try npyexp(["-o", "c", "--files-from", "bad.txt"], in: root)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("npyexp: not/there.npy: no such file or directory"))
        #expect(outputFiles(root.appendingPathComponent("c")) == ["corpus/" + inputs[0]])
    }

    @Test func shardAutoReadsEachEnginesVariables() throws {
        let root = try scratchDirectory("auto")
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCorpus(root.appendingPathComponent("corpus"), count: 20)
        var reference: [[String]] = []
        for k in 1...3 {
            #expect(try npyexp(["--shard", "\(k)/3", "-o", "ref\(k)", "corpus"], in: root).status == 0)
            reference.append(outputFiles(root.appendingPathComponent("ref\(k)")))
        }
        let engines: [(String, (Int) -> [String: String], [String])] = [
            ("slurm", { ["SLURM_ARRAY_TASK_ID": String($0 + 4), "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_COUNT": "3"] }, []),
            ("slurmstep", { ["SLURM_ARRAY_TASK_ID": String(10 * $0), "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "20", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "10"] }, []),
            // The batch script of an array task with --ntasks 4 has SLURM_PROCID and SLURM_NTASKS but is no step.
            ("slurmbatch", { ["SLURM_ARRAY_TASK_ID": String($0), "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "1", "SLURM_PROCID": "0", "SLURM_NTASKS": "4"] }, []),
            // `srun npyexp` in an array task: a one-task step changes nothing.
            ("slurmsrun1", { ["SLURM_ARRAY_TASK_ID": String($0), "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "1", "SLURM_STEP_ID": "0", "SLURM_PROCID": "0", "SLURM_NTASKS": "1", "SLURM_STEP_NUM_TASKS": "1"] }, []),
            // A rerun of one failed shard, --array=K with --shard-count: the task id is the 0-based shard.
            ("slurmrerun", { ["SLURM_ARRAY_TASK_ID": String($0), "SLURM_ARRAY_TASK_MIN": String($0), "SLURM_ARRAY_TASK_MAX": String($0), "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_STEP": "1"] }, ["--shard-count", "3"]),
            // The full 0-based array with --shard-count maps as without it.
            ("slurmcount", { ["SLURM_ARRAY_TASK_ID": String($0), "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "1"] }, ["--shard-count", "3"]),
            // `srun -n 3` outside any array.
            ("srun", { ["SLURM_STEP_ID": "0", "SLURM_PROCID": String($0), "SLURM_NTASKS": "3", "SLURM_STEP_NUM_TASKS": "3", "SLURM_JOB_ID": "7"] }, []),
            ("k8s", { ["JOB_COMPLETION_INDEX": String($0)] }, ["--shard-count", "3"]),
            ("aws", { ["AWS_BATCH_JOB_ARRAY_INDEX": String($0), "AWS_BATCH_JOB_ARRAY_SIZE": "3"] }, []),
        ]
        for (name, env, extra) in engines {
            for index in 0..<3 {
                let out = "\(name)\(index)"
                let r = try run(Paths.binary, ["--shard", "auto"] + extra + ["-o", out, "corpus"], in: root, environment: env(index))
                #expect(r.status == 0, "\(name): \(r.stderr)")
                #expect(outputFiles(root.appendingPathComponent(out)) == reference[index], "\(name) index \(index)")
            }
        }
    }

    /// A list-style array (`--array=1,5,10`; Slurm 22.05 reports STEP=1 for it) is refused by every one of its tasks,
    /// not only by the tasks that happen not to fit a range.
    @Test func listStyleArrayIsRefusedByEveryTask() throws {
        for id in [1, 5, 10] {
            let env = ["SLURM_ARRAY_TASK_ID": String(id), "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "10",
                       "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "1"]
            #expect(throws: ShardError.self, "task \(id)") { try Shard.fromEnvironment(env) }
            do {
                _ = try Shard.fromEnvironment(env)
            } catch {
                #expect(error.description.contains("not a range"), "\(error)")
                #expect(error.description.contains("SLURM_ARRAY_TASK_MAX=10"), "\(error)")
            }
            // The same list with --shard-count 11: task ids are the shards.
            #expect(try Shard.fromEnvironment(env, count: 11) == Shard(index: id, count: 11))
        }
    }

    /// Array tasks that each run `srun -n S`: shard `arrayShard * S + SLURM_PROCID` of `arrayCount * S`, every
    /// combination once.
    @Test func arrayTimesStepCoversEveryShardOnce() throws {
        var seen: [Int] = []
        for id in 4...6 {
            for rank in 0..<2 {
                let env = ["SLURM_ARRAY_TASK_ID": String(id), "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6",
                           "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "1", "SLURM_STEP_ID": "0",
                           "SLURM_PROCID": String(rank), "SLURM_NTASKS": "2", "SLURM_STEP_NUM_TASKS": "2"]
                let shard = try Shard.fromEnvironment(env)
                #expect(shard.count == 6)
                seen.append(shard.index)
            }
        }
        #expect(seen == Array(0..<6))
        // With --shard-count, the 0-based task id times the step size.
        let rerun = ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_MAX": "2",
                     "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_STEP_ID": "0", "SLURM_PROCID": "1", "SLURM_NTASKS": "2"]
        #expect(try Shard.fromEnvironment(rerun, count: 3) == Shard(index: 5, count: 6))
        // Values that would overflow are errors, not traps.
        let huge = String(Int.max)
        #expect(throws: ShardError.self) {
            try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "1",
                                       "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": huge])
        }
        #expect(throws: ShardError.self) {
            try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2",
                                       "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_STEP_ID": "0", "SLURM_PROCID": "0", "SLURM_NTASKS": huge])
        }
    }

    @Test func badShardValuesAreUsageErrors() throws {
        let root = try scratchDirectory("badshard")
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCorpus(root.appendingPathComponent("corpus"), count: 2)
        let cases: [([String], [String: String], String)] = [
            (["--shard", "0/3"], [:], "between 1 and N"),
            (["--shard", "4/3"], [:], "between 1 and N"),
            (["--shard", "two"], [:], "K/N"),
            (["--shard", "auto"], [:], "no job array"),
            (["--shard", "auto"], ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"], "SLURM_ARRAY_TASK_COUNT"),
            (["--shard", "auto"], ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3"], "SLURM_ARRAY_TASK_MAX"),
            (["--shard", "auto"], ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "2"], "SLURM_ARRAY_TASK_ID=3 does not fit"),
            (["--shard", "auto"], ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "5"], "SLURM_ARRAY_TASK_ID=7 is outside"),
            (["--shard", "auto"], ["SLURM_ARRAY_TASK_ID": "x1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "5"], "SLURM_ARRAY_TASK_ID='x1'"),
            // A 1-based array with --shard-count: every task refuses, not only the last.
            (["--shard", "auto", "--shard-count", "16"], ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "16", "SLURM_ARRAY_TASK_COUNT": "16", "SLURM_ARRAY_TASK_STEP": "1"], "SLURM_ARRAY_TASK_MAX=16 is not below 16"),
            (["--shard", "auto"], ["SLURM_STEP_ID": "0", "SLURM_PROCID": "3", "SLURM_NTASKS": "3"], "SLURM_PROCID=3 is not below SLURM_NTASKS=3"),
            (["--shard", "auto"], ["SLURM_STEP_ID": "0", "SLURM_PROCID": "1"], "SLURM_STEP_ID is set but SLURM_NTASKS is not"),
            (["--shard", "auto"], ["SLURM_STEP_ID": "0", "SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_STEP_NUM_TASKS": "2"], "SLURM_NTASKS=4 disagrees with SLURM_STEP_NUM_TASKS=2"),
            (["--shard", "auto", "--shard-count", "4"], ["SLURM_STEP_ID": "0", "SLURM_PROCID": "1", "SLURM_NTASKS": "3"], "disagrees with SLURM_NTASKS=3"),
            // A batch script (not an srun step) of a job without an array.
            (["--shard", "auto"], ["SLURM_JOB_ID": "9", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"], "launch npyexp with srun"),
            (["--shard", "auto"], ["SLURM_STEP_ID": "0", "SLURM_PROCID": "0", "SLURM_NTASKS": "1", "JOB_COMPLETION_INDEX": "0"], "cannot tell"),
            (["--shard", "auto"], ["JOB_COMPLETION_INDEX": "1"], "--shard-count"),
            (["--shard", "auto", "--shard-count", "2"], ["JOB_COMPLETION_INDEX": "2"], "not below"),
            (["--shard", "auto", "--shard-count", "4"], ["AWS_BATCH_JOB_ARRAY_INDEX": "1", "AWS_BATCH_JOB_ARRAY_SIZE": "3"], "disagrees"),
            (["--shard", "auto"], ["AWS_BATCH_JOB_ARRAY_INDEX": "x", "AWS_BATCH_JOB_ARRAY_SIZE": "3"], "not a non-negative integer"),
            (["--shard", "auto"], ["AWS_BATCH_JOB_ARRAY_INDEX": "0", "JOB_COMPLETION_INDEX": "0"], "cannot tell"),
            (["--shard", "1/2", "--shard-count", "2"], [:], "--shard-count goes with --shard auto"),
        ]
        for (arguments, env, message) in cases {
            let r = try run(Paths.binary, arguments + ["-o", "out", "corpus"], in: root, environment: env)
            #expect(r.status == 64, "\(arguments) \(env): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(arguments) \(env): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path))
        }
    }
}
