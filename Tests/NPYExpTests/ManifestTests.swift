// --manifest (issue 3, item 2): every field of a record checked against the files themselves (sizes, SHA-256 of the
// input, the output and the uncompressed output, recomputed in Python) and against numpy (dtypes, shape, counts of
// +inf / NaN / 0 results on a tensor with known special values); failures and reruns (skipped) recorded; names that
// need JSON escaping survive a round trip through a real JSON parser. Relies on python3 with numpy.
import Foundation
import Testing

@Suite struct ManifestTests {
    @Test func recordsMatchTheFilesAndNumpy() throws {
        let root = try scratchDirectory("manifest")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        // Inputs whose exp overflows, is NaN or underflows to 0, and one whose name needs escaping in JSON.
        let expectedJSON = try python(
            """
            import numpy as np, gzip, hashlib, json, sys
            d = sys.argv[1]
            rng = np.random.default_rng(5)
            a = rng.normal(0, 50, size=(33, 17)).astype(np.float32)
            a.flat[:6] = [np.nan, np.inf, -np.inf, 89.0, -120.0, 0.0]
            with gzip.open(d + "/specials.npy.gz", "wb") as f: np.save(f, a)
            b = np.asfortranarray(rng.uniform(-800, 800, size=(9, 11)))
            b[0, 0] = np.nan
            np.save(d + '/we"ird\\\\name\\t.npy', b)
            c = rng.integers(-200, 200, size=(50,), dtype=np.int16)
            np.save(d + "/ints.npy", c)
            out = {}
            for name, x in [("specials.npy.gz", a), ('we"ird\\\\name\\t.npy', b), ("ints.npy", c)]:
                with np.errstate(all="ignore"):
                    r = np.exp(x.astype(np.float32) if x.dtype.kind == "i" else x)
                raw = open(d + "/" + name, "rb").read()
                out[name] = dict(input_bytes=len(raw), input_sha256=hashlib.sha256(raw).hexdigest(),
                    dtype_in=x.dtype.name, dtype_out=r.dtype.name, shape=list(x.shape), elements=int(x.size),
                    overflow_inf=int(np.isposinf(r).sum()), nan=int(np.isnan(r).sum()), underflow_zero=int((r == 0).sum()))
            print(json.dumps(out))
            """, [data.path])
        let expected = try JSONSerialization.jsonObject(with: Data(expectedJSON.utf8)) as! [String: [String: Any]]
        // A bad input is recorded as failed.
        try Data("not a tensor".utf8).write(to: data.appendingPathComponent("zbad.npy"))

        let r = try npyexp(["-o", "out", "--manifest", "run.jsonl", "data"], in: root)
        #expect(r.status == 1, "\(r.stderr)")
        let lines = try jsonLines(readText(root.appendingPathComponent("run.jsonl")))
        #expect(lines.count == 5)
        let files = lines.filter { $0["type"] as? String == "file" }
        #expect(files.count == 4)
        for record in files {
            let rel = record["relative_path"] as! String
            #expect(record["input"] as? String == "data/" + rel)
            if rel == "zbad.npy" {
                #expect(record["status"] as? String == "failed")
                #expect((record["error"] as? String)?.contains("not an NPY file") == true)
                #expect(record["output"] is NSNull)
                continue
            }
            let want = try #require(expected[rel], "unexpected record \(rel)")
            #expect(record["status"] as? String == "done")
            #expect(record["error"] is NSNull)
            for key in ["input_bytes", "input_sha256", "dtype_in", "dtype_out", "elements", "overflow_inf", "nan", "underflow_zero"] {
                #expect("\(record[key]!)" == "\(want[key]!)", "\(rel) \(key)")
            }
            #expect(record["shape"] as? [Int] == want["shape"] as? [Int], "\(rel) shape")
            // The output's size and SHA-256, and the SHA-256 of its uncompressed bytes, recomputed from the file.
            let output = try #require(record["output"] as? String)
            #expect(output == "out/" + rel)
            let facts = try python(
                """
                import gzip, hashlib, os, sys
                raw = open(sys.argv[1], "rb").read()
                payload = gzip.decompress(raw) if raw[:2] == b"\\x1f\\x8b" else raw
                print(len(raw), hashlib.sha256(raw).hexdigest(), hashlib.sha256(payload).hexdigest())
                """, [root.appendingPathComponent(output).path]).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect("\(record["output_bytes"]!)" == facts[0])
            #expect(record["output_sha256"] as? String == facts[1])
            #expect(record["payload_sha256"] as? String == facts[2])
            #expect((record["seconds"] as? Double).map { $0 >= 0 && $0 < 60 } == true)
        }
        let summary = try #require(lines.last)
        #expect(summary["type"] as? String == "summary")
        #expect(summary["files"] as? Int == 4)
        #expect(summary["done"] as? Int == 3)
        #expect(summary["failed"] as? Int == 1)
        #expect(try readText(root.appendingPathComponent("run.jsonl")).split(separator: "\n").last!.hasPrefix("{\"type\":\"summary\""))

        // A rerun skips the complete outputs and still records what is known about them.
        try FileManager.default.removeItem(at: data.appendingPathComponent("zbad.npy"))
        let again = try npyexp(["-o", "out", "--manifest", "again.jsonl", "data"], in: root)
        #expect(again.status == 0, "\(again.stderr)")
        let second = try jsonLines(readText(root.appendingPathComponent("again.jsonl"))).filter { $0["type"] as? String == "file" }
        #expect(second.count == 3)
        for record in second {
            let rel = record["relative_path"] as! String
            let first = try #require(files.first { $0["relative_path"] as? String == rel })
            #expect(record["status"] as? String == "skipped")
            for key in ["input_bytes", "input_sha256", "output", "output_bytes", "output_sha256", "dtype_in", "dtype_out", "elements"] {
                #expect("\(record[key]!)" == "\(first[key]!)", "skipped \(rel) \(key)")
            }
            #expect(record["shape"] as? [Int] == first["shape"] as? [Int])
        }
        // No temporary file is left beside the manifest.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func unwritableManifestIsAnOutputError() throws {
        let root = try scratchDirectory("manifest-ro")
        defer { try? FileManager.default.removeItem(at: root) }
        try makeCorpus(root.appendingPathComponent("corpus"), count: 2)
        try Data().write(to: root.appendingPathComponent("file"))
        // A path below a regular file can never be created, whoever runs the test (root ignores permissions).
        let r = try npyexp(["-o", "out", "--manifest", "file/m.jsonl", "corpus"], in: root)
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("npyexp: file"))
    }
}
