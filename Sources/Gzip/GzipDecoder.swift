// Gzip: streaming decoder for any gzip input, one member or many concatenated (gzip -c a b, pigz, bgzip, our
// block format). The gzip framing is parsed here, the same for both inflate libraries: magic, header (with zlib's
// own wording for header faults), the raw deflate body (RawInflater: ISA-L or zlib), and the trailer, whose CRC32
// and ISIZE are checked here against what the body produced. Going on after a member ends, and telling "not gzip",
// truncation and trailing garbage apart, is this file's too. Relies on GzipHeaderParser, RawInflater and CRC32.
//
// Policy (documented for the CLI): an empty input is `.truncated` (detail "empty input"); any byte after a
// complete member that does not begin the gzip magic 1f 8b is `.trailingGarbage`, zero padding included
// (gzip 1.12 silently skips trailing zero bytes and only warns, exit 2, on other garbage; we refuse both, since
// a checksummed pipeline must not guess what extra bytes mean); a lone 1f at the very end is a member that was
// cut off, so `.truncated`.
//
// Same verdict on both libraries: ISA-L names fewer deflate faults than zlib, and accepts some that zlib refuses
// (an incomplete literal/length code, for one: ISA-L then inflates garbage and the CRC check fails). On ISA-L the
// decoder keeps a copy of the first `replayCapacity` compressed bytes of each member's deflate data; when that
// member fails (bad data, CRC or ISIZE), the copy is inflated again with zlib and zlib's fault, if it finds one,
// is the one reported. Members longer than that (a large single-member .gz) report ISA-L's own verdict for faults
// found past the copy: still `corrupt deflate data` or a checksum error, in coarser words.

/// Streaming gzip decoder for any gzip input: one or many concatenated members (gzip -c a b, pigz, bgzip).
/// Memory stays bounded (one inflate state and one 256 KiB output buffer) whatever the input size or feed size.
public final class GzipDecoder {
    private enum State {
        /// Between members (or at the start): `matched` bytes of the magic 1f 8b seen so far.
        case magic(matched: Int)
        /// In the member header after the magic.
        case header(GzipHeaderParser)
        /// In the deflate data; the inflater owns the parsing.
        case body
        /// In the 8-byte trailer: `count` bytes of it so far, little-endian in `value`.
        case trailer(value: UInt64, count: Int)
        /// ISA-L found `fault` in the body, and zlib, replaying the same bytes, needs more input to judge them:
        /// the rest of the member goes to zlib alone; its fault, or `fault` if it finds none, is the verdict.
        case judging(fault: GzipError, zlib: RawInflater)
        case finished
        case failed(any Error)
    }

    private static let outputCapacity = 256 * 1024
    /// Deflate bytes of each member kept for a zlib replay of a fault found by ISA-L (see the file comment).
    static let replayCapacity = 1 << 20
    private static let magic: (UInt8, UInt8) = (0x1f, 0x8b)

    private let inflater: RawInflater?
    private let output: UnsafeMutableRawBufferPointer
    private var state: State
    /// Bytes the current member's body produced, modulo 2^32 (what ISIZE holds).
    private var memberSize: UInt32 = 0
    /// ISA-L only: the current member's first deflate bytes, for a zlib replay; `replayCount` of them are valid,
    /// `replayComplete` while no byte of the member's deflate data was left out.
    private let replay: UnsafeMutableRawBufferPointer?
    private var replayCount = 0
    private var replayComplete = true

    /// Members whose trailer (CRC32, ISIZE) has been checked.
    public private(set) var membersDecoded = 0
    /// Compressed bytes consumed so far; on an error, about where the fault is.
    public private(set) var compressedBytesRead = 0

    /// A decoder on the library `Inflater.selected()` names; when NPYEXP_INFLATE asks for one that cannot be used,
    /// every call throws that `InflaterSelectionError`.
    public convenience init() {
        switch Inflater.selection {
        case .success(let backend): self.init(backend: backend)
        case .failure(let error): self.init(failure: error)
        }
    }

    /// A decoder on `backend`, which must be available (`InflateBackend.isAvailable`); otherwise traps.
    public init(backend: InflateBackend) {
        inflater = RawInflater(backend: backend)
        output = .allocate(byteCount: Self.outputCapacity, alignment: 64)
        replay = backend == .zlib ? nil : .allocate(byteCount: Self.replayCapacity, alignment: 64)
        state = .magic(matched: 0)
    }

    private init(failure: any Error) {
        inflater = nil
        output = .allocate(byteCount: 0, alignment: 64)
        replay = nil
        state = .failed(failure)
    }

    deinit {
        output.deallocate()
        replay?.deallocate()
    }

    /// The library this decoder inflates with (nil when the selection failed).
    public var backend: InflateBackend? { inflater?.backend }

    /// Feeds compressed bytes; calls sink with decompressed bytes (valid only during the call) as they come.
    /// After an error, every later call throws the same error again.
    public func write(_ input: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try write(input, room: { output }, deliver: sink)
    }

    /// Feeds compressed bytes, inflating them straight into the caller's memory: each part goes into what `room()`
    /// gives at that moment (at least one byte), and `deliver` then gets that part, at the start of that memory, so
    /// the caller can count it as filled. No copy is made. Errors as in `write(_:to:)`.
    public func write(_ input: UnsafeRawBufferPointer, room: () throws -> UnsafeMutableRawBufferPointer,
                      deliver: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch state {
        case .finished: preconditionFailure("GzipDecoder.write after finish()")
        case .failed(let error): throw error
        default: break
        }
        do {
            try consume(input, room, deliver)
        } catch {
            let verdict = zlibVerdict(on: error)
            state = .failed(verdict)
            throw verdict
        }
    }

    /// For a checksum fault of a member that ISA-L inflated: zlib's fault on the same deflate bytes when it finds
    /// one (see the file comment), otherwise `error` unchanged. (Faults inside the body are judged in `consume`.)
    private func zlibVerdict(on error: any Error) -> any Error {
        guard let replay, replayComplete, let fault = error as? GzipError,
              [.crcMismatch, .lengthMismatch].contains(fault.kind) else { return error }
        guard case .trailer = state else { return error }
        do {
            _ = try RawInflater(backend: .zlib).inflate(UnsafeRawBufferPointer(rebasing: replay[0..<replayCount]),
                                                        through: output) { _ in }
        } catch let zlibFault {
            return zlibFault
        }
        return error
    }

    /// End of input: throws .truncated when a member is unfinished or the input was empty.
    public func finish() throws {
        switch state {
        case .finished: preconditionFailure("GzipDecoder.finish() called twice")
        case .failed(let error): throw error
        case .magic(matched: 0) where membersDecoded > 0:
            state = .finished
        case .magic(matched: 0):
            let error = GzipError(.truncated, detail: "empty input")
            state = .failed(error)
            throw error
        case .magic, .header, .body, .trailer, .judging:
            let error = GzipError(.truncated,
                                  detail: "member \(membersDecoded + 1) unfinished after \(compressedBytesRead) bytes")
            state = .failed(error)
            throw error
        }
    }

    private func consume(_ input: UnsafeRawBufferPointer, _ room: () throws -> UnsafeMutableRawBufferPointer,
                         _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard var cursor = input.baseAddress, let inflater else { return }
        let end = cursor + input.count
        while cursor < end {
            switch state {
            case .magic(let matched):
                let expected = matched == 0 ? Self.magic.0 : Self.magic.1
                let byte = cursor.load(as: UInt8.self)
                guard byte == expected else {
                    let offset = compressedBytesRead
                    if membersDecoded == 0 {
                        throw GzipError(.notGzip, detail: "byte \(offset) is 0x\(String(byte, radix: 16)), not gzip magic")
                    }
                    throw GzipError(.trailingGarbage,
                                    detail: "at byte \(offset - matched), after \(membersDecoded) member(s)")
                }
                cursor += 1
                compressedBytesRead += 1
                if matched == 0 {
                    state = .magic(matched: 1)
                } else {
                    state = .header(GzipHeaderParser())
                }
            case .header(var parser):
                let used = try parser.parse(UnsafeRawBufferPointer(start: cursor, count: end - cursor))
                cursor += used
                compressedBytesRead += used
                if parser.isComplete {
                    if membersDecoded > 0 { inflater.reset() }
                    memberSize = 0
                    replayCount = 0
                    replayComplete = true
                    state = .body
                } else {
                    state = .header(parser)
                }
            case .body:
                if let replay, replayComplete {
                    // Bytes past the end of the deflate data may be copied too: zlib stops at the end.
                    let count = min(end - cursor, replay.count - replayCount)
                    (replay.baseAddress! + replayCount).copyMemory(from: cursor, byteCount: count)
                    replayCount += count
                    replayComplete = count == end - cursor
                }
                let used: Int, ended: Bool
                do {
                    (used, ended) = try inflater.inflate(UnsafeRawBufferPointer(start: cursor, count: end - cursor),
                                                         room: room) { part in
                        memberSize &+= UInt32(truncatingIfNeeded: part.count)
                        try sink(part)
                    }
                } catch let fault as GzipError where replay != nil && replayComplete {
                    // zlib's fault, if it finds one in the same bytes, is thrown from here.
                    let zlib = RawInflater(backend: .zlib)
                    let replayed = try zlib.inflate(UnsafeRawBufferPointer(rebasing: replay![0..<replayCount]),
                                                    through: output) { _ in }
                    if replayed.ended { throw fault }
                    compressedBytesRead += end - cursor
                    state = .judging(fault: fault, zlib: zlib)
                    return
                }
                cursor += used
                compressedBytesRead += used
                if ended {
                    state = .trailer(value: 0, count: 0)
                    // ISA-L may have read into the trailer (or past it): those bytes are parsed next, as if unread.
                    var readAhead = inflater.takeReadAhead()
                    compressedBytesRead -= readAhead.count
                    try withUnsafeBytes(of: &readAhead.bytes) {
                        try consume(UnsafeRawBufferPointer(rebasing: $0[0..<readAhead.count]), room, sink)
                    }
                }
            case .trailer(var value, var count):
                while count < 8 && cursor < end {
                    value |= UInt64(cursor.load(as: UInt8.self)) << (8 * count)
                    cursor += 1
                    compressedBytesRead += 1
                    count += 1
                    // The CRC is checked as soon as it is complete (as zlib does), before ISIZE is read.
                    if count == 4 || count == 8 { try checkTrailer(value, count) }
                }
                state = count == 8 ? .magic(matched: 0) : .trailer(value: value, count: count)
                if count == 8 { membersDecoded += 1 }
            case .judging(let fault, let zlib):
                let (used, ended) = try zlib.inflate(UnsafeRawBufferPointer(start: cursor, count: end - cursor),
                                                     through: output) { _ in }
                cursor += used
                compressedBytesRead += used
                if ended { throw fault }
            case .finished, .failed:
                preconditionFailure("unreachable decoder state")
            }
        }
    }

    /// Checks the trailer's CRC32 (after its first 4 bytes) or ISIZE (after all 8) against the member's output.
    private func checkTrailer(_ value: UInt64, _ count: Int) throws {
        let position = "member \(membersDecoded + 1), ending at byte \(compressedBytesRead)"
        if count == 4, UInt32(truncatingIfNeeded: value) != inflater!.crc {
            throw GzipError(.crcMismatch, detail: position)
        }
        if count == 8, UInt32(truncatingIfNeeded: value >> 32) != memberSize {
            throw GzipError(.lengthMismatch, detail: position)
        }
    }
}
