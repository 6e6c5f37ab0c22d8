// Manifest: a JSON Lines record of a run, one object per input (paths, sizes and SHA-256 of input, output and
// uncompressed payload; dtypes, shape, element count, counts of +inf / NaN / 0 results; status and seconds) and a
// final summary object. Shards of one job write one manifest each; their file records concatenate into the record of
// the whole job, and summary lines (which start with `{"type":"summary"`) are easy to drop. Written atomically like
// the outputs. JSON is produced here by hand (the library avoids Foundation), with RFC 8259 string escaping.
// Relies on Files (AtomicFile, PathTools) and Checksums (sidecar provenance).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NPYFormat

/// Builds one JSON object on one line; keys keep the order they were added in.
public struct JSONObjectWriter: Sendable {
    private var body = ""

    /// An empty object.
    public init() {}

    /// The object, `{...}`, without a newline.
    public var text: String { "{" + body + "}" }

    private mutating func key(_ k: String) {
        if !body.isEmpty { body += "," }
        body += Self.quoted(k) + ":"
    }

    /// Adds a string (null when nil).
    public mutating func add(_ k: String, _ value: String?) {
        key(k)
        body += value.map(Self.quoted) ?? "null"
    }

    /// Adds an integer (null when nil).
    public mutating func add(_ k: String, _ value: Int?) {
        key(k)
        body += value.map { String($0) } ?? "null"
    }

    /// Adds a boolean (null when nil).
    public mutating func add(_ k: String, _ value: Bool?) {
        key(k)
        body += value.map { $0 ? "true" : "false" } ?? "null"
    }

    /// A finite number with six decimals (durations); non-finite values become null, as JSON has no NaN.
    public mutating func add(_ k: String, seconds value: Double?) {
        key(k)
        guard let value, value.isFinite else { body += "null"; return }
        body += Format.fixed(max(0, value), 6)
    }

    /// Adds an array of integers (null when nil).
    public mutating func add(_ k: String, _ value: [Int]?) {
        key(k)
        body += value.map { "[" + $0.map(String.init).joined(separator: ",") + "]" } ?? "null"
    }

    /// A nested object written by another writer.
    public mutating func add(_ k: String, object: JSONObjectWriter) {
        key(k)
        body += object.text
    }

    /// An array of objects (null when nil).
    public mutating func add(_ k: String, objects: [JSONObjectWriter]?) {
        key(k)
        body += objects.map { "[" + $0.map(\.text).joined(separator: ",") + "]" } ?? "null"
    }

    /// A JSON string literal: quote, backslash and control characters escaped; everything else as UTF-8.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if let byte = FileSystem.isEscapedByte(scalar) {
                    // A name byte that is not UTF-8: Python's surrogateescape form, so os.fsencode() restores it.
                    out += "\\udc" + String(byte, radix: 16)
                } else if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Manifest records for a run.
public enum Manifest {
    /// How every summary line starts, so merged manifests can drop them (`grep -v '^{"type":"summary"'`).
    public static let summaryPrefix = "{\"type\":\"summary\""

    /// The record for one input. For an input skipped because its output was already complete, the record is
    /// filled from the files: sizes from stat, the output's digest from its verified sidecar, the input's digest
    /// from the provenance line the sidecar keeps, dtypes and shape from the headers. The payload digest and the
    /// special-value counts of a skipped output are not known without recomputing it and are null.
    public static func record(_ report: FileReport) -> String {
        var o = JSONObjectWriter()
        o.add("type", "file")
        o.add("input", report.input.path)
        o.add("relative_path", report.input.relativePath)
        var inputBytes: Int? = report.inputBytes
        var inputSHA = report.inputSHA256
        var outputBytes: Int? = report.outputBytes
        var inputDType = report.inputDType
        var outputDType = report.outputDType
        var shape = report.shape
        var elements: Int? = report.elementCount
        var counts: ResultCounts? = report.counts
        var payload = report.payloadSHA256
        switch report.status {
        case .done:
            break
        case .skipped:
            inputBytes = fileSize(report.input.path)
            outputBytes = report.outputPath.flatMap(fileSize)
            if let out = report.outputPath,
                let text = Checksums.sidecarText(of: out),
                let provenance = Provenance(sidecarText: text), provenance.size == inputBytes
            {
                inputSHA = provenance.sha256
            } else {
                inputSHA = nil
            }
            inputDType = Inspection.peekHeader(report.input.path)?.header.dtype
            let outputHeader = report.outputPath.flatMap(Inspection.peekHeader)?.header
            outputDType = outputHeader?.dtype
            shape = outputHeader?.shape
            elements = outputHeader?.elementCount
            counts = nil
            payload = nil
        case .failed:
            // Only what the pipeline got to before the fault; a failed input has no output.
            inputBytes = report.input.isStandardInput ? nil : fileSize(report.input.path)
            inputSHA = nil
            outputBytes = nil
            elements = report.shape == nil ? nil : report.elementCount
            counts = nil
            payload = nil
        }
        o.add("input_bytes", inputBytes)
        o.add("input_sha256", inputSHA)
        o.add("output", report.error == nil ? report.outputPath : nil)
        o.add("output_bytes", outputBytes)
        o.add("output_sha256", report.error == nil ? report.outputSHA256 : nil)
        o.add("payload_sha256", payload)
        o.add("dtype_in", inputDType?.name)
        o.add("dtype_out", outputDType?.name)
        o.add("shape", shape)
        o.add("elements", elements)
        o.add("overflow_inf", counts?.overflowToInfinity)
        o.add("overflow_inf_narrow_dtype", counts?.narrowOverflow)
        o.add("nan", counts?.nan)
        o.add("underflow_zero", counts?.underflowToZero)
        switch report.status {
        case .done: o.add("status", "done")
        case .skipped: o.add("status", "skipped")
        case .failed: o.add("status", "failed")
        }
        o.add("error", report.error.map { $0.message })
        o.add("seconds", seconds: report.seconds)
        if report.input.path.hasSuffix(".npz") || report.members != nil {
            o.add("members", objects: report.status == .done ? report.members?.map(memberRecord) : nil)
        }
        return o.text
    }

    /// One member of an archive in its file's record.
    static func memberRecord(_ m: MemberReport) -> JSONObjectWriter {
        var o = JSONObjectWriter()
        o.add("name", m.name)
        o.add("compression", m.compression)
        o.add("payload_sha256", m.payloadSHA256)
        o.add("dtype_in", m.inputDType?.name)
        o.add("dtype_out", m.outputDType?.name)
        o.add("shape", m.shape)
        o.add("elements", m.elementCount)
        o.add("overflow_inf", m.counts.overflowToInfinity)
        o.add("overflow_inf_narrow_dtype", m.counts.narrowOverflow)
        o.add("nan", m.counts.nan)
        o.add("underflow_zero", m.counts.underflowToZero)
        return o
    }

    /// The summary record: counts by status, totals, the shard and the tool's version.
    public static func summary(
        _ reports: [FileReport], notStarted: Int = 0, seconds: Double, shard: Shard?, version: String
    ) -> String {
        var o = JSONObjectWriter()
        o.add("type", "summary")
        o.add("version", version)
        o.add("shard", shard?.description)
        o.add("files", reports.count + notStarted)
        o.add("done", reports.filter { $0.status == .done }.count)
        o.add("skipped", reports.filter { $0.status == .skipped }.count)
        o.add("failed", reports.filter { $0.error != nil }.count)
        o.add("not_started", notStarted)
        let done = reports.filter { $0.status == .done }
        o.add("input_bytes", done.reduce(0) { $0 + $1.inputBytes })
        o.add("output_bytes", done.reduce(0) { $0 + $1.outputBytes })
        o.add("seconds", seconds: seconds)
        return o.text
    }

    /// Writes the manifest: one record per report, in order, then the summary.
    public static func write(
        _ reports: [FileReport], summary: String, to path: String, durable: Bool = true
    ) throws(NPYExpError) {
        var text = ""
        for report in reports { text += record(report) + "\n" }
        text += summary + "\n"
        try AtomicText.write(text, to: path, durable: durable)
    }

    static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard FileSystem.stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }
}
