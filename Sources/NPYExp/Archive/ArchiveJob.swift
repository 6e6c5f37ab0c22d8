// Archive: the job for one .npz input. Each member goes through the same NPY stage as a .npy file (ExpTransform:
// dtypes, promotion, --dtype, shape and order kept) into a member of the output archive, in the input's order and
// under the same name, stored or deflated like the input member unless --gzip / --no-gzip say otherwise; deflated
// members are compressed on all cores. A fault in a member is reported with the member's name. Backward over
// archives pairs the gradient's members with the result's (ArchiveOperand). Relies on ArchiveReader, ArchiveWriter,
// ArchiveOperand, Transform and Payload.
import NPYFormat

/// What one member of an archive held and became.
public struct MemberReport: Sendable, Equatable {
    /// The member's name in the archive (shown as UTF-8).
    public var name: String
    /// The member's input dtype.
    public var inputDType: NPYDType?
    /// The output member's dtype.
    public var outputDType: NPYDType?
    /// The member's shape.
    public var shape: [Int]?
    /// Elements in the member.
    public var elementCount = 0
    /// Special results in the member.
    public var counts = ResultCounts()
    /// SHA-256 of the output member's uncompressed bytes (when manifests ask for it).
    public var payloadSHA256: String?
    /// How the output member is stored: "stored" or "deflated".
    public var compression: String
}

/// A fault while a member was read or written: the member's name goes into the error line.
struct MemberFault: Error {
    var member: String
    var error: any Error
}

/// Applies exp to every member of an archive and writes the output archive.
struct ArchiveJob {
    let configuration: ExpConfiguration

    /// Reads the archive from `reader`, writes the output archive to `output`; returns the members' reports. With an
    /// `operand` (backward: `reader` holds the gradients), each member is multiplied by the result's member.
    func run(_ reader: MemberSource, to output: OutputFile, operand: ArchiveOperand? = nil) throws -> [MemberReport] {
        let writer = ArchiveWriter(output)
        var reports: [MemberReport] = []
        while let entry = try reader.nextMember() {
            let name = entry.memberName.text
            do {
                let second = try operand?.next(for: entry.memberName)
                reports.append(try member(entry, reader: reader, writer: writer, output: output, operand: second))
            } catch let fault as ArchiveFault where fault.member != nil {
                throw fault
            } catch let error as NPYExpError {
                throw error
            } catch {
                throw MemberFault(member: name, error: error)
            }
        }
        try reader.finish()
        try operand?.finish()
        try writer.finish()
        return reports
    }

    /// Whether an output member is deflated: like its input member, unless an option asks for one kind.
    func deflates(_ entry: ZipEntry) -> Bool {
        switch configuration.container {
        case .followInput: entry.method == Zip.deflated
        case .gzip: true
        case .plain: false
        }
    }

    private func member(
        _ entry: ZipEntry, reader: MemberSource, writer: ArchiveWriter, output: OutputFile, operand: OperandStream?
    ) throws -> MemberReport {
        let deflate = deflates(entry)
        try writer.begin(name: entry.name, utf8: entry.flags & Zip.flagUTF8 != 0, method: deflate ? Zip.deflated : Zip.stored)
        let payload: ChecksummedPayload = deflate
            ? BlockDeflatePayload(
                output, framing: .deflateSegments, level: configuration.level, strategy: configuration.strategy,
                blockSize: configuration.blockSize, jobs: configuration.jobs, writeBehind: configuration.writeBehind)
            : PlainPayload(output, checksum: true)
        let transform = ExpTransform(
            requested: configuration.outputType, promotion: configuration.promotion, jobs: configuration.jobs,
            chunkBytes: configuration.chunkBytes, sink: payload, operand: operand)
        if configuration.hashPayload { transform.hashPayload() }
        try reader.readMember { try transform.consume($0) }
        try transform.finish()
        try writer.end(crc: payload.crc, uncompressedCount: payload.uncompressedCount)
        return MemberReport(
            name: entry.memberName.text, inputDType: transform.header?.dtype, outputDType: transform.computeType?.dtype,
            shape: transform.header?.shape, elementCount: transform.elementCount, counts: transform.counts,
            payloadSHA256: transform.payloadDigest(), compression: deflate ? "deflated" : "stored")
    }
}
