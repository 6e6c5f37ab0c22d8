// Archive: what an .npz archive holds, for `inspect` and `verify`: every member's name, compression, sizes and NPY
// header, found by reading the archive once through ArchiveReader, which checks each member's CRC-32 and sizes and
// the central directory; each member's NPY structure (header, data length) is checked by the stream parser.
// Relies on ArchiveReader and NPYFormat.
import NPYFormat

/// One member of an archive as `inspect` lists it.
public struct MemberInspection: Sendable {
    /// The member's name.
    public var name: String
    /// "stored" or "deflated".
    public var compression: String
    /// Bytes of the member's data as stored, and uncompressed.
    public var compressedBytes: Int
    public var uncompressedBytes: Int
    /// The member's NPY header.
    public var header: NPYHeader
}

/// What `npyexp inspect` reports about an .npz archive.
public struct ArchiveInspection: Sendable {
    /// The file inspected ("-" for standard input).
    public var path: String
    /// Bytes of the archive.
    public var fileBytes: Int
    /// The members, in archive order.
    public var members: [MemberInspection]

    /// Reads the archive `file` (whose first bytes `prefix` were read already) to its end, checking every member;
    /// throws the first fault as the main command words it.
    static func read(_ file: InputFile, prefix: UnsafeRawBufferPointer) throws -> ArchiveInspection {
        let members = try read(ArchiveReader(file: file, prefix: prefix))
        return ArchiveInspection(path: file.path, fileBytes: file.bytesRead, members: members)
    }

    /// The members of an archive held in memory, each checked.
    static func members(of bytes: UnsafeRawBufferPointer) throws -> [MemberInspection] {
        try read(ArchiveReader(bytes: bytes))
    }

    private static func read(_ reader: ArchiveReader) throws -> [MemberInspection] {
        var members: [MemberInspection] = []
        while let entry = try reader.nextMember() {
            let name = entry.memberName.text
            var parser = NPYStreamParser()
            do {
                try reader.readMember { try parser.feed($0) { _ in } }
                try parser.finish()
            } catch let fault as ArchiveFault {
                throw fault
            } catch {
                throw MemberFault(member: name, error: error)
            }
            let seen = reader.members[reader.members.count - 1]
            guard let header = parser.header else { throw MemberFault(member: name, error: NPYStreamFault.empty) }
            members.append(
                MemberInspection(
                    name: name, compression: entry.method == Zip.deflated ? "deflated" : "stored",
                    compressedBytes: seen.compressedSize ?? 0, uncompressedBytes: seen.uncompressedSize ?? 0,
                    header: header))
        }
        try reader.finish()
        return members
    }

    /// One JSON object (one line) for `inspect --json`.
    public var json: String {
        var o = JSONObjectWriter()
        o.add("path", path)
        o.add("container", Container.zip.rawValue)
        o.add("file_bytes", fileBytes)
        o.add("members", members.count)
        o.add("member_list", objects: members.map { m in
            var e = JSONObjectWriter()
            e.add("name", m.name)
            e.add("compression", m.compression)
            e.add("compressed_bytes", m.compressedBytes)
            e.add("uncompressed_bytes", m.uncompressedBytes)
            e.add("dtype", m.header.dtype.name)
            e.add("descr", m.header.dtype.descr)
            e.add("shape", m.header.shape)
            e.add("fortran_order", m.header.fortranOrder)
            e.add("elements", m.header.elementCount)
            return e
        })
        return o.text
    }

    /// A line for the archive and one per member.
    public var text: String {
        var lines = ["\(path):", "  zip archive (.npz), \(Format.count(fileBytes, "byte")), \(Format.count(members.count, "member"))"]
        for m in members {
            let shape = "(" + m.header.shape.map(String.init).joined(separator: ", ") + (m.header.shape.count == 1 ? ",)" : ")")
            lines.append(
                "  \(m.name): dtype \(m.header.dtype.name) ('\(m.header.dtype.descr)'), shape \(shape), "
                    + "\(m.header.fortranOrder ? "Fortran" : "C") order, \(m.compression), "
                    + "\(Format.count(m.compressedBytes, "byte")) stored, \(Format.count(m.uncompressedBytes, "byte")) uncompressed")
        }
        return lines.joined(separator: "\n")
    }
}
