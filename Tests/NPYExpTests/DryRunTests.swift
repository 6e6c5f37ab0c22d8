// `npyexp --dry-run` / `--plan` (issue 13 item 3): one line per input with its output path, shard and whether it
// would be done or skipped, then a summary; JSON Lines with --json; nothing written; every input form and --shard;
// the plan's refusals exit 64 as in a real run. The shard of each input is checked against Python's own hash.
// Relies on Support.swift, ShardTests.swift (python, jsonLines, makeCorpus), python3 with numpy.
import Foundation
import Testing

@Suite struct DryRunTests {
    @Test func printsThePlanAndWritesNothing() throws {
        let dir = try scratchDirectory("dry")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try python(
            """
            import numpy as np, sys
            for name in ("a", "b", "c"): np.save(sys.argv[1] + "/" + name + ".npy", np.arange(4, dtype=np.float32))
            """, [dir.path])
        let before = listFiles(dir)
        let r = try npyexp(["--dry-run", "a.npy", "b.npy", "c.npy"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(String(decoding: r.stdout, as: UTF8.self) == """
            do    a.npy -> a.exp.npy
            do    b.npy -> b.exp.npy
            do    c.npy -> c.exp.npy
            dry run: 3 inputs: 3 to do, 0 complete, 0 failing; nothing written

            """)
        #expect(listFiles(dir) == before, "a dry run writes nothing")
        // After a real run of b, the plan skips it (its output is complete), and redoes it when damaged or --force.
        #expect(try npyexp(["b.npy"], in: dir).status == 0)
        let plan = try npyexp(["--plan", "."], in: dir)
        #expect(String(decoding: plan.stdout, as: UTF8.self).split(separator: "\n").map(String.init) == [
            "do    a.npy -> a.exp.npy", "skip  b.npy -> b.exp.npy (complete)", "do    c.npy -> c.exp.npy",
            "dry run: 3 inputs: 2 to do, 1 complete, 0 failing; 1 npyexp output left out; nothing written",
        ], "\(plan.stdout)")
        let forced = try npyexp(["--dry-run", "-f", "b.npy"], in: dir)
        #expect(String(decoding: forced.stdout, as: UTF8.self).hasPrefix("do    b.npy -> b.exp.npy\n"))
        let otherLevel = try npyexp(["--dry-run", "--gzip", "b.npy"], in: dir)
        #expect(String(decoding: otherLevel.stdout, as: UTF8.self).hasPrefix("do    b.npy -> b.exp.npy.gz\n"))
        // Refusals as in a real run: exit 64, nothing planned.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("x"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: dir.appendingPathComponent("a.npy"), to: dir.appendingPathComponent("x/a.npy"))
        let collide = try npyexp(["--dry-run", "-o", "out", "a.npy", "x/a.npy"], in: dir)
        #expect(collide.status == 64)
        #expect(collide.stderr.contains("refused: a.npy and x/a.npy would both be written to out/a.npy"), "\(collide.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }

    @Test func jsonLinesWithShardsCoverEveryInputOnce() throws {
        let dir = try scratchDirectory("dry-shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = try makeCorpus(dir.appendingPathComponent("in"), count: 24)
        var seen: [String: String] = [:]
        for k in 1...3 {
            let r = try npyexp(["--dry-run", "--json", "--shard", "\(k)/3", "-o", "out", "in"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
            let records = try jsonLines(String(decoding: r.stdout, as: UTF8.self))
            let summary = try #require(records.last)
            #expect(summary["summary"] as? Bool == true)
            #expect(summary["shard"] as? String == "\(k)/3")
            #expect(summary["inputs"] as? Int == records.count - 1)
            for record in records.dropLast() {
                let input = try #require(record["input"] as? String)
                #expect(record["shard"] as? String == "\(k)/3")
                #expect(record["action"] as? String == "do")
                #expect(record["output"] as? String == "out/" + input.dropFirst("in/".count))
                #expect(seen.updateValue("\(k)", forKey: String(input.dropFirst("in/".count))) == nil)
            }
        }
        #expect(seen.keys.sorted() == corpus)
        // Python's hash of each relative path names the same shard.
        let expected = try python(
            """
            import hashlib, json, sys
            print(json.dumps({p: str(int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "big") % 3 + 1) for p in sys.argv[1:]}))
            """, corpus)
        #expect(try JSONSerialization.jsonObject(with: Data(expected.utf8)) as? [String: String] == seen)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
        // --files-from and standard input are input forms too.
        let listed = try npyexp(["--dry-run", "--files-from", "-", "-o", "out"], in: dir, input: Data(("in/" + corpus[0] + "\n").utf8))
        #expect(String(decoding: listed.stdout, as: UTF8.self).hasPrefix("do    in/\(corpus[0]) -> out/in/\(corpus[0])\n"), "\(listed.stdout)")
        let stdin = try npyexp(["--dry-run"], in: dir, input: Data())
        #expect(String(decoding: stdin.stdout, as: UTF8.self).hasPrefix("do    - -> <stdout>\n"))
        #expect(try npyexp(["--json", "in"], in: dir).status == 64, "--json goes with --dry-run")
    }
}
