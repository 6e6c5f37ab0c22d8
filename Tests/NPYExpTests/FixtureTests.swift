// End-to-end checks of the main job on the shipped fixtures: the npyexp binary runs as a real process, and its
// outputs are compared with the long-double references numpy made (fixtures/expected), read back by numpy itself,
// and verified by `gzip -t` and `sha256sum -c`.
import Foundation
import NPYFormat
import Testing

/// Relative fixture names (without .npy / .npy.gz) and their output tolerance in ulps of the output type.
let fixtureNames: [String] = listFiles(Paths.expected).filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }

@Suite(.serialized) struct FixtureTests {
    /// One run over the whole fixtures directory, shared by the checks below.
    static let outputDirectory: URL = {
        let dir = try! scratchDirectory("fixtures")
        let r = try! npyexp(["-o", dir.path, Paths.data.path])
        precondition(r.status == 0, "npyexp failed on the fixtures: \(r.stderr)")
        return dir
    }()

    static func outputURL(_ name: String) -> URL {
        let gz = outputDirectory.appendingPathComponent(name + ".npy.gz")
        return FileManager.default.fileExists(atPath: gz.path) ? gz : outputDirectory.appendingPathComponent(name + ".npy")
    }

    @Test(arguments: fixtureNames)
    func outputMatchesReference(_ name: String) throws {
        let out = try loadNPY(Self.outputURL(name))
        let ref = try loadNPY(Paths.expected.appendingPathComponent(name + ".npy"))
        #expect(out.header.dtype == ref.header.dtype, "\(name): dtype")
        #expect(out.header.shape == ref.header.shape, "\(name): shape")
        #expect(out.header.fortranOrder == ref.header.fortranOrder, "\(name): order")
        // np.save wrote the reference; the output header must be byte-identical.
        #expect(out.headerBytes == ref.headerBytes, "\(name): header bytes differ from np.save's")
        #expect(out.data.count == ref.data.count)
        guard out.data.count == ref.data.count else { return }
        let itemSize = ref.header.dtype.kind == .complex ? ref.header.dtype.itemSize / 2 : ref.header.dtype.itemSize
        let worst = maxULP(out.data, ref.data, itemSize: itemSize)
        // Real outputs: within 1 ulp (issue 2). Complex components: a few ulps of the component's precision.
        let tolerance = ref.header.dtype.kind == .complex ? 4.0 : 1.0
        #expect(worst <= tolerance, "\(name): \(worst) ulp")
    }

    @Test func outputsKeepRelativePathsAndSidecarsVerify() throws {
        let inputs = listFiles(Paths.data)
        let outputs = listFiles(Self.outputDirectory)
        #expect(outputs.filter { !$0.hasSuffix(".sha256") } == inputs)
        #expect(outputs.filter { $0.hasSuffix(".sha256") } == inputs.map { $0 + ".sha256" }.sorted())
        for sidecar in outputs where sidecar.hasSuffix(".sha256") {
            let url = Self.outputDirectory.appendingPathComponent(sidecar)
            let r = try run("/usr/bin/sha256sum", ["-c", url.lastPathComponent], in: url.deletingLastPathComponent())
            #expect(r.status == 0, "sha256sum -c \(sidecar): \(r.stderr)")
        }
    }

    @Test func gzipOutputsAreStandard() throws {
        for file in listFiles(Self.outputDirectory) where file.hasSuffix(".npy.gz") {
            let r = try run("/usr/bin/env", ["gzip", "-t", Self.outputDirectory.appendingPathComponent(file).path])
            #expect(r.status == 0, "gzip -t \(file): \(r.stderr)")
        }
    }

    @Test func numpyReadsEveryOutputAsTheReference() throws {
        // numpy loads each output (through Python's gzip module for .gz) and compares with the reference.
        let script = """
            import gzip, sys, os
            import numpy as np
            out, ref = sys.argv[1], sys.argv[2]
            bad = []
            for root, _, files in os.walk(ref):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), ref)
                    stem = rel[:-4]
                    p = os.path.join(out, stem + ".npy.gz")
                    a = np.load(gzip.open(p)) if os.path.exists(p) else np.load(os.path.join(out, stem + ".npy"))
                    b = np.load(os.path.join(ref, rel))
                    if a.dtype != b.dtype or a.shape != b.shape:
                        bad.append(f"{rel}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}")
                    elif not np.allclose(a, b, rtol=1e-6 if a.dtype.itemsize >= 4 else 1e-3, atol=0, equal_nan=True):
                        bad.append(f"{rel}: values differ")
            print("\\n".join(bad))
            sys.exit(1 if bad else 0)
            """
        let r = try run("/usr/bin/env", ["python3", "-c", script, Self.outputDirectory.path, Paths.expected.path])
        #expect(r.status == 0, "numpy: \(String(decoding: r.stdout, as: UTF8.self)) \(r.stderr)")
    }
}
