// Archive: reads a zip archive (.npz) as one stream, member by member, in bounded memory: each local header, then
// the member's data (stored bytes, or raw deflate inflated by ISA-L or zlib) handed on in pieces, then its data
// descriptor; each member's CRC-32 and sizes checked; at the end the central directory, read from the same stream
// (so the input's SHA-256 covers every byte), checked against what the members were. A regular file's directory is
// also read ahead with pread: it is the only way to delimit a stored member whose sizes follow its data; from a pipe
// such a member is refused. Relies on ZipRecords, Gzip (RawDeflateDecoder, CRC32) and InputFile.
import Gzip

/// The input's bytes in order through a window that can step back a few bytes (what ISA-L read past a deflate end).
final class ByteWindow {
    private let source: (UnsafeMutableRawBufferPointer) throws -> Int
    private let buffer: AlignedBuffer
    private var start = 0, end = 0
    /// Bytes kept before `start` when the window moves on.
    private static let history = 16
    /// Whether the input has ended (no byte after `end`).
    private(set) var atEnd = false
    /// File offset of the first available byte.
    private(set) var offset = 0

    /// The window over the bytes `source` reads (0 at the end), after `prefix` (read already).
    init(prefix: UnsafeRawBufferPointer, capacity: Int = 1 << 20,
         source: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.source = source
        buffer = AlignedBuffer(byteCount: max(capacity, prefix.count + Self.history + 4096))
        if let base = prefix.baseAddress { buffer.base.copyMemory(from: base, byteCount: prefix.count) }
        end = prefix.count
    }

    /// The largest record `fill` can make available at once.
    var capacity: Int { buffer.count - Self.history }

    /// The bytes available now (at least one unless the input has ended, after `fill(1)`).
    var available: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer.base + start, count: end - start) }

    /// Moves past `n` bytes; a negative `n` (at least -8) steps back over bytes already passed.
    func advance(_ n: Int) {
        precondition(start + n >= 0 && start + n <= end, "window moved outside its bytes")
        start += n
        offset += n
    }

    /// Makes at least `n` bytes (at most `capacity`) available; false when the input ends first.
    func fill(_ n: Int) throws -> Bool {
        precondition(n <= capacity, "record larger than the window")
        while end - start < n && !atEnd { try refill() }
        return end - start >= n
    }

    /// Reads more of the input after the available bytes (keeping a few passed bytes to step back over).
    private func refill() throws {
        let keep = max(0, start - Self.history)
        if keep > 0 {
            buffer.base.copyMemory(from: buffer.base + keep, byteCount: end - keep)
            start -= keep
            end -= keep
        }
        let n = try source(UnsafeMutableRawBufferPointer(start: buffer.base + end, count: buffer.count - end))
        if n == 0 { atEnd = true }
        end += n
    }
}

/// Reads an archive's members in order. Call `nextMember()`, then `readMember(_:)` for it, until `nextMember()`
/// returns nil; then `finish()`.
final class ArchiveReader {
    /// The input file (nil for an archive in memory): checked for changes at the end.
    private let file: InputFile?
    private let window: ByteWindow
    /// The central directory read ahead (regular files whose directory is intact), nil otherwise.
    private let directory: [ZipEntry]?
    /// The members as their data showed them (offset, CRC, sizes), for the check against the directory.
    private(set) var members: [ZipEntry] = []
    private var names: Set<[UInt8]> = []
    private var current: ZipEntry?

    /// A reader over `file`, whose first bytes `prefix` have been read already.
    init(file: InputFile, prefix: UnsafeRawBufferPointer) {
        self.file = file
        window = ByteWindow(prefix: prefix) { try file.read(into: $0) }
        directory = file.identity.flatMap { Self.readAhead(size: $0.size, readAt: file.read(at:count:)) }
    }

    /// A reader over a whole archive held in memory (`bytes` must outlive the reader).
    init(bytes: UnsafeRawBufferPointer) {
        file = nil
        var offset = 0
        window = ByteWindow(prefix: UnsafeRawBufferPointer(start: nil, count: 0)) { into in
            let n = min(into.count, bytes.count - offset)
            if n > 0 { into.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
        directory = Self.readAhead(size: bytes.count) { offset, count in
            Array(bytes[min(offset, bytes.count)..<min(offset + count, bytes.count)])
        }
    }

    /// The directory of an archive of `size` bytes, read from its end without moving the stream (`readAt` gives
    /// the bytes of a range, fewer at the end); nil when that fails (the stream then finds and names the fault).
    private static func readAhead(size: Int, readAt: (_ offset: Int, _ count: Int) throws -> [UInt8]) -> [ZipEntry]? {
        guard size >= Zip.endRecordSize else { return nil }
        let tailCount = min(size, Zip.endRecordSize + 65535 + Zip.zip64LocatorSize + Zip.zip64EndRecordSize)
        let tailOffset = size - tailCount
        guard let tail = try? readAt(tailOffset, tailCount), tail.count == tailCount else { return nil }
        return try? tail.withUnsafeBytes { b in
            try ZipParse.directory(tail: b, tailOffset: tailOffset) { offset, count in
                let bytes = try readAt(offset, count)
                guard bytes.count == count else { throw ArchiveFault(.truncatedDirectory) }
                return bytes
            }.entries
        }
    }

    /// The next member's local header, checked (supported, not a duplicate, delimitable); nil at the central
    /// directory.
    func nextMember() throws -> ZipEntry? {
        precondition(current == nil, "nextMember before the current member was read")
        guard try window.fill(4) else {
            if window.offset == 0 && members.isEmpty { throw ArchiveFault(.notZip, "empty file") }
            throw ArchiveFault(.truncatedDirectory, "missing: the archive ends after \(members.count) members")
        }
        let signature = window.available.loadUnaligned(as: UInt32.self).littleEndian
        if signature == Zip.centralSignature || signature == Zip.endSignature || signature == Zip.zip64EndSignature {
            return nil
        }
        guard signature == Zip.localSignature else {
            if window.offset == 0 { throw ArchiveFault(.notZip, "bad signature") }
            throw ArchiveFault(.malformed, "no member header or central directory at offset \(window.offset)")
        }
        guard try window.fill(Zip.localHeaderSize), let size = ZipParse.localHeaderSize(window.available),
            try window.fill(size)
        else { throw ArchiveFault(.truncated, "cut in a member header at offset \(window.offset)") }
        var entry = try ZipParse.localHeader(UnsafeRawBufferPointer(rebasing: window.available[0..<size]))
        entry.localOffset = window.offset
        window.advance(size)
        let name = entry.memberName.text
        if let directory {
            guard members.count < directory.count, directory[members.count].name == entry.name,
                directory[members.count].localOffset == entry.localOffset
            else { throw ArchiveFault(.directoryMismatch, member: name, "member \(members.count + 1) differs") }
            let listed = directory[members.count]
            try listed.checkSupported()
            entry.compressedSize = entry.compressedSize ?? listed.compressedSize
            entry.uncompressedSize = entry.uncompressedSize ?? listed.uncompressedSize
        }
        try entry.checkSupported()
        guard names.insert(entry.name).inserted else { throw ArchiveFault(.duplicateName, member: name) }
        current = entry
        return entry
    }

    /// Streams the current member's uncompressed bytes to `consumer`, then checks its CRC-32 and sizes against its
    /// headers (and data descriptor).
    func readMember(_ consumer: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard var entry = current else { preconditionFailure("readMember without nextMember") }
        let name = entry.memberName.text
        let start = window.offset
        var crc: UInt32 = 0
        var produced = 0
        func cut() -> ArchiveFault {
            ArchiveFault(.truncated, member: name, "data cut at offset \(window.offset)")
        }
        if entry.method == Zip.stored && entry.compressedSize == nil {
            (crc, produced) = try readUndelimited(entry, consumer)
        } else if entry.method == Zip.stored {
            var left = entry.compressedSize ?? 0
            while left > 0 {
                guard try window.fill(1) else { throw cut() }
                let piece = UnsafeRawBufferPointer(rebasing: window.available.prefix(left))
                crc = CRC32.checksum(piece, initial: crc)
                try consumer(piece)
                produced += piece.count
                left -= piece.count
                window.advance(piece.count)
            }
        } else {
            let decoder = try RawDeflateDecoder()
            while !decoder.ended {
                guard try window.fill(1) else { throw cut() }
                var piece = window.available
                // A member whose size is known is never inflated past its end (into the next member).
                if let size = entry.compressedSize {
                    let left = size - (window.offset - start)
                    guard left > 0 else {
                        throw ArchiveFault(.sizeMismatch, member: name, "deflate data runs past \(size) bytes")
                    }
                    piece = UnsafeRawBufferPointer(rebasing: piece.prefix(left))
                }
                let taken = try decoder.inflate(piece, deliver: consumer)
                window.advance(taken)
            }
            crc = decoder.crc
            produced = decoder.producedCount
        }
        let compressed = window.offset - start
        var expected = (crc: entry.crc, compressed: entry.compressedSize, uncompressed: entry.uncompressedSize)
        if entry.hasDescriptor {
            let most = entry.zip64 ? 24 : 16
            _ = try window.fill(most)
            guard let d = ZipParse.descriptor(window.available, zip64: entry.zip64) else {
                throw ArchiveFault(.truncated, member: name, "cut in its data descriptor")
            }
            window.advance(d.3)
            expected = (d.0, d.1, d.2)
            if let listed = entry.compressedSize, listed != d.1 { expected.compressed = listed }
        }
        if let listed = directory?[members.count], listed.crc != expected.crc {
            throw ArchiveFault(.crcMismatch, member: name, "local header and central directory differ")
        }
        guard crc == expected.crc else {
            throw ArchiveFault(.crcMismatch, member: name, "computed \(hex(crc)), archive says \(hex(expected.crc))")
        }
        if let size = expected.uncompressed, size != produced {
            throw ArchiveFault(.sizeMismatch, member: name, "holds \(produced) bytes, archive says \(size)")
        }
        if let size = expected.compressed, size != compressed {
            throw ArchiveFault(.sizeMismatch, member: name, "\(compressed) compressed bytes, archive says \(size)")
        }
        entry.crc = crc
        entry.compressedSize = compressed
        entry.uncompressedSize = produced
        members.append(entry)
        current = nil
    }

    /// A stored member whose size follows its data (a zip writer that streamed it), read without the central
    /// directory (from a pipe): its end is the first data descriptor signature whose record matches the bytes
    /// before it (sizes equal to their count, CRC-32 equal to theirs), as streaming unzippers find it. Bytes are
    /// handed on only once no descriptor can start among them.
    private func readUndelimited(_ entry: ZipEntry, _ consumer: (UnsafeRawBufferPointer) throws -> Void) throws
        -> (crc: UInt32, count: Int)
    {
        let recordSize = entry.zip64 ? 24 : 16
        var crc: UInt32 = 0, count = 0
        while true {
            let complete = try window.fill(recordSize)
            let bytes = window.available
            guard complete || bytes.count >= recordSize else {
                throw ArchiveFault(.truncated, member: entry.memberName.text, "no data descriptor after \(count) bytes")
            }
            var p = 0
            while p + recordSize <= bytes.count {
                if bytes.loadUnaligned(fromByteOffset: p, as: UInt32.self) == Zip.descriptorSignature.littleEndian,
                    let d = ZipParse.descriptor(UnsafeRawBufferPointer(rebasing: bytes[p...]), zip64: entry.zip64),
                    d.1 == count + p, d.2 == count + p
                {
                    let last = UnsafeRawBufferPointer(rebasing: bytes[0..<p])
                    let lastCRC = CRC32.checksum(last, initial: crc)
                    if lastCRC == d.0 {
                        try consumer(last)
                        window.advance(p)
                        return (lastCRC, count + p)
                    }
                }
                p += 1
            }
            // No descriptor starts before `p`: those bytes are data.
            let data = UnsafeRawBufferPointer(rebasing: bytes[0..<p])
            crc = CRC32.checksum(data, initial: crc)
            try consumer(data)
            count += p
            window.advance(p)
        }
    }

    /// After the last member: reads the rest of the input (the central directory) and checks it lists exactly the
    /// members read, then that the file did not change meanwhile.
    func finish() throws {
        let tailOffset = window.offset
        var tail: [UInt8] = []
        while try window.fill(1) {
            tail += window.available
            window.advance(window.available.count)
            if tail.count > (64 << 20) + 65536 { throw ArchiveFault(.tooLarge, "over 64 MiB") }
        }
        let (entries, offset) = try tail.withUnsafeBytes { b in
            try ZipParse.directory(tail: b, tailOffset: tailOffset) { _, _ in
                throw ArchiveFault(.directoryMismatch, "the directory starts before the end of the last member")
            }
        }
        guard offset == tailOffset, entries.count == members.count else {
            throw ArchiveFault(
                .directoryMismatch, "it lists \(entries.count) members at offset \(offset), the archive has "
                    + "\(members.count) ending at \(tailOffset)")
        }
        for (listed, seen) in zip(entries, members) {
            try listed.checkSupported()
            guard listed.name == seen.name, listed.localOffset == seen.localOffset, listed.method == seen.method,
                listed.crc == seen.crc, listed.compressedSize == seen.compressedSize,
                listed.uncompressedSize == seen.uncompressedSize
            else { throw ArchiveFault(.directoryMismatch, member: seen.memberName.text) }
        }
        try file?.checkUnchanged()
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
