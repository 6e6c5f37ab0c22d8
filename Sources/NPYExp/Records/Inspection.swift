// Inspection: what an .npy / .npy.gz file holds without computing anything: NPY version, dtype, shape, order, header
// and data sizes, the compressed size and how the gzip stream is framed (an .npz archive goes to ArchiveInspection). npyexp's own block format is walked by the
// sizes in its member headers (no inflating beyond the NPY header); any other gzip is streamed once through the
// decoder to count members and bytes. The same header peek fills manifest records for outputs a rerun skipped.
// Relies on Gzip (GzipDecoder, GzipBlocks), NPYFormat and Glibc (pread, fstat).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Gzip
import NPYFormat

/// What `npyexp inspect` reports about one input: a tensor file or an archive of them.
public enum InspectedFile: Sendable {
    case tensor(Inspection)
    case archive(ArchiveInspection)

    /// One JSON object (one line) for `inspect --json`.
    public var json: String {
        switch self {
        case .tensor(let t): t.json
        case .archive(let a): a.json
        }
    }

    /// Human lines for `inspect`.
    public var text: String {
        switch self {
        case .tensor(let t): t.text
        case .archive(let a): a.text
        }
    }
}

/// What `npyexp inspect` reports about one file.
public struct Inspection: Sendable {
    /// How a gzip file is framed.
    public enum GzipFraming: String, Sendable {
        /// npyexp's block format: every member announces its sizes (parallel inflate possible).
        case npyexpBlocks = "npyexp-blocks"
        /// Any other gzip (gzip(1), pigz, Python): one or more members found by inflating.
        case standard
    }

    /// The file inspected ("-" for standard input).
    public var path: String
    /// Bytes of the file as stored (compressed size for gzip); nil for a pipe.
    public var fileBytes: Int
    /// Plain .npy or gzip.
    public var container: Container
    /// How the gzip stream is framed (nil for plain .npy).
    public var framing: GzipFraming?
    /// Number of gzip members (nil for plain .npy).
    public var gzipMembers: Int?
    /// The NPY header.
    public var header: NPYHeader
    /// Magic + version + length + header text: where the data starts.
    public var headerBytes: Int
    /// Bytes the shape and dtype call for.
    public var dataBytes: Int { header.dataByteCount }
    /// Uncompressed bytes of the whole file (header and data).
    public var payloadBytes: Int

    /// Inspects a file ("-": standard input, streamed). Throws for anything the main command would reject as
    /// malformed: bad gzip framing, a bad NPY header, data shorter or longer than the shape.
    public static func inspect(_ path: String) throws(NPYExpError) -> Inspection {
        switch try inspectFile(path) {
        case .tensor(let inspection): return inspection
        case .archive: throw NPYExpError(path: path, "is an .npz archive, not a tensor file", category: .usage)
        }
    }

    /// Inspects a tensor file or an .npz archive ("-": standard input, streamed).
    public static func inspectFile(_ path: String) throws(NPYExpError) -> InspectedFile {
        let file = path == "-" ? InputFile(standardInput: ()) : try InputFile(path: path)
        do {
            var prefix = [UInt8](repeating: 0, count: 64 << 10)
            let have = try prefix.withUnsafeMutableBytes { (b) throws(NPYExpError) -> Int in try file.readFully(into: b) }
            prefix.removeSubrange(have...)
            let container = have >= 2 ? Container.recognise(prefix[0], prefix[1]) : .plain
            if container == .zip {
                return .archive(try prefix.withUnsafeBytes { try ArchiveInspection.read(file, prefix: $0) })
            }
            return .tensor(try inspectTensor(file, prefix: prefix))
        } catch let e as NPYExpError {
            throw e
        } catch {
            throw NPYExpError(wrapping: error, path: path)
        }
    }

    private static func inspectTensor(_ file: InputFile, prefix: [UInt8]) throws -> Inspection {
        let path = file.path
        let have = prefix.count
        do {
            let isGzip = have >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b
            if !isGzip {
                guard let (header, headerBytes) = try parseHeader(prefix, complete: have < 64 << 10) else {
                    throw NPYExpError(wrapping: have == 0 ? NPYStreamFault.empty : .truncatedHeader(after: have), path: path)
                }
                var total = have
                total += try drain(file)
                let result = Inspection(
                    path: path, fileBytes: total, container: .plain, framing: nil, gzipMembers: nil, header: header,
                    headerBytes: headerBytes, payloadBytes: total)
                try result.checkDataLength()
                return result
            }
            let blockSizes = try prefix.withUnsafeBytes { try GzipBlocks.blockSizes($0) }
            if blockSizes != nil, path != "-", let walked = try walkBlocks(file, prefix: prefix) {
                return walked
            }
            return try streamGzip(file, prefix: prefix)
        } catch let e as NPYExpError {
            throw e
        } catch {
            throw NPYExpError(path: path, "\(error)", category: .data)
        }
    }

    /// The header and container of a file, reading and inflating only as much as the header needs.
    public static func peekHeader(_ path: String) -> (container: Container, header: NPYHeader)? {
        guard let file = try? InputFile(path: path) else { return nil }
        var prefix = [UInt8](repeating: 0, count: 64 << 10)
        guard let have = try? prefix.withUnsafeMutableBytes({ (b) throws(NPYExpError) -> Int in try file.readFully(into: b) })
        else { return nil }
        prefix.removeSubrange(have...)
        if have >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b {
            let decoder = GzipDecoder()
            var payload: [UInt8] = []
            _ = try? prefix.withUnsafeBytes { raw in
                try decoder.write(raw) { payload += $0; if payload.count >= 64 << 10 { throw StopDecoding() } }
            }
            guard let parsed = try? parseHeader(payload, complete: true) else { return nil }
            return (.gzip, parsed.header)
        }
        guard let parsed = try? parseHeader(prefix, complete: true) else { return nil }
        return (.plain, parsed.header)
    }

    private struct StopDecoding: Error {}

    static func parseHeader(_ bytes: [UInt8], complete: Bool) throws -> (header: NPYHeader, byteCount: Int)? {
        let parsed = try bytes.withUnsafeBytes { try NPYHeader.parse($0) }
        if let parsed { try parsed.header.validate() }
        return parsed
    }

    /// Reads the rest of a file, returning how many bytes there were.
    private static func drain(_ file: InputFile) throws(NPYExpError) -> Int {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { return total }
            total += n
        }
    }

    /// npyexp's block format: hops from member header to member header with pread. nil when a member further on is
    /// not in block format (a foreign member appended), so that the caller streams the file instead.
    private static func walkBlocks(_ file: InputFile, prefix: [UInt8]) throws -> Inspection? {
        var st = stat()
        guard fstat(file.fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(st.st_size)
        var offset = 0
        var members = 0
        var payload = 0
        var headerBuffer = [UInt8](repeating: 0, count: GzipBlocks.headerByteCount)
        while offset < size {
            let n = headerBuffer.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard n > 0 else { return nil }
            let sizes = try headerBuffer.withUnsafeBytes { try GzipBlocks.blockSizes(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            guard let sizes else { return nil }
            if offset + sizes.member > size {
                throw GzipError(.truncated, detail: "member \(members + 1) at byte \(offset) needs \(sizes.member) bytes, the file ends \(size - offset) bytes on")
            }
            offset += sizes.member
            payload += sizes.uncompressed
            members += 1
        }
        // The NPY header comes from inflating the start of the first member only.
        let decoder = GzipDecoder()
        var start: [UInt8] = []
        do {
            try prefix.withUnsafeBytes { raw in
                try decoder.write(raw) { start += $0; if start.count >= 64 << 10 { throw StopDecoding() } }
            }
        } catch is StopDecoding {}
        guard let (header, headerBytes) = try parseHeader(start, complete: true) else {
            throw NPYExpError(wrapping: start.isEmpty ? NPYStreamFault.empty : .truncatedHeader(after: start.count), path: file.path)
        }
        let result = Inspection(
            path: file.path, fileBytes: size, container: .gzip, framing: .npyexpBlocks, gzipMembers: members,
            header: header, headerBytes: headerBytes, payloadBytes: payload)
        try result.checkDataLength()
        return result
    }

    /// Any gzip: one pass through the streaming decoder, counting members and uncompressed bytes.
    private static func streamGzip(_ file: InputFile, prefix: [UInt8]) throws -> Inspection {
        let decoder = GzipDecoder()
        var start: [UInt8] = []
        var payload = 0
        var total = prefix.count
        let sink: (UnsafeRawBufferPointer) throws -> Void = { bytes in
            if start.count < 64 << 10 { start += bytes.prefix(64 << 10 - start.count) }
            payload += bytes.count
        }
        try prefix.withUnsafeBytes { try decoder.write($0, to: sink) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { break }
            total += n
            try decoder.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]), to: sink)
        }
        try decoder.finish()
        guard let (header, headerBytes) = try parseHeader(start, complete: true) else {
            throw NPYExpError(wrapping: start.isEmpty ? NPYStreamFault.empty : .truncatedHeader(after: start.count), path: file.path)
        }
        let result = Inspection(
            path: file.path, fileBytes: total, container: .gzip, framing: .standard,
            gzipMembers: decoder.membersDecoded, header: header, headerBytes: headerBytes, payloadBytes: payload)
        try result.checkDataLength()
        return result
    }

    /// The main command's wording for data that does not match the shape.
    func checkDataLength() throws(NPYExpError) {
        let got = payloadBytes - headerBytes
        if got < dataBytes {
            throw NPYExpError(wrapping: NPYStreamFault.shortData(expected: dataBytes, got: got), path: path)
        }
        if got > dataBytes {
            throw NPYExpError(wrapping: NPYStreamFault.trailingBytes(expected: dataBytes, extra: got - dataBytes), path: path)
        }
    }


    /// One JSON object (one line) for `inspect --json`.
    public var json: String {
        var o = JSONObjectWriter()
        o.add("path", path)
        o.add("container", container.rawValue)
        o.add("file_bytes", fileBytes)
        o.add("gzip_framing", framing?.rawValue)
        o.add("gzip_members", gzipMembers)
        o.add("npy_version", header.version.description)
        o.add("dtype", header.dtype.name)
        o.add("descr", header.dtype.descr)
        o.add("shape", header.shape)
        o.add("fortran_order", header.fortranOrder)
        o.add("elements", header.elementCount)
        o.add("header_bytes", headerBytes)
        o.add("data_bytes", dataBytes)
        o.add("payload_bytes", payloadBytes)
        return o.text
    }

    /// Space saved by gzip as `gzip -l` shows it: 1 - compressed / uncompressed (nil for plain .npy or no payload).
    public var spaceSaved: Double? {
        container == .gzip && payloadBytes > 0 ? 1 - Double(fileBytes) / Double(payloadBytes) : nil
    }

    /// A few human lines for `inspect` ("1 element", "2 elements"; the gzip ratio is the space saved, in percent).
    public var text: String {
        let shapeText = "(" + header.shape.map(String.init).joined(separator: ", ") + (header.shape.count == 1 ? ",)" : ")")
        var lines = [
            "\(path):",
            "  npy \(header.version), dtype \(header.dtype.name) ('\(header.dtype.descr)'), shape \(shapeText), \(header.fortranOrder ? "Fortran" : "C") order, \(Format.count(header.elementCount, "element"))",
            "  header \(Format.count(headerBytes, "byte")), data \(Format.count(dataBytes, "byte"))",
        ]
        switch container {
        case .plain, .zip:
            lines.append("  plain .npy, \(Format.count(fileBytes, "byte"))")
        case .gzip:
            let kind = framing == .npyexpBlocks ? "npyexp blocks" : "standard gzip"
            lines.append(
                "  gzip (\(kind)), \(Format.count(fileBytes, "byte")) compressed, \(Format.count(payloadBytes, "byte")) uncompressed, ratio \(Format.fixed((spaceSaved ?? 0) * 100, 1))% saved, \(Format.count(gzipMembers ?? 0, "member"))"
            )
        }
        return lines.joined(separator: "\n")
    }
}
