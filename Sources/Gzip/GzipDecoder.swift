// Gzip: streaming decoder for any gzip input, one member or many concatenated (gzip -c a b, pigz, bgzip, our
// block format). Relies on zlib's gzip mode (inflateInit2 with windowBits 31), which parses the header and checks
// each member's CRC32 and ISIZE; this file adds what zlib leaves to the caller: going on after a member ends,
// and telling "not gzip", truncation and trailing garbage apart.
//
// Policy (documented for the CLI): an empty input is `.truncated` (detail "empty input"); any byte after a
// complete member that does not begin the gzip magic 1f 8b is `.trailingGarbage`, zero padding included
// (gzip 1.12 silently skips trailing zero bytes and only warns, exit 2, on other garbage; we refuse both, since
// a checksummed pipeline must not guess what extra bytes mean); a lone 1f at the very end is a member that was
// cut off, so `.truncated`.
import CZlib

/// Streaming gzip decoder for any gzip input: one or many concatenated members (gzip -c a b, pigz, bgzip).
/// Memory stays bounded (one zlib state and one 256 KiB output buffer) whatever the input size or feed size.
public final class GzipDecoder {
    private enum State {
        /// Between members (or at the start): `matched` bytes of the magic 1f 8b seen so far.
        case magic(matched: Int)
        /// Inside a member; zlib owns the parsing.
        case member
        case finished
        case failed(any Error)
    }

    private static let outputCapacity = 256 * 1024
    private static let magic: (UInt8, UInt8) = (0x1f, 0x8b)

    private let stream = ZStream(inflateWindowBits: 15 + 16)
    /// zlib writes header progress here (done: 0 reading, 1 complete); heap-allocated because zlib keeps its address.
    private let header: UnsafeMutablePointer<gz_header>
    private let output: UnsafeMutableRawBufferPointer
    private var state = State.magic(matched: 0)

    /// Members whose trailer (CRC32, ISIZE) has been checked.
    public private(set) var membersDecoded = 0
    /// Compressed bytes consumed so far; on an error, about where the fault is.
    public private(set) var compressedBytesRead = 0

    public init() {
        header = .allocate(capacity: 1)
        header.initialize(to: gz_header())
        output = .allocate(byteCount: Self.outputCapacity, alignment: 64)
    }

    deinit {
        header.deinitialize(count: 1)
        header.deallocate()
        output.deallocate()
    }

    /// Feeds compressed bytes; calls sink with decompressed bytes (valid only during the call) as they come.
    /// After an error, every later call throws the same error again.
    public func write(_ input: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch state {
        case .finished: preconditionFailure("GzipDecoder.write after finish()")
        case .failed(let error): throw error
        default: break
        }
        do {
            try consume(input, sink)
        } catch {
            state = .failed(error)
            throw error
        }
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
        case .magic, .member:
            let error = GzipError(.truncated,
                                  detail: "member \(membersDecoded + 1) unfinished after \(compressedBytesRead) bytes")
            state = .failed(error)
            throw error
        }
    }

    private func consume(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard var cursor = input.baseAddress else { return }
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
                    try startMember()
                }
            case .member:
                let count = min(end - cursor, Int(UInt32.max))
                let used = try inflateMember(UnsafeRawBufferPointer(start: cursor, count: count), sink)
                cursor += used
            case .finished, .failed:
                preconditionFailure("unreachable decoder state")
            }
        }
    }

    /// Resets zlib for a new member and hands it the two magic bytes we already checked, so that a member
    /// split anywhere across writes (even between 1f and 8b) parses the same.
    private func startMember() throws {
        let z = stream.pointer
        if membersDecoded > 0 { _ = try mapZlibReturn(inflateReset(z), z, .rawInflate) }
        header.pointee = gz_header()
        _ = try mapZlibReturn(inflateGetHeader(z, header), z, .rawInflate)
        state = .member
        var magicBytes = Self.magic
        try withUnsafeMutableBytes(of: &magicBytes) { bytes in
            z.pointee.next_in = bytes.baseAddress!.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_in = 2
            z.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(output.count)
            let code = inflate(z, Z_NO_FLUSH)
            _ = try mapZlibReturn(code, z, .gzipInflate(headerDone: false, position: ""))
            precondition(z.pointee.avail_in == 0 && z.pointee.avail_out == UInt32(output.count))
            z.pointee.next_in = nil
        }
    }

    /// Inflates from `input` until it is used up or the member ends; returns the bytes consumed.
    private func inflateMember(_ input: UnsafeRawBufferPointer,
                               _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let z = stream.pointer
        // zlib's next_in is not const-qualified in this build (z_const is empty) but inflate never writes input.
        z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        z.pointee.avail_in = UInt32(input.count)
        defer { z.pointee.next_in = nil; z.pointee.next_out = nil }
        while true {
            z.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(output.count)
            let availBefore = Int(z.pointee.avail_in)
            let code = inflate(z, Z_NO_FLUSH)
            compressedBytesRead += availBefore - Int(z.pointee.avail_in)
            let produced = output.count - Int(z.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            let context = ZContext.gzipInflate(
                headerDone: header.pointee.done == 1,
                position: "member \(membersDecoded + 1), ending at byte \(compressedBytesRead)")
            switch try mapZlibReturn(code, z, context) {
            case .streamEnd:
                membersDecoded += 1
                state = .magic(matched: 0)
                return input.count - Int(z.pointee.avail_in)
            case .needMore:
                return input.count - Int(z.pointee.avail_in)
            case .ok:
                // A full output buffer may hide more pending output even when the input is used up.
                if z.pointee.avail_in == 0 && z.pointee.avail_out != 0 { return input.count }
            }
        }
    }
}
