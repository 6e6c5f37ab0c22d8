// Archive: writes a zip archive (.npz) to an `OutputFile` as one forward stream, so the output is hashed while it is
// written and can go to a pipe: each member a zip64 local header, its data (stored or deflated by the payload
// stage), and a data descriptor with its CRC-32 and sizes; then the central directory and end records (zip64 where
// sizes, offsets or the count need them). Fixed time stamps and attributes, so equal inputs give equal archives.
// Relies on ZipRecords and OutputFile.

/// One archive being written: `begin`, the member's bytes through a payload, `end`; repeated; then `finish`.
final class ArchiveWriter {
    private let output: OutputFile
    private var entries: [ZipEntry] = []
    private var current: (entry: ZipEntry, dataStart: Int)?

    init(_ output: OutputFile) { self.output = output }

    /// Starts a member named `name` (bytes as the input archive had them; `utf8` keeps its UTF-8 flag).
    func begin(name: [UInt8], utf8: Bool, method: UInt16) throws {
        precondition(current == nil, "ArchiveWriter.begin inside a member")
        let flags: UInt16 = utf8 ? Zip.flagUTF8 : 0
        let entry = ZipEntry(
            name: name, flags: flags, method: method, crc: 0, compressedSize: nil, uncompressedSize: nil,
            localOffset: output.byteCount, zip64: true)
        var header = ZipEncoder()
        header.localHeader(name: name, flags: flags, method: method)
        try write(header)
        current = (entry, output.byteCount)
    }

    /// Ends the current member, whose uncompressed bytes had `crc` and `uncompressedCount`.
    func end(crc: UInt32, uncompressedCount: Int) throws {
        guard case (var entry, let dataStart)? = current else { preconditionFailure("ArchiveWriter.end outside a member") }
        entry.crc = crc
        entry.compressedSize = output.byteCount - dataStart
        entry.uncompressedSize = uncompressedCount
        var descriptor = ZipEncoder()
        descriptor.descriptor(crc: crc, compressed: entry.compressedSize!, uncompressed: uncompressedCount)
        try write(descriptor)
        entries.append(entry)
        current = nil
    }

    /// Writes the central directory and the end records.
    func finish() throws {
        precondition(current == nil, "ArchiveWriter.finish inside a member")
        let offset = output.byteCount
        var directory = ZipEncoder()
        for entry in entries { directory.centralHeader(entry) }
        let size = directory.bytes.count
        directory.end(count: entries.count, size: size, offset: offset)
        try write(directory)
    }

    private func write(_ encoder: ZipEncoder) throws {
        try encoder.bytes.withUnsafeBytes { try output.write($0) }
    }
}
