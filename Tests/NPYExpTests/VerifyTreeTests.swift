// `verify DIR` finds what a kill or a hand left broken: an output whose sidecar is gone (and whose bytes are garbage)
// is a fault even with npyexp's `-o` naming (no `.exp.` in it), unless a sums file lists it; `verify SUMSFILE` checks
// a coreutils sums file, escaped names included. Relies on the binary, numpy and coreutils.
import Foundation
import Testing

@Suite struct VerifyTreeTests {
    @Test func anOutputWithoutSidecarOrSumsEntryIsAFault() throws {
        let dir = try scratchDirectory("verify-tree")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        for name in ["a.npy", "b.npy", "new\nline.npy"] {
            try makeNormalInput(input.appendingPathComponent(name), elements: 100)
        }
        let out = dir.appendingPathComponent("out")
        #expect(try npyexp(["-o", out.path, "--sums", dir.appendingPathComponent("SUMS").path, input.path]).status == 0)
        #expect(try npyexp(["verify", out.path]).status == 0)
        #expect(try npyexp(["verify", dir.appendingPathComponent("SUMS").path]).status == 0)
        // b.npy loses its sidecar and is overwritten with garbage.
        try FileManager.default.removeItem(at: out.appendingPathComponent("b.npy.sha256"))
        try Data("garbage".utf8).write(to: out.appendingPathComponent("b.npy"))
        let r = try npyexp(["verify", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("b.npy: no checksum"), "\(r.stderr)")
        // The run's sums file still lists it, and now finds the damage.
        let s = try npyexp(["verify", dir.appendingPathComponent("SUMS").path])
        #expect(s.status == 1 && s.stderr.contains("SHA-256 mismatch"), "\(s.stderr)")
        // A sums file inside the tree covers files that have no sidecar.
        try FileManager.default.removeItem(at: out.appendingPathComponent("a.npy.sha256"))
        try python(
            "import hashlib,sys\np=sys.argv[1]\nopen(p+'/SHA256SUMS','w').write(hashlib.sha256(open(p+'/a.npy','rb').read()).hexdigest()+'  a.npy\\n')",
            [out.path])
        let t = try npyexp(["verify", out.path])
        #expect(!t.stderr.contains("a.npy: no checksum"), "\(t.stderr)")
        #expect(t.stderr.contains("b.npy: no checksum"), "\(t.stderr)")
    }
}
