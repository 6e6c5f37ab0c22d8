// `npyexp inspect` (issue 3, item 4): dtype, shape, order, version, header and data sizes checked against numpy's own
// reading of the same files; gzip member counts against files built with a known number of members and against
// Python's zlib walking npyexp's block-format outputs; sizes against `gzip -l`; errors worded as in the main command.
// Relies on python3 with numpy, gzip(1).
import Foundation
import Testing

@Suite struct InspectTests {
    @Test func headerFactsMatchNumpy() throws {
        let root = try scratchDirectory("inspect")
        defer { try? FileManager.default.removeItem(at: root) }
        let facts = try python(
            """
            import numpy as np, gzip, json, sys, io
            d = sys.argv[1]
            rng = np.random.default_rng(3)
            arrays = {
                "f32.npy": rng.normal(size=(3, 4)).astype(np.float32),
                "f64_fortran.npy": np.asfortranarray(rng.normal(size=(5, 2, 3))),
                "be_i8.npy": np.arange(10, dtype=">i8"),
                "scalar.npy": np.array(2.5, dtype=np.float16),
                "empty.npy": np.zeros((0, 7), dtype=np.complex64),
            }
            out = {}
            for name, a in arrays.items():
                np.save(d + "/" + name, a)
            # Version 2.0 and 3.0 headers written by numpy itself.
            with open(d + "/v2.npy", "wb") as f: np.lib.format.write_array(f, np.ones((2, 2)), version=(2, 0))
            with open(d + "/v3.npy", "wb") as f: np.lib.format.write_array(f, np.ones((4,), np.uint16), version=(3, 0))
            # A gzip of three members (concatenated gzip streams), as gzip -c a b c > x.gz makes.
            raw = open(d + "/f32.npy", "rb").read()
            with open(d + "/three.npy.gz", "wb") as f:
                for part in (raw[:50], raw[50:100], raw[100:]): f.write(gzip.compress(part))
            for name in list(arrays) + ["v2.npy", "v3.npy", "three.npy.gz"]:
                path = d + "/" + name
                f = gzip.open(path) if name.endswith(".gz") else open(path, "rb")
                payload = f.read()
                b = io.BytesIO(payload)
                version = np.lib.format.read_magic(b)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read(b)
                out[name] = dict(npy_version="%d.%d" % version, dtype=dtype.name, descr=dtype.str, shape=list(shape),
                    fortran_order=fortran, elements=int(np.prod(shape)), header_bytes=b.tell(),
                    data_bytes=int(np.prod(shape)) * dtype.itemsize, payload_bytes=len(payload))
            print(json.dumps(out))
            """, [root.path])
        let expected = try JSONSerialization.jsonObject(with: Data(facts.utf8)) as! [String: [String: Any]]
        let names = expected.keys.sorted()
        let r = try npyexp(["inspect", "--json"] + names, in: root)
        #expect(r.status == 0, "\(r.stderr)")
        let records = try jsonLines(String(decoding: r.stdout, as: UTF8.self))
        #expect(records.count == names.count)
        for record in records {
            let name = record["path"] as! String
            let want = try #require(expected[name])
            for key in ["npy_version", "dtype", "descr", "fortran_order", "elements", "header_bytes", "data_bytes", "payload_bytes"] {
                #expect("\(record[key]!)" == "\(want[key]!)", "\(name) \(key)")
            }
            #expect(record["shape"] as? [Int] == want["shape"] as? [Int], "\(name) shape")
            let size = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path)[.size] as! Int
            #expect(record["file_bytes"] as? Int == size)
        }
        let three = try #require(records.first { $0["path"] as? String == "three.npy.gz" })
        #expect(three["gzip_members"] as? Int == 3)
        #expect(three["gzip_framing"] as? String == "standard")
        // The text form says the same in words.
        let text = try npyexp(["inspect", "f64_fortran.npy"], in: root)
        #expect(String(decoding: text.stdout, as: UTF8.self).contains("dtype float64 ('<f8'), shape (5, 2, 3), Fortran order"))
    }

    @Test func blockFormatMembersAndGzipSizes() throws {
        let root = try scratchDirectory("inspect-blocks")
        defer { try? FileManager.default.removeItem(at: root) }
        // 2.6 MB of float64: npyexp's 1 MiB blocks give several members.
        try python("import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(1).normal(size=(325, 1000)))",
                   [root.appendingPathComponent("x.npy").path])
        #expect(try npyexp(["--gzip", "-o", "out", "x.npy"], in: root).status == 0)
        let members = try python(
            """
            import zlib, sys
            buf, n, total = open(sys.argv[1], "rb").read(), 0, 0
            while buf:
                d = zlib.decompressobj(31)
                total += len(d.decompress(buf))
                buf, n = d.unused_data, n + 1
            print(n, total)
            """, [root.appendingPathComponent("out/x.npy.gz").path]).split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        #expect(members[0] >= 3)
        let r = try npyexp(["inspect", "--json", "out/x.npy.gz"], in: root)
        #expect(r.status == 0, "\(r.stderr)")
        let record = try #require(try jsonLines(String(decoding: r.stdout, as: UTF8.self)).first)
        #expect(record["gzip_framing"] as? String == "npyexp-blocks")
        #expect(record["gzip_members"] as? Int == members[0])
        #expect(record["payload_bytes"] as? Int == members[1])
        // gzip -l on a single-member file: compressed and uncompressed sizes.
        let single = try run("/bin/sh", ["-c", "gzip -n -c x.npy > single.npy.gz && gzip -l single.npy.gz | tail -1"], in: root)
        let columns = String(decoding: single.stdout, as: UTF8.self).split(separator: " ").map(String.init)
        let r2 = try npyexp(["inspect", "--json", "single.npy.gz"], in: root)
        let rec2 = try #require(try jsonLines(String(decoding: r2.stdout, as: UTF8.self)).first)
        #expect("\(rec2["file_bytes"]!)" == columns[0])
        #expect("\(rec2["payload_bytes"]!)" == columns[1])
        #expect(rec2["gzip_members"] as? Int == 1)
    }

    @Test func errorsAreOneLineEach() throws {
        let root = try scratchDirectory("inspect-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        try copyFixtures(["normal_f32.npy.gz", "uint8.npy"], to: root)
        let good = try Data(contentsOf: root.appendingPathComponent("normal_f32.npy.gz"))
        try good.prefix(good.count / 2).write(to: root.appendingPathComponent("cut.npy.gz"))
        try Data("plain text".utf8).write(to: root.appendingPathComponent("text.npy"))
        let plain = try Data(contentsOf: root.appendingPathComponent("uint8.npy"))
        try plain.dropLast(3).write(to: root.appendingPathComponent("short.npy"))
        let r = try npyexp(["inspect", "cut.npy.gz", "text.npy", "short.npy", "missing.npy", "uint8.npy"], in: root)
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("npyexp: cut.npy.gz: truncated gzip stream") })
        #expect(lines.contains { $0.hasPrefix("npyexp: text.npy: not an NPY file") })
        #expect(lines.contains { $0 == "npyexp: short.npy: data shorter than the shape: expected 64 bytes, got 61" })
        #expect(lines.contains { $0.hasPrefix("npyexp: missing.npy: ") && $0.contains("no such file") })
        #expect(String(decoding: r.stdout, as: UTF8.self).contains("uint8.npy:"))
        #expect(try npyexp(["inspect", "missing.npy"], in: root).status == 66)
    }
}
