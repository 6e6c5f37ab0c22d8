// Reader: the first stage. Reads an input in fixed-size pieces, recognises gzip by its magic bytes and inflates it:
// npyexp's own block-framed gzip (every member's size in its FEXTRA field) on all cores, any other gzip serially
// through one streaming decoder that also follows concatenated members; on the overlapped path that decoder inflates
// straight into the read-ahead pipe's chunks (`InPlaceOutput`), not into a buffer of its own to be copied from.
// Memory is a few fixed buffers.
// Relies on Gzip (zlib) and Parallel (all cores).
import Gzip

/// How an input's bytes are packed.
public enum Container: String, Sendable {
    /// An .npy file.
    case plain
    /// A gzip stream (.npy.gz).
    case gzip
    /// A zip archive of .npy members (.npz).
    case zip

    /// What an input's first two bytes show: gzip's magic 1f 8b, zip's "PK" (a member or an empty archive's end
    /// record), otherwise plain (NPY or not, its parser says).
    static func recognise(_ a: UInt8, _ b: UInt8) -> Container {
        if a == 0x1f && b == 0x8b { return .gzip }
        if a == 0x50 && b == 0x4b { return .zip }
        return .plain
    }
}

final class InputReader {
    let file: InputFile
    private let jobs: Int
    private let buffer: AlignedBuffer
    private var pending = 0  // bytes read by detect() and not yet handed on
    private(set) var container: Container = .plain
    /// Bytes of the input file read so far (compressed, for gzip).
    var compressedBytes: Int { file.bytesRead }
    private(set) var parallelBlocks = 0

    /// Largest batch of compressed members inflated at once, and its uncompressed room.
    private let batchBytes: Int

    init(file: InputFile, jobs: Int, readSize: Int = 1 << 20, batchBytes: Int = 4 << 20) {
        self.file = file
        self.jobs = max(1, jobs)
        self.batchBytes = max(batchBytes, readSize)
        buffer = AlignedBuffer(byteCount: readSize)
        readPieces = [buffer.bytes]
    }

    /// Where the serial path reads, in turn: the whole buffer, or its quarters once the input is hashed on another
    /// thread (the hash may then lag up to three reads behind without stopping the reads).
    private var readPieces: [UnsafeMutableRawBufferPointer]

    /// Reads the input's hash may lag behind on the overlapped path.
    static let hashLag = 4

    /// Hands the input's SHA-256 to a thread of its own (see `InputFile.hashOnAnotherThread`), the serial path then
    /// reading into the quarters of its buffer in turn, so that the hash of one read may lag three reads behind
    /// without stopping inflate: the same memory as one buffer.
    func useHashThread() {
        let size = buffer.count / Self.hashLag
        readPieces = (0..<Self.hashLag).map { UnsafeMutableRawBufferPointer(start: buffer.base + $0 * size, count: size) }
        file.hashOnAnotherThread(lag: Self.hashLag)
    }

    /// Reads the first bytes and decides between plain and gzip.
    func detect() throws -> Container {
        pending = try file.readFully(into: UnsafeMutableRawBufferPointer(start: buffer.base, count: 64 << 10))
        let b = buffer.bytes
        container = pending >= 2 ? Container.recognise(b[0], b[1]) : .plain
        return container
    }

    /// The bytes `detect()` read and nothing has consumed yet: the start of the input.
    var detectedPrefix: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer.base, count: pending) }

    /// Streams the whole decompressed input to `consumer`, then checks that the file did not change meanwhile.
    /// With `inPlace`, serial inflate writes straight into that memory instead of handing its output to `consumer`.
    func run(_ consumer: (UnsafeRawBufferPointer) throws -> Void, inPlace: InPlaceOutput? = nil) throws {
        switch container {
        case .plain:
            try runPlain(consumer)
        case .zip:
            preconditionFailure("a zip archive is read by ArchiveReader, member by member")
        case .gzip:
            let prefix = UnsafeRawBufferPointer(start: buffer.base, count: min(pending, 64))
            if (try? GzipBlocks.blockSizes(prefix)) ?? nil != nil {
                try runBlocks(consumer, inPlace: inPlace)
            } else {
                try runSerial(from: buffer, have: pending, consumer, inPlace: inPlace)
            }
        }
        try file.checkUnchanged()
    }

    /// Hands `have` bytes at the start of `from`, then the rest of the file in buffer-sized reads, to `sink`.
    private func forwardRest(
        from: AlignedBuffer, have: Int, to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var piece = UnsafeRawBufferPointer(start: from.base, count: have)
        var next = 0
        while !piece.isEmpty {
            try sink(piece)
            let target = readPieces[next]
            next = (next + 1) % readPieces.count
            piece = UnsafeRawBufferPointer(rebasing: target[..<(try file.read(into: target))])
        }
    }

    private func runPlain(_ consumer: (UnsafeRawBufferPointer) throws -> Void) throws {
        try forwardRest(from: buffer, have: pending, to: consumer)
    }

    /// Serial inflate of `have` bytes at the start of `from` and the rest of the file.
    private func runSerial(from: AlignedBuffer, have: Int, _ consumer: (UnsafeRawBufferPointer) throws -> Void,
                           inPlace: InPlaceOutput?) throws {
        let decoder = GzipDecoder()
        try forwardRest(from: from, have: have) { piece in
            if let inPlace {
                try decoder.write(piece, room: inPlace.room) { try inPlace.advance(by: $0.count) }
            } else {
                try decoder.write(piece, to: consumer)
            }
        }
        try decoder.finish()
    }

    /// Parallel inflate of block-framed members: reads a batch of whole members, inflates them on all cores into
    /// the next stage's memory (`inPlace`) or one output buffer, hands it on in order. Anything that is not a
    /// complete block member (a plain member appended later, truncation, garbage) goes to the serial decoder, which
    /// names the fault precisely.
    private func runBlocks(_ consumer: (UnsafeRawBufferPointer) throws -> Void, inPlace: InPlaceOutput?) throws {
        let output = AlignedBuffer(byteCount: batchBytes)
        // Whole members are inflated at once, so the compressed side needs room for a full batch.
        let compressed = AlignedBuffer(byteCount: batchBytes + (64 << 10))
        // The last piece read into `compressed` may still be hashed on the input's hash thread: wait for it before
        // the buffer is freed (found by ASan in the stream fuzzer: a use after free in SHA-256).
        defer { withExtendedLifetime(compressed) { file.settleHash() } }
        compressed.base.copyMemory(from: buffer.base, byteCount: pending)
        let buffer = compressed
        var have = pending
        var atEnd = false
        struct Member { var offset: Int; var size: Int; var outOffset: Int; var outSize: Int }
        var members: [Member] = []
        while true {
            if !atEnd && have < buffer.count {
                let n = try file.readFully(
                    into: UnsafeMutableRawBufferPointer(start: buffer.base + have, count: buffer.count - have))
                have += n
                atEnd = have < buffer.count
            }
            // Where this batch is inflated: straight into the next stage's memory, or into `output`, handed on after.
            let room = try inPlace.flatMap { try roomForMembers(at: buffer.base, have, in: $0) }
            let target = room ?? output.bytes
            members.removeAll(keepingCapacity: true)
            var pos = 0
            var outTotal = 0
            var fallBack = false
            while pos < have {
                let prefix = UnsafeRawBufferPointer(start: buffer.base + pos, count: min(64, have - pos))
                guard let sizes = try? GzipBlocks.blockSizes(prefix) else { fallBack = true; break }
                if sizes.member > batchBytes || sizes.uncompressed > batchBytes { fallBack = true; break }
                if pos + sizes.member > have || outTotal + sizes.uncompressed > target.count { break }
                members.append(Member(offset: pos, size: sizes.member, outOffset: outTotal, outSize: sizes.uncompressed))
                pos += sizes.member
                outTotal += sizes.uncompressed
            }
            if members.isEmpty && (fallBack || atEnd) {
                if have == 0 { return }
                // Not (or no longer) block members: the serial decoder reads the rest and reports what is wrong;
                // bytes that do not even start a gzip member after complete members are trailing garbage.
                let b = buffer.bytes
                if parallelBlocks > 0 && (b[0] != 0x1f || (have > 1 && b[1] != 0x8b)) {
                    throw GzipError(.trailingGarbage, detail: "\(have) bytes after \(parallelBlocks) members")
                }
                try runSerial(from: buffer, have: have, consumer, inPlace: inPlace)
                return
            }
            try inflate(members.map { ($0.offset, $0.size, $0.outOffset, $0.outSize) }, from: buffer, into: target)
            parallelBlocks += members.count
            if room != nil {
                try inPlace!.advance(by: outTotal)
            } else {
                try consumer(UnsafeRawBufferPointer(start: output.base, count: outTotal))
            }
            // Keep the unparsed tail for the next round (once the hash of what was read is done with those bytes).
            file.settleHash()
            if pos < have {
                buffer.base.copyMemory(from: buffer.base + pos, byteCount: have - pos)
            }
            have -= pos
            if atEnd && have == 0 { return }
        }
    }

    /// The memory of `inPlace` that members starting at `start` (`have` bytes read) can be inflated into: its room
    /// when that holds the first member, after handing on a chunk whose room left is too small; nil when no chunk
    /// holds one (or `start` is not a block member).
    private func roomForMembers(at start: UnsafeMutableRawPointer, _ have: Int, in inPlace: InPlaceOutput) throws
        -> UnsafeMutableRawBufferPointer?
    {
        guard let sizes = (try? GzipBlocks.blockSizes(UnsafeRawBufferPointer(start: start, count: min(64, have)))) ?? nil,
            sizes.uncompressed > 0
        else { return nil }
        var room = try inPlace.room()
        if room.count < sizes.uncompressed {
            inPlace.endChunk()
            room = try inPlace.room()
        }
        return room.count >= sizes.uncompressed ? room : nil
    }

    private func inflate(_ members: [(Int, Int, Int, Int)], from buffer: AlignedBuffer,
                         into output: UnsafeMutableRawBufferPointer) throws {
        let input = SharedPointer(raw: buffer.base)
        let out = SharedPointer(raw: output.baseAddress!)
        _ = try Parallel.mapThrowing(members.count, jobs: jobs) { i in
            let (offset, size, outOffset, outSize) = members[i]
            let n = try GzipBlocks.decompressMember(
                UnsafeRawBufferPointer(start: input.raw + offset, count: size),
                into: UnsafeMutableRawBufferPointer(start: out.raw + outOffset, count: outSize))
            // A member whose FEXTRA sizes lie about its content (its own ISIZE may still match what it holds).
            if n != outSize { throw BlockSizeMismatch(declared: outSize, actual: n) }
        }
    }
}

/// Memory of the next stage's (a pipe's chunk) that serial inflate fills in place, so its output is not copied.
protocol InPlaceOutput: AnyObject {
    /// The memory the next inflated bytes go to (at least one byte).
    func room() throws -> UnsafeMutableRawBufferPointer
    /// The first `count` bytes of the last `room()` now hold inflated bytes.
    func advance(by count: Int) throws
    /// Hands on what has been written so far, so that the next `room()` is a whole new chunk.
    func endChunk()
}

/// A block member whose inflated size differs from the size its header declares.
struct BlockSizeMismatch: Error, CustomStringConvertible {
    var declared: Int
    var actual: Int
    var description: String { "gzip length mismatch (block declares \(declared) bytes, holds \(actual))" }
}
