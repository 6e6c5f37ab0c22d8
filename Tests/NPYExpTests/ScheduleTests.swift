// Several large inputs in one batch: they run at the same time (each reading ahead on a thread of its own, with
// less read-ahead than a lone input), one of them fails mid-stream, and the others are still committed, correct and
// identical to what a run of each alone writes; the reports come back in input order, the failed input leaves no
// output and no temporary, and the batch's own report callback hands reports out in input order within a commit.
// And the input's SHA-256, hashed on a thread of its own beside inflate, is the file's on every large reader path.
import Foundation
import NPYExp
import Synchronization
import Testing

@Suite struct ScheduleTests {
    /// Inputs of 160 000 float32 elements (640 KB) with 64 KiB chunks: each is ten chunks, far above the two-chunk
    /// threshold of the overlapped reader, so every one runs with its own reader thread and pipe.
    static func configuration(_ out: URL) -> ExpConfiguration {
        var c = ExpConfiguration()
        c.chunkBytes = 64 << 10
        c.blockSize = 64 << 10
        c.jobs = 2
        c.outputDirectory = out.path
        return c
    }

    @Test func largeInputsTogetherOneFailingMidStream() throws {
        let dir = try scratchDirectory("schedule")
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = ["a", "b", "c", "d", "e"]
        for (i, name) in names.enumerated() {
            try makeNormalInput(dir.appendingPathComponent("\(name).npy.gz"), elements: 160_000, seed: 40 + i, gzip: true)
        }
        // b is cut in the middle of its deflate data: it fails only after several chunks have gone through.
        let cut = dir.appendingPathComponent("b.npy.gz")
        let whole = try Data(contentsOf: cut)
        try whole.prefix(whole.count / 2).write(to: cut)

        let out = dir.appendingPathComponent("out")
        let c = Self.configuration(out)
        let items = try names.map { try InputDiscovery.expand(dir.appendingPathComponent("\($0).npy.gz").path)[0] }
        let runner = BatchRunner(c)
        let heard = Mutex<[String]>([])
        let result = runner.run(try runner.plan(items)) { report in heard.withLock { $0.append(report.input.path) } }

        #expect(result.reports.map(\.input.path) == items.map(\.path))
        for report in result.reports {
            if report.input.path == cut.path {
                #expect(report.error?.message.contains("truncated") == true, "\(report.status)")
                continue
            }
            #expect(report.status == .done, "\(report.input.path): \(report.status)")
            let sidecar = URL(fileURLWithPath: report.outputPath! + ".sha256")
            #expect(try coreutilsChecksumOK(sidecar: sidecar))
            // The same bytes as a run of this input alone.
            let alone = dir.appendingPathComponent("alone-\(URL(fileURLWithPath: report.input.path).lastPathComponent)")
            var single = Self.configuration(alone)
            single.outputDirectory = alone.path
            let reference = ExpPipeline(single).process(report.input)
            #expect(reference.status == .done)
            #expect(reference.outputSHA256 == report.outputSHA256)
            #expect(reference.inputSHA256 == report.inputSHA256)
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("b.npy.gz").path))
        #expect(temporaries(in: out).isEmpty)
        #expect(result.exitStatus() == ExitStatus.someFailed)
        // The failure is told at once; the committed four together, in input order.
        let told = heard.withLock { $0 }
        #expect(told.count == names.count)
        #expect(told.filter { $0 != cut.path } == items.map(\.path).filter { $0 != cut.path })
    }

    @Test func stopAfterFailureStartsNothingNewWithLargeInputs() throws {
        let dir = try scratchDirectory("schedule-stop")
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = ["a", "b", "c", "d", "e", "f"]
        for (i, name) in names.enumerated() {
            try makeNormalInput(dir.appendingPathComponent("\(name).npy.gz"), elements: 160_000, seed: 60 + i, gzip: true)
        }
        try Data([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]).write(to: dir.appendingPathComponent("a.npy.gz"))
        let out = dir.appendingPathComponent("out")
        var options = BatchOptions()
        options.stopAfterFailure = true
        let runner = BatchRunner(Self.configuration(out), options: options)
        let items = try names.map { try InputDiscovery.expand(dir.appendingPathComponent("\($0).npy.gz").path)[0] }
        let result = runner.run(try runner.plan(items))
        // Reports stay in input order and every input that was reported done really is complete.
        #expect(result.reports.map(\.input.path) == Array(items.map(\.path).prefix(result.reports.count)))
        #expect(result.reports.first?.error != nil)
        #expect(result.notStarted + result.reports.count == names.count)
        for report in result.reports where report.status == .done {
            #expect(try coreutilsChecksumOK(sidecar: URL(fileURLWithPath: report.outputPath! + ".sha256")))
        }
        #expect(temporaries(in: out).isEmpty)
    }

    /// The input's SHA-256, hashed beside inflate on the reader's own hash thread, is the file's SHA-256 on every
    /// reader path of a large input: one plain gzip member (serial inflate), npyexp's block-framed gzip (members
    /// inflated on all cores, the unparsed tail moved after each batch) and plain .npy.
    @Test func inputDigestIsTheFileDigestOnEveryLargeReaderPath() throws {
        let dir = try scratchDirectory("schedule-digest")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gz = dir.appendingPathComponent("g.npy.gz")
        let plain = dir.appendingPathComponent("p.npy")
        try makeNormalInput(gz, elements: 1_500_000, seed: 7, gzip: true)
        try makeNormalInput(plain, elements: 1_500_000, seed: 8)
        let first = ExpPipeline(Self.configuration(dir.appendingPathComponent("one")))
            .process(try InputDiscovery.expand(gz.path)[0])
        #expect(first.status == .done)
        let blocks = try #require(first.outputPath)
        // 6 MB each: the block-framed one is more than one 4 MiB batch, so its tail is moved between batches.
        for (i, path) in [gz.path, plain.path, blocks].enumerated() {
            let report = ExpPipeline(Self.configuration(dir.appendingPathComponent("two-\(i)")))
                .process(try InputDiscovery.expand(path)[0])
            #expect(report.status == .done, "\(path): \(report.status)")
            #expect(report.inputSHA256 == (try Checksums.sha256(ofFile: path)), "\(path)")
        }
    }
}
