// --sums (issue 3, item 3): one coreutils-format SHA256SUMS for the run, verified by `sha256sum -c` from its own
// directory (also when it lies outside the output tree), lines sorted byte-wise by path as Python sorts bytes, names
// with a backslash or a newline escaped as coreutils does. Relies on sha256sum (coreutils) and python3.
import Foundation
import Testing

@Suite struct SumsTests {
    @Test func sumsFileVerifiesWithSha256sum() throws {
        let root = try scratchDirectory("sums")
        defer { try? FileManager.default.removeItem(at: root) }
        let inputs = try makeCorpus(root.appendingPathComponent("corpus"), count: 12)
        // Names coreutils must escape, and one that sorts differently byte-wise than in most locales.
        try python(
            """
            import numpy as np, sys
            for name in ["back\\\\slash.npy", "new\\nline.npy", "Zupper.npy", "sp ace.npy"]:
                np.save(sys.argv[1] + "/" + name, np.arange(3, dtype=np.float32))
            """, [root.appendingPathComponent("corpus").path])
        let r = try npyexp(["-o", "out", "--sums", "out/SHA256SUMS", "corpus"], in: root)
        #expect(r.status == 0, "\(r.stderr)")
        let check = try run("/usr/bin/sha256sum", ["-c", "--strict", "SHA256SUMS"], in: root.appendingPathComponent("out"))
        #expect(check.status == 0, "\(check.stderr)")
        let okLines = String(decoding: check.stdout, as: UTF8.self).split(separator: "\n").filter { $0.hasSuffix(": OK") }
        #expect(okLines.count == inputs.count + 4)

        // The whole file equals what sha256sum itself writes for the outputs listed in byte order.
        let expected = try run("/bin/sh", ["-c", "cd out && find . -name '*.npy*' ! -name '*.sha256' -print0 | sed -z 's|^\\./||' | LC_ALL=C sort -z | xargs -0 sha256sum"], in: root)
        #expect(expected.status == 0)
        #expect(try Data(contentsOf: root.appendingPathComponent("out/SHA256SUMS")) == expected.stdout)

        // A sums file outside the output tree names the outputs with ../ and still verifies from its directory.
        let r2 = try npyexp(["-o", "out", "--sums", "records/run/ALL.sums", "corpus"], in: root)
        #expect(r2.status == 0, "\(r2.stderr)")
        let text = try readText(root.appendingPathComponent("records/run/ALL.sums"))
        #expect(text.contains("  ../../out/a/"))
        let check2 = try run("/usr/bin/sha256sum", ["-c", "--strict", "ALL.sums"], in: root.appendingPathComponent("records/run"))
        #expect(check2.status == 0, "\(check2.stderr)")

        // A damaged output is caught by the sums file.
        let victim = root.appendingPathComponent("out/" + inputs[0])
        var bytes = try Data(contentsOf: victim)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: victim)
        let check3 = try run("/usr/bin/sha256sum", ["-c", "--quiet", "SHA256SUMS"], in: root.appendingPathComponent("out"))
        #expect(check3.status == 1)
        #expect(String(decoding: check3.stdout, as: UTF8.self).contains(inputs[0] + ": FAILED"))
    }

    @Test func failedInputsAreLeftOut() throws {
        let root = try scratchDirectory("sums-fail")
        defer { try? FileManager.default.removeItem(at: root) }
        let inputs = try makeCorpus(root.appendingPathComponent("corpus"), count: 3)
        try Data("junk".utf8).write(to: root.appendingPathComponent("corpus/junk.npy"))
        let r = try npyexp(["-o", "out", "--sums", "SUMS", "corpus"], in: root)
        #expect(r.status == 1)
        let names = try readText(root.appendingPathComponent("SUMS")).split(separator: "\n").map { String($0.dropFirst(66)) }
        #expect(names == inputs.map { "out/" + $0 })
    }
}
