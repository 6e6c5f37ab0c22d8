// The library product used directly from Swift, as a Swift program would.
import Foundation
import NPYExp
import Testing

/// Runs the pipeline through the library API into a scratch directory and loads the result.
func libraryRun(input: String, chunkBytes: Int, blockSize: Int, jobs: Int) throws -> LoadedArray {
    let out = try scratchDirectory("lib")
    defer { try? FileManager.default.removeItem(at: out) }
    var c = ExpConfiguration()
    c.chunkBytes = chunkBytes
    c.blockSize = blockSize
    c.jobs = jobs
    c.container = .gzip
    c.outputDirectory = out.path
    let items = try InputDiscovery.expand(input)
    let report = ExpPipeline(c).process(items[0])
    guard case .done = report.status, let path = report.outputPath else {
        throw TestFailure("library run failed: \(report.status)")
    }
    return try loadNPY(URL(fileURLWithPath: path))
}

@Suite struct LibraryTests {
    @Test func reportDescribesTheWork() throws {
        let out = try scratchDirectory("report")
        defer { try? FileManager.default.removeItem(at: out) }
        var c = ExpConfiguration()
        c.outputDirectory = out.path
        let item = try InputDiscovery.expand(Paths.data.appendingPathComponent("int16.npy.gz").path)[0]
        let report = ExpPipeline(c).process(item)
        #expect(report.status == .done)
        #expect(report.inputDType?.name == "int16")
        #expect(report.outputDType?.name == "float32")
        #expect(report.shape == [11, 13])
        let digest = try Checksums.sha256(ofFile: report.outputPath!)
        #expect(report.outputSHA256 == digest)
    }

    @Test func failureNamesTheInput() throws {
        let dir = try scratchDirectory("fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.npy.gz")
        try Data([0x1f, 0x8b, 8, 0, 0, 0]).write(to: path)
        let report = ExpPipeline(ExpConfiguration()).process(try InputDiscovery.expand(path.path)[0])
        #expect(report.error?.path == path.path)
        #expect(report.error?.message.contains("truncated gzip stream") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.exp.npy.gz").path))
    }
}
