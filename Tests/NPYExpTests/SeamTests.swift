// Unit tests at the seams the subprocess tests reach only by chance: the read-ahead hand-off cancelled at every
// point from either side (under a time limit, so a deadlock fails instead of hanging), the commit group with failing
// syncs, blocked renames and flushes past its batch size, the lossless name encoding, the sidecar line format
// against coreutils, and the transform's two routes (results written in place or gathered first) against each other
// however the input is cut. Relies on `@testable import NPYExp`, coreutils (sha256sum) and Foundation.
import Foundation
import NPYFormat
import Testing

@testable import NPYExp

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on another thread and fails the test if it has not returned within `seconds` (a deadlock).
func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        body()
        done.signal()
    }
    return done.wait(timeout: .now() + seconds) == .success
}

struct ProducerFailure: Error {}

@Suite struct HandoffTests {
    /// A producer of `chunks` chunks (failing at `failAt` if set) against a consumer that cancels after `cancelAfter`
    /// chunks (if set): every combination ends, every buffer handed out is accounted for, no trap.
    @Test(arguments: [nil, 0, 1, 2, 3, 5, 8] as [Int?], [nil, 0, 1, 4, 7] as [Int?])
    func cancelAtEveryPoint(cancelAfter: Int?, failAt: Int?) {
        let ok = finishes(within: 20) {
            let chunks = 8
            let pipe = ChunkPipe(depth: 2, chunkBytes: 64)
            let producer = WorkerThread {
                for i in 0..<chunks {
                    if i == failAt {
                        pipe.finish(error: ProducerFailure())
                        return
                    }
                    guard let (slot, buffer) = pipe.acquire() else { return }  // cancelled
                    buffer.base.storeBytes(of: UInt8(i), as: UInt8.self)
                    pipe.publish(slot: slot, count: 1)
                }
                pipe.finish(error: nil)
            }
            var seen: [UInt8] = []
            do {
                while let (slot, bytes) = try pipe.next() {
                    seen.append(bytes[0])
                    pipe.release(slot: slot)
                    if seen.count == cancelAfter {
                        pipe.cancel()
                        break
                    }
                }
            } catch {
                #expect(error is ProducerFailure)
                #expect(failAt != nil)
            }
            pipe.cancel()
            producer.join()
            // Chunks arrive in order, none twice.
            #expect(seen == (0..<UInt8(seen.count)).map { $0 })
            if cancelAfter == nil && failAt == nil { #expect(seen.count == chunks) }
        }
        #expect(ok, "the hand-off did not finish: deadlock")
    }

    /// The consumer gives up while the producer is blocked on a full pipe, and while it is blocked waiting.
    @Test func cancelWakesBlockedSides() {
        #expect(finishes(within: 10) {
            let pipe = ChunkPipe(depth: 1, chunkBytes: 8)
            let producer = WorkerThread {
                while let (slot, _) = pipe.acquire() { pipe.publish(slot: slot, count: 8) }
            }
            usleep(20_000)  // the producer now waits for a free buffer
            pipe.cancel()
            producer.join()
        })
        #expect(finishes(within: 10) {
            let pipe = ChunkPipe(depth: 2, chunkBytes: 8)
            let consumer = WorkerThread { _ = try? pipe.next() }
            usleep(20_000)  // the consumer now waits for a chunk
            pipe.cancel()
            consumer.join()
        })
    }
}

@Suite(.serialized) struct CommitGroupTests {
    /// A staged output with `text` as content, in `dir`.
    func stage(_ dir: URL, _ name: String, _ text: String = "data") throws -> (StagedOutput, FileReport) {
        let output = try OutputFile(finalPath: dir.appendingPathComponent(name).path)
        try Array(text.utf8).withUnsafeBytes { try output.write($0) }
        try output.writeSidecar(provenance: nil)
        let report = FileReport(input: InputItem(file: name), status: .done)
        return (output.stage()!, report)
    }

    func entry(_ dir: URL, _ name: String) throws -> CommitGroup.Entry {
        let (staged, report) = try stage(dir, name)
        var r = report
        r.outputPath = dir.appendingPathComponent(name).path
        return CommitGroup.Entry(staged: staged, report: r, input: NSObject())
    }

    @Test func flushesPastTheBatchSizeAndEveryOutputVerifies() throws {
        let dir = try scratchDirectory("group")
        defer { try? FileManager.default.removeItem(at: dir) }
        let syncs = SyncCounter()
        let group = CommitGroup(batchFiles: 4, sync: { _ in syncs.add(); return 0 })
        var final: [FileReport] = []
        for i in 0..<10 { final += group.add(try entry(dir, "f\(i).npy")) }
        #expect(final.count == 8)  // two full batches flushed on the way
        final += group.flush()
        #expect(final.count == 10 && final.allSatisfy { $0.error == nil })
        #expect(syncs.count == 6)  // two per flush: data, then renames
        for i in 0..<10 {
            #expect(try coreutilsChecksumOK(sidecar: dir.appendingPathComponent("f\(i).npy.sha256")))
        }
        #expect(temporaries(in: dir).isEmpty)
    }

    @Test(arguments: [1, 2])
    func aFailedSyncFailsTheGroupAndIsNeverRetried(failing call: Int) throws {
        let dir = try scratchDirectory("group-sync")
        defer { try? FileManager.default.removeItem(at: dir) }
        let syncs = SyncCounter()
        let group = CommitGroup(batchFiles: 100, sync: { _ in
            syncs.add()
            if syncs.count == call {
                errno = EIO
                return -1
            }
            return 0
        })
        for i in 0..<3 { _ = group.add(try entry(dir, "f\(i).npy")) }
        let reports = group.flush()
        #expect(reports.allSatisfy { $0.error?.message == "syncfs failed: input/output error" }, "\(reports)")
        #expect(syncs.count == call)
        #expect(temporaries(in: dir).isEmpty)
        // Before the renames nothing is in place; after them the outputs stand, but the run reported failure.
        let inPlace = FileManager.default.fileExists(atPath: dir.appendingPathComponent("f0.npy").path)
        #expect(inPlace == (call == 2))
    }

    @Test(arguments: ["f1.npy", "f1.npy.sha256"])
    func aBlockedRenameFailsThatOutputOnlyAndNeverLeavesItWithoutItsSidecar(blocked: String) throws {
        let dir = try scratchDirectory("group-rename")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A non-empty directory where the output (or its sidecar) must go: rename(2) fails there.
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent(blocked).appendingPathComponent("x"), withIntermediateDirectories: true)
        let group = CommitGroup(batchFiles: 100, sync: { _ in 0 })
        for i in 0..<3 { _ = group.add(try entry(dir, "f\(i).npy")) }
        let reports = group.flush()
        #expect(reports.filter { $0.error != nil }.count == 1)
        #expect(reports[1].error?.message.contains("cannot move into place") == true, "\(reports)")
        for i in [0, 2] { #expect(try coreutilsChecksumOK(sidecar: dir.appendingPathComponent("f\(i).npy.sha256"))) }
        // f1: no output stands without its sidecar.
        var isDir: ObjCBool = false
        let outputThere = FileManager.default.fileExists(atPath: dir.appendingPathComponent("f1.npy").path, isDirectory: &isDir)
        #expect(!outputThere || isDir.boolValue)
        #expect(temporaries(in: dir).isEmpty)
    }
}

/// Counts calls from the commit group's sync seam.
final class SyncCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var count: Int { lock.withLock { n } }
}

@Suite struct NameTests {
    @Test func bytesSurviveTheStringRoundTrip() {
        var rng = SeededGenerator(seed: 42)
        for _ in 0..<5000 {
            let length = Int.random(in: 0...24, using: &rng)
            // Bias towards the awkward bytes: high bytes, UTF-8 lead bytes, and the escape range's own encoding.
            let alphabet: [UInt8] = [0x41, 0x2f, 0x5c, 0x0a, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf4, 0x8f, 0xbe, 0xff]
            let bytes = (0..<length).map { _ in
                Bool.random(using: &rng) ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 1...255, using: &rng)
            }
            let text = FileSystem.string(fromBytes: bytes)
            #expect(FileSystem.bytes(of: text) == bytes, "\(bytes)")
        }
        #expect(FileSystem.string(fromBytes: Array("café/x.npy".utf8)) == "café/x.npy")
    }

    /// Sidecar lines for awkward names: written as coreutils writes them, read back by sha256sum -c and by npyexp.
    @Test(arguments: ["plain.npy", "new\nline.npy", "back\\slash.npy", "both\\\n.npy", "cr\r.npy", "sp ace.npy"])
    func sidecarLinesAreCoreutilsLines(name: String) throws {
        let dir = try scratchDirectory("names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent(name)
        try Data("payload".utf8).write(to: file)
        let digest = try Checksums.sha256(ofFile: file.path)
        let line = Checksums.line(digest: digest, name: name)
        // coreutils writes the same line for the same file.
        let theirs = try run("/usr/bin/env", ["sha256sum", "--", name], in: dir)
        #expect(String(decoding: theirs.stdout, as: UTF8.self) == line)
        try Data(line.utf8).write(to: dir.appendingPathComponent("S"))
        #expect(try run("/usr/bin/env", ["sha256sum", "-c", "--strict", "S"], in: dir).status == 0)
        #expect(Checksums.recordedDigest(in: line, name: name) == digest)
    }
}

/// A payload sink that collects what it is given; with `room` bytes of its own it also takes results in place
/// (`reserve`), as a compressed payload's batch buffer does, else every byte arrives through `write`.
private final class CollectingSink: PayloadSink {
    private(set) var bytes: [UInt8] = []
    private let buffer: UnsafeMutableRawBufferPointer?
    private(set) var reserved = 0
    init(room: Int?) { buffer = room.map { .allocate(byteCount: $0, alignment: 64) } }
    deinit { buffer?.deallocate() }
    func write(_ piece: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: piece) }
    func finish() throws {}
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer? {
        guard let buffer else { return nil }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(count, buffer.count)])
    }
    func commitReserved(_ count: Int) throws {
        bytes.append(contentsOf: buffer![0..<count])
        reserved += count
    }
}

@Suite struct TransformRouteTests {
    /// The transform's output is the same whether elements go straight into the sink's buffer or are gathered
    /// first, however the input is cut: pieces of 1 byte to several chunks, rooms that end inside an element, and
    /// every conversion kind. Both are compared with a run through a sink without a buffer of its own (the
    /// gathering route alone), and the direct route must have been taken.
    @Test(arguments: [NPYDType.float32, .float64, .float16, .complex64, .int16,
                      NPYDType(kind: .float, itemSize: 4, byteOrder: .big)])
    func directAndGatheredRoutesAgree(dtype: NPYDType) throws {
        let count = 100_003
        var data = [UInt8](repeating: 0, count: count * dtype.itemSize)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in data.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            data[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
        if dtype.kind == .float {
            // Moderate exponents, so that most results are finite and differ.
            let step = dtype.itemSize
            for i in stride(from: step - 1, to: data.count, by: step) { data[dtype.byteOrder == .big ? i - step + 1 : i] &= 0x3f }
        }
        let input = NPYHeader(dtype: dtype, fortranOrder: false, shape: [count]).encoded() + data

        func run(room: Int?, cuts: [Int]) throws -> (bytes: [UInt8], reserved: Int) {
            let sink = CollectingSink(room: room)
            let transform = ExpTransform(requested: nil, jobs: 2, chunkBytes: 3 * 4096 + 64, sink: sink)
            try input.withUnsafeBytes { all in
                var offset = 0, next = 0
                while offset < all.count {
                    let take = min(cuts[next % cuts.count], all.count - offset)
                    try transform.consume(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + take)]))
                    offset += take
                    next += 1
                }
            }
            try transform.finish()
            return (sink.bytes, sink.reserved)
        }
        let reference = try run(room: nil, cuts: [input.count])
        #expect(reference.reserved == 0)
        #expect(reference.bytes.count > count)
        for (room, cuts) in [(1 << 20, [input.count]), (4096 + 12, [1, 4093, 70_001, 3]), (1 << 16, [128, 65_536, 17]),
                             (7, [5_000]), (1 << 20, [1])] {
            let result = try run(room: room, cuts: cuts)
            #expect(result.bytes == reference.bytes, "room \(room), cuts \(cuts)")
            if room >= 2 * 8 && cuts != [1] { #expect(result.reserved > 0, "room \(room), cuts \(cuts)") }
        }
    }
}
