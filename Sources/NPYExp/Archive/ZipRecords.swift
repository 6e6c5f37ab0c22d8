// Archive: the records of the zip format as .npz archives use them (APPNOTE 6.3: local file header, data descriptor,
// central directory header, end of central directory, and their zip64 forms), parsed from and encoded to bytes, and
// the one error type for archive faults. Only what numpy and Python's zipfile write and read is supported: one disk,
// members stored or deflated, no encryption. Member names stay bytes (never paths). Relies on nothing but the
// standard library.

/// Record signatures and field values of the zip format.
enum Zip {
    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64EndSignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let descriptorSignature: UInt32 = 0x0807_4b50
    static let zip64ExtraID: UInt16 = 0x0001
    /// 0xFFFFFFFF in a 32-bit field: the value is in the zip64 extra field.
    static let escape32 = Int(UInt32.max)

    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endRecordSize = 22
    static let zip64EndRecordSize = 56
    static let zip64LocatorSize = 20

    /// General-purpose flag bits.
    static let flagEncrypted: UInt16 = 1 << 0
    static let flagDescriptor: UInt16 = 1 << 3
    static let flagStrongEncryption: UInt16 = 1 << 6
    static let flagPatched: UInt16 = 1 << 5
    static let flagUTF8: UInt16 = 1 << 11

    /// Compression methods npyexp reads and writes.
    static let stored: UInt16 = 0
    static let deflated: UInt16 = 8

    /// Names of methods other archivers use, for the error line.
    static func methodName(_ method: UInt16) -> String {
        switch method {
        case 1: "shrink"
        case 6: "implode"
        case 9: "deflate64"
        case 12: "bzip2"
        case 14: "lzma"
        case 93: "zstd"
        case 95: "xz"
        case 98: "ppmd"
        case 99: "aes-encrypted"
        default: "unknown"
        }
    }

    /// 1980-01-01 00:00:00, the earliest MS-DOS time: every member npyexp writes carries it, so that equal inputs
    /// give equal archives.
    static let fixedTime: UInt16 = 0
    static let fixedDate: UInt16 = (0 << 9) | (1 << 5) | 1
}

/// An archive fault; `description` is the line after `PATH: `, naming the member when there is one.
public struct ArchiveFault: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of fault; each has a fixed phrase.
    public enum Kind: Sendable, Equatable {
        case notZip, truncated, truncatedDirectory, malformed, crcMismatch, sizeMismatch, encrypted
        case unsupportedMethod, duplicateName, directoryMismatch, tooLarge
    }

    /// What went wrong.
    public var kind: Kind
    /// The member's name, when the fault is one member's.
    public var member: String?
    /// What exactly, in parentheses after the phrase.
    public var detail: String?

    /// A fault of `kind` in `member`.
    public init(_ kind: Kind, member: String? = nil, _ detail: String? = nil) {
        self.kind = kind
        self.member = member
        self.detail = detail
    }

    /// The fixed words for `kind`.
    public var phrase: String {
        switch kind {
        case .notZip: "not a zip archive"
        case .truncated: "truncated archive"
        case .truncatedDirectory: "truncated central directory"
        case .malformed: "malformed zip record"
        case .crcMismatch: "CRC-32 mismatch"
        case .sizeMismatch: "size mismatch"
        case .encrypted: "encrypted members are not supported"
        case .unsupportedMethod: "compression method not supported (stored and deflate only)"
        case .duplicateName: "duplicate member name"
        case .directoryMismatch: "central directory does not match the members"
        case .tooLarge: "central directory too large"
        }
    }

    public var description: String {
        if kind == .duplicateName, let member { return "\(phrase) '\(member)'" }
        let prefix = member.map { "member '\($0)': " } ?? ""
        guard let detail, !detail.isEmpty else { return prefix + phrase }
        return prefix + "\(phrase) (\(detail))"
    }
}

/// A member name as the archive stores it (bytes, kept exactly) and as a line shows it.
struct MemberName: Hashable, Sendable {
    var bytes: [UInt8]
    /// UTF-8 with invalid bytes replaced; for messages and listings only.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// What the archive says about one member: from its local header (streaming), its central directory header, or both.
struct ZipEntry: Sendable, Equatable {
    var name: [UInt8]
    var flags: UInt16
    var method: UInt16
    var crc: UInt32
    /// Sizes; nil where the record leaves them to a data descriptor.
    var compressedSize: Int?
    var uncompressedSize: Int?
    /// Offset of the local header (central directory only).
    var localOffset: Int?
    /// Whether the record carried a zip64 extra field (a data descriptor then has 8-byte sizes).
    var zip64: Bool

    var hasDescriptor: Bool { flags & Zip.flagDescriptor != 0 }
    var memberName: MemberName { MemberName(bytes: name) }

    /// Refuses what npyexp cannot read: encryption, patched data (flag bit 5) and methods other than stored and
    /// deflate, in a local header or a directory entry (Python's zipfile trusts the directory's flags, npyexp streams
    /// by the local header's: either may say so).
    func checkSupported() throws(ArchiveFault) {
        let name = memberName.text
        if flags & (Zip.flagEncrypted | Zip.flagStrongEncryption) != 0 || method == 99 {
            throw ArchiveFault(.encrypted, member: name)
        }
        if flags & Zip.flagPatched != 0 {
            throw ArchiveFault(.unsupportedMethod, member: name, "compressed patched data, flag bit 5")
        }
        guard method == Zip.stored || method == Zip.deflated else {
            throw ArchiveFault(.unsupportedMethod, member: name, "method \(method), \(Zip.methodName(method))")
        }
    }
}

/// Little-endian reads from a byte buffer, bounds-checked.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func u32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    mutating func take(_ n: Int) -> UnsafeRawBufferPointer? {
        guard n >= 0, remaining >= n else { return nil }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }
}

/// Parsing of the records.
enum ZipParse {
    /// The size of the local header that starts `bytes` (30 + name + extra), or nil when fewer than 30 bytes are there.
    static func localHeaderSize(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= Zip.localHeaderSize else { return nil }
        let nameLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 26, as: UInt16.self)))
        let extraLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 28, as: UInt16.self)))
        return Zip.localHeaderSize + nameLength + extraLength
    }

    /// The local header at the start of `bytes` (which hold all of it, `localHeaderSize` bytes).
    static func localHeader(_ bytes: UnsafeRawBufferPointer) throws(ArchiveFault) -> ZipEntry {
        var r = ByteReader(bytes)
        guard r.u32() == Zip.localSignature, let _ = r.u16(), let flags = r.u16(), let method = r.u16(),
            let _ = r.u16(), let _ = r.u16(), let crc = r.u32(), let compressed = r.u32(),
            let uncompressed = r.u32(), let nameLength = r.u16(), let extraLength = r.u16(),
            let name = r.take(Int(nameLength)), let extra = r.take(Int(extraLength))
        else { throw ArchiveFault(.malformed, "local file header") }
        var entry = ZipEntry(
            name: Array(name), flags: flags, method: method, crc: crc, compressedSize: Int(compressed),
            uncompressedSize: Int(uncompressed), localOffset: nil, zip64: false)
        try applyZip64(extra, to: &entry, offsetEscaped: false)
        if entry.hasDescriptor {
            // Sizes and CRC come after the data; a stored member's data can only be delimited by the directory.
            if entry.compressedSize == 0 { entry.compressedSize = nil }
            if entry.uncompressedSize == 0 { entry.uncompressedSize = nil }
        }
        return entry
    }

    /// The zip64 extra field (id 1) fills in the fields whose 32-bit value is 0xFFFFFFFF, in APPNOTE's order.
    static func applyZip64(_ extra: UnsafeRawBufferPointer, to entry: inout ZipEntry, offsetEscaped: Bool)
        throws(ArchiveFault)
    {
        var r = ByteReader(extra)
        while r.remaining >= 4 {
            guard let id = r.u16(), let size = r.u16(), let data = r.take(Int(size)) else {
                throw ArchiveFault(.malformed, member: entry.memberName.text, "extra field overruns its record")
            }
            guard id == Zip.zip64ExtraID else { continue }
            entry.zip64 = true
            var z = ByteReader(data)
            func next() throws(ArchiveFault) -> Int {
                guard let v = z.u64() else {
                    throw ArchiveFault(.malformed, member: entry.memberName.text, "zip64 extra field too short")
                }
                guard v < 1 << 62 else {
                    throw ArchiveFault(.malformed, member: entry.memberName.text, "zip64 size or offset \(v) out of range")
                }
                return Int(v)
            }
            if entry.uncompressedSize == Zip.escape32 { entry.uncompressedSize = try next() }
            if entry.compressedSize == Zip.escape32 { entry.compressedSize = try next() }
            if offsetEscaped && entry.localOffset == Zip.escape32 { entry.localOffset = try next() }
        }
    }

    /// The central directory: its entries, from the file's last bytes `tail` (which start at file offset
    /// `tailOffset`); `readMore` fetches a byte range of the file when the directory starts before the tail.
    static func directory(
        tail: UnsafeRawBufferPointer, tailOffset: Int,
        readMore: (_ offset: Int, _ count: Int) throws -> [UInt8]
    ) throws -> (entries: [ZipEntry], offset: Int) {
        // The end record, found as Python's zipfile finds it, so both read the same one: the last 22 bytes when they
        // are an end record with no comment, else the last end record signature in the last 64 KiB + 22 bytes; its
        // comment must then reach exactly to the end of the file.
        func signature(at p: Int) -> Bool {
            tail.loadUnaligned(fromByteOffset: p, as: UInt32.self) == Zip.endSignature.littleEndian
        }
        func commentLength(at p: Int) -> Int {
            Int(UInt16(littleEndian: tail.loadUnaligned(fromByteOffset: p + 20, as: UInt16.self)))
        }
        var endAt: Int?
        let last = tail.count - Zip.endRecordSize
        if last >= 0 && signature(at: last) && commentLength(at: last) == 0 {
            endAt = last
        } else {
            var p = tail.count - 4
            while p >= 0 && p >= last - 65536 && endAt == nil {
                if signature(at: p) { endAt = p }
                p -= 1
            }
        }
        guard let end = endAt, end <= last else {
            throw ArchiveFault(.truncatedDirectory, "no end of central directory record")
        }
        guard end + Zip.endRecordSize + commentLength(at: end) == tail.count else {
            throw ArchiveFault(.malformed, "the end record's comment does not reach the end of the file")
        }
        var r = ByteReader(tail, at: end + 4)
        guard let disk = r.u16(), let startDisk = r.u16(), let _ = r.u16(), let total16 = r.u16(), let size32 = r.u32(),
            let offset32 = r.u32()
        else { throw ArchiveFault(.truncatedDirectory) }
        guard disk == 0 || disk == 0xFFFF, startDisk == 0 || startDisk == 0xFFFF else {
            throw ArchiveFault(.malformed, "multi-disk archives are not supported")
        }
        var count = Int(total16), size = Int(size32), offset = Int(offset32)
        var directoryEnd = tailOffset + end
        // zip64: a locator just before the end record points at the zip64 end record.
        let locatorAt = end - Zip.zip64LocatorSize
        if locatorAt >= 0,
            tail.loadUnaligned(fromByteOffset: locatorAt, as: UInt32.self) == Zip.zip64LocatorSignature.littleEndian
        {
            var l = ByteReader(tail, at: locatorAt + 4)
            guard let recordDisk = l.u32(), let raw = l.u64(), let disks = l.u32() else {
                throw ArchiveFault(.truncatedDirectory)
            }
            guard recordDisk == 0, disks <= 1 else {
                throw ArchiveFault(.malformed, "multi-disk archives are not supported")
            }
            guard raw <= UInt64(tailOffset + end) else {
                throw ArchiveFault(.truncatedDirectory, "zip64 end record offset outside the archive")
            }
            let recordOffset = Int(raw)
            // Python's zipfile reads the zip64 end record just before the locator (no extensible data): so must this.
            guard recordOffset + Zip.zip64EndRecordSize == tailOffset + locatorAt else {
                throw ArchiveFault(.malformed, "zip64 end record not right before its locator")
            }
            let record: [UInt8]
            if recordOffset >= tailOffset && recordOffset - tailOffset + Zip.zip64EndRecordSize <= tail.count {
                record = Array(tail[(recordOffset - tailOffset)..<(recordOffset - tailOffset + Zip.zip64EndRecordSize)])
            } else {
                record = try readMore(recordOffset, Zip.zip64EndRecordSize)
            }
            try record.withUnsafeBytes { b in
                var z = ByteReader(b)
                guard z.u32() == Zip.zip64EndSignature, z.take(28) != nil, let total = z.u64(), let s = z.u64(),
                    let o = z.u64(), total < 1 << 32, s < 1 << 40, o < 1 << 62
                else { throw ArchiveFault(.truncatedDirectory, "bad zip64 end record") }
                count = Int(total)
                size = Int(s)
                offset = Int(o)
            }
            directoryEnd = recordOffset
        }
        guard offset + size <= directoryEnd else {
            throw ArchiveFault(.truncatedDirectory, "directory of \(size) bytes at \(offset) runs past its end record")
        }
        guard offset + size == directoryEnd else {
            throw ArchiveFault(.malformed, "\(directoryEnd - offset - size) bytes between the central directory and its end record")
        }
        guard size <= 64 << 20 else { throw ArchiveFault(.tooLarge, "\(size) bytes") }
        let bytes: [UInt8]
        if offset >= tailOffset {
            bytes = Array(tail[(offset - tailOffset)..<(offset - tailOffset + size)])
        } else {
            bytes = try readMore(offset, size)
        }
        let entries = try bytes.withUnsafeBytes { b in try centralEntries(b, count: count) }
        return (entries, offset)
    }

    /// `count` central directory headers filling `bytes`.
    static func centralEntries(_ bytes: UnsafeRawBufferPointer, count: Int) throws(ArchiveFault) -> [ZipEntry] {
        var r = ByteReader(bytes)
        var entries: [ZipEntry] = []
        for _ in 0..<count {
            guard r.u32() == Zip.centralSignature, let _ = r.u16(), let _ = r.u16(), let flags = r.u16(),
                let method = r.u16(), let _ = r.u16(), let _ = r.u16(), let crc = r.u32(), let compressed = r.u32(),
                let uncompressed = r.u32(), let nameLength = r.u16(), let extraLength = r.u16(),
                let commentLength = r.u16(), let _ = r.u16(), let _ = r.u16(), let _ = r.u32(),
                let offset = r.u32(), let name = r.take(Int(nameLength)), let extra = r.take(Int(extraLength)),
                r.take(Int(commentLength)) != nil
            else { throw ArchiveFault(.truncatedDirectory, "entry \(entries.count + 1) of \(count) is cut or damaged") }
            var entry = ZipEntry(
                name: Array(name), flags: flags, method: method, crc: crc, compressedSize: Int(compressed),
                uncompressedSize: Int(uncompressed), localOffset: Int(offset), zip64: false)
            try applyZip64(extra, to: &entry, offsetEscaped: true)
            entries.append(entry)
        }
        guard r.remaining == 0 else {
            throw ArchiveFault(.malformed, "\(r.remaining) bytes after the last central directory entry")
        }
        return entries
    }

    /// A data descriptor at the start of `bytes`: (crc, compressed, uncompressed, its size), or nil when more bytes
    /// are needed. The signature is optional; `zip64` descriptors have 8-byte sizes.
    static func descriptor(_ bytes: UnsafeRawBufferPointer, zip64: Bool) -> (UInt32, Int, Int, Int)? {
        var r = ByteReader(bytes)
        guard let first = r.u32() else { return nil }
        var size = 4
        var crc = first
        if first == Zip.descriptorSignature {
            guard let c = r.u32() else { return nil }
            crc = c
            size += 4
        }
        if zip64 {
            guard let c = r.u64(), let u = r.u64() else { return nil }
            return (crc, Int(truncatingIfNeeded: c), Int(truncatingIfNeeded: u), size + 16)
        }
        guard let c = r.u32(), let u = r.u32() else { return nil }
        return (crc, Int(c), Int(u), size + 8)
    }
}

/// Encoding of the records npyexp writes: every member zip64 with a data descriptor (as numpy's own writer makes
/// them zip64), fixed time stamps, no comments.
struct ZipEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    /// 32-bit field or the zip64 escape.
    mutating func u32OrEscape(_ v: Int) { u32(v >= Zip.escape32 ? UInt32.max : UInt32(v)) }

    /// Local header: sizes and CRC follow the data in a zip64 data descriptor.
    mutating func localHeader(name: [UInt8], flags: UInt16, method: UInt16) {
        u32(Zip.localSignature)
        u16(45)
        u16(flags | Zip.flagDescriptor)
        u16(method)
        u16(Zip.fixedTime)
        u16(Zip.fixedDate)
        u32(0)
        u32(UInt32.max)
        u32(UInt32.max)
        u16(UInt16(name.count))
        u16(20)
        bytes += name
        u16(Zip.zip64ExtraID)
        u16(16)
        u64(0)
        u64(0)
    }

    mutating func descriptor(crc: UInt32, compressed: Int, uncompressed: Int) {
        u32(Zip.descriptorSignature)
        u32(crc)
        u64(UInt64(compressed))
        u64(UInt64(uncompressed))
    }

    /// Central directory header; a zip64 extra field holds whichever values do not fit 32 bits.
    mutating func centralHeader(_ e: ZipEntry) {
        let uncompressed = e.uncompressedSize ?? 0, compressed = e.compressedSize ?? 0, offset = e.localOffset ?? 0
        var extra = ZipEncoder()
        if uncompressed >= Zip.escape32 { extra.u64(UInt64(uncompressed)) }
        if compressed >= Zip.escape32 { extra.u64(UInt64(compressed)) }
        if offset >= Zip.escape32 { extra.u64(UInt64(offset)) }
        u32(Zip.centralSignature)
        u16(3 << 8 | 45)   // made by: Unix, APPNOTE 4.5
        u16(45)
        u16(e.flags | Zip.flagDescriptor)
        u16(e.method)
        u16(Zip.fixedTime)
        u16(Zip.fixedDate)
        u32(e.crc)
        u32OrEscape(compressed)
        u32OrEscape(uncompressed)
        u16(UInt16(e.name.count))
        u16(extra.bytes.isEmpty ? 0 : UInt16(4 + extra.bytes.count))
        u16(0)   // comment
        u16(0)   // disk
        u16(0)   // internal attributes
        u32(0o100644 << 16)   // external: a regular file, rw-r--r--
        u32OrEscape(offset)
        bytes += e.name
        if !extra.bytes.isEmpty {
            u16(Zip.zip64ExtraID)
            u16(UInt16(extra.bytes.count))
            bytes += extra.bytes
        }
    }

    /// End records for `count` entries in a directory of `size` bytes at `offset`: zip64 ones first when needed.
    mutating func end(count: Int, size: Int, offset: Int) {
        let zip64 = count >= 0xFFFF || size >= Zip.escape32 || offset >= Zip.escape32
        if zip64 {
            let recordOffset = offset + size
            u32(Zip.zip64EndSignature)
            u64(UInt64(Zip.zip64EndRecordSize - 12))
            u16(3 << 8 | 45)
            u16(45)
            u32(0)
            u32(0)
            u64(UInt64(count))
            u64(UInt64(count))
            u64(UInt64(size))
            u64(UInt64(offset))
            u32(Zip.zip64LocatorSignature)
            u32(0)
            u64(UInt64(recordOffset))
            u32(1)
        }
        u32(Zip.endSignature)
        u16(0)
        u16(0)
        u16(count >= 0xFFFF ? 0xFFFF : UInt16(count))
        u16(count >= 0xFFFF ? 0xFFFF : UInt16(count))
        u32OrEscape(size)
        u32OrEscape(offset)
        u16(0)
    }
}
