// The planner's invariant, as a property over random trees: whatever the inputs (directories, globs, named files,
// --files-from lists with relative and absolute names), wherever `-o` points (inside, equal to, above or beside the
// inputs, or nowhere), and whatever --sums / --manifest name, a plan that is not refused never has two inputs
// sharing an output and never writes to a path that is an input. Then the real binary is run on some of the same
// trees and every input's bytes are checked unchanged. Relies on NPYExp (Planner, BatchRunner), the binary, Foundation.
import Foundation
import NPYExp
import Testing
import ToolSupport

/// SplitMix64 (ToolSupport), so a failing case reproduces.
typealias SeededGenerator = SplitMix64

@Suite struct PlannerTests {
    /// A random tree of tensors (some with npyexp output names, some gzip) below `root`; returns the files made.
    func makeTree(_ root: URL, _ rng: inout SeededGenerator) throws -> [String] {
        let dirs = ["", "a", "a/b", "c", "out", "a/out"]
        let stems = ["x", "y", "x.exp", "z"]
        var made: [String] = []
        let npy = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let gz = Data([0x1f, 0x8b, 8, 0])
        for _ in 0..<Int.random(in: 2...8, using: &rng) {
            let dir = dirs.randomElement(using: &rng)!
            let stem = stems.randomElement(using: &rng)!
            let gzip = Bool.random(using: &rng)
            let rel = (dir.isEmpty ? "" : dir + "/") + stem + (gzip ? ".npy.gz" : ".npy")
            let url = root.appendingPathComponent(rel)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            // Sometimes a plain file under a .gz name, or gzip under .npy: planning must look at the bytes.
            try (Bool.random(using: &rng) == gzip ? gz : npy).write(to: url)
            made.append(rel)
        }
        return Array(Set(made)).sorted()
    }

    @Test(arguments: 0..<60)
    func noPlanSharesAnOutputOrWritesAnInput(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 7919)
        let root = try scratchDirectory("plan")
        defer { try? FileManager.default.removeItem(at: root) }
        let files = try makeTree(root, &rng)
        // Absolute names throughout: the working directory is the test process's, shared with other tests.
        func at(_ rel: String) -> String { rel == "." ? root.path : root.path + "/" + rel }

        // Inputs: a mix of the ways to name them.
        var arguments: [String] = []
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: arguments.append(at(["a", "c", ".", "out", "a/out"].randomElement(using: &rng)!))
            case 1: arguments.append(at(["*.npy", "a/**/*.npy.gz", "**", "a/*"].randomElement(using: &rng)!))
            case 2: arguments.append(at(files.randomElement(using: &rng)!))
            default: arguments.append(root.path + "/./" + files.randomElement(using: &rng)!)
            }
        }
        var items = InputDiscovery.discover(arguments).items
        if Bool.random(using: &rng) {
            let listed = (0..<3).map { _ -> String in
                let f = files.randomElement(using: &rng)!
                return Bool.random(using: &rng) ? at(f) : root.path + "/a/../" + f
            }
            items += FileList.items(names: listed).items
        }
        var c = ExpConfiguration()
        c.outputDirectory = [nil, "out", ".", "a", "a/out", "elsewhere", "c"].randomElement(using: &rng)!.map(at)
        c.container = [.followInput, .gzip, .plain].randomElement(using: &rng)!
        var options = BatchOptions()
        options.sums = [nil, "SUMS", files.randomElement(using: &rng)!, "out/x.npy.sha256"].randomElement(using: &rng)!
            .map(at)
        options.manifest = [nil, "m.jsonl", "SUMS"].randomElement(using: &rng)!.map(at)

        let runner = BatchRunner(c, options: options)
        let plan: RunPlan
        do {
            plan = try runner.plan(items)
        } catch {
            #expect(error.category == .usage && error.description.hasPrefix("refused: "), "\(error)")
            return
        }
        // The invariant, checked independently of the planner's own bookkeeping: real paths of directories.
        func canonical(_ path: String) -> String {
            let url = URL(fileURLWithPath: path)
            let dir = url.deletingLastPathComponent().resolvingSymlinksInPath().standardizedFileURL.path
            return dir + "/" + url.lastPathComponent
        }
        let inputs = Set(plan.inputs.map { canonical($0.item.path) })
        var outputs: Set<String> = []
        for input in plan.inputs {
            guard let out = input.output?.path else { continue }
            for written in [canonical(out), canonical(out) + ".sha256"] {
                #expect(!inputs.contains(written), "seed \(seed): \(input.item.path) would write the input \(written)")
                #expect(outputs.insert(written).inserted, "seed \(seed): two inputs write \(written)")
            }
        }
        for record in [options.sums, options.manifest].compactMap({ $0 }) {
            #expect(!inputs.contains(canonical(record)), "seed \(seed): a record names an input: \(record)")
            #expect(!outputs.contains(canonical(record)), "seed \(seed): a record names an output: \(record)")
        }
        // Named inputs are never dropped as own outputs.
        for item in plan.ownOutputs { #expect(item.origin == .walk || item.origin == .glob) }
    }

    @Test(arguments: 0..<12)
    func theBinaryNeverChangesAnInput(seed: Int) throws {
        var rng = SeededGenerator(seed: UInt64(seed) &* 104_729 &+ 1)
        let root = try scratchDirectory("plan-run")
        defer { try? FileManager.default.removeItem(at: root) }
        // Real tensors this time, so the runs do real work.
        let files = ["x.npy", "a/x.npy", "a/b/y.npy", "out/x.npy", "c/x.exp.npy"]
        for (i, f) in files.enumerated() {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(f).deletingLastPathComponent(), withIntermediateDirectories: true)
            try makeNormalInput(root.appendingPathComponent(f), elements: 64, seed: i)
        }
        var arguments: [String] = []
        let outputDirectory = [nil, "out", ".", "a", "elsewhere"].randomElement(using: &rng)!
        if let o = outputDirectory { arguments += ["-o", o] }
        if Bool.random(using: &rng) { arguments += ["--sums", ["SUMS", "x.npy", "out/x.npy"].randomElement(using: &rng)!] }
        let named = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
            [".", "a", "out", "x.npy", "c/x.exp.npy", "**"].randomElement(using: &rng)!
        }
        arguments += named
        // The run's inputs as the README defines them: named files, and what walks and globs find, less npyexp's own
        // outputs (NAME.exp.npy without -o; files in an -o tree nested in the walked one, none of which has a
        // sidecar here, so the planner must treat them as inputs too: they are kept in the set).
        var inputs: Set<String> = []
        for argument in named {
            if files.contains(argument) { inputs.insert(argument); continue }
            let prefix = argument == "." || argument == "**" ? "" : argument + "/"
            for f in files where f.hasPrefix(prefix) {
                if outputDirectory == nil && f.hasSuffix(".exp.npy") { continue }
                inputs.insert(f)
            }
        }
        func digests() throws -> [String: Data] {
            var d: [String: Data] = [:]
            for f in inputs { d[f] = try Data(contentsOf: root.appendingPathComponent(f)) }
            return d
        }
        let before = try digests()
        let r = try npyexp(arguments, in: root)
        #expect(!r.terminatedBySignal)
        #expect([0, 1, 64].contains(r.status), "seed \(seed) \(arguments): \(r.status) \(r.stderr)")
        #expect(try digests() == before, "seed \(seed) \(arguments): an input changed; \(r.stderr)")
    }
}
