// Report: what happened to one input, as plain data for the CLI, manifests and sums files. Relies on NPYFormat.
import NPYFormat

/// What happened to one input.
public struct FileReport: Sendable {
    /// The outcome.
    public enum Status: Sendable, Equatable {
        /// The output was written.
        case done
        /// The output was already complete (its checksum verified).
        case skipped
        /// The input failed; nothing was written for it.
        case failed(NPYExpError)
    }

    /// The input.
    public var input: InputItem
    /// Where the output went (nil for standard output, or when the run failed before it was known).
    public var outputPath: String?
    /// The outcome.
    public var status: Status
    /// The input's dtype.
    public var inputDType: NPYDType?
    /// The output's dtype.
    public var outputDType: NPYDType?
    /// The array's shape.
    public var shape: [Int]?
    /// Bytes of the output file.
    public var outputBytes = 0
    /// SHA-256 of the output file.
    public var outputSHA256: String?
    /// Bytes of the input file as read (compressed, for gzip).
    public var inputBytes = 0
    /// SHA-256 of the input file's bytes as read.
    public var inputSHA256: String?
    /// SHA-256 of the uncompressed output (header and data), when `hashPayload` was set.
    public var payloadSHA256: String?
    /// Elements computed.
    public var elementCount = 0
    /// Results that became +inf, NaN or 0.
    public var counts = ResultCounts()
    /// For an .npz archive: each member's report, in archive order (nil for .npy inputs).
    public var members: [MemberReport]?
    /// Wall-clock seconds spent on the input.
    public var seconds = 0.0

    /// A report for `input` with `status` and nothing else known yet.
    public init(input: InputItem, status: Status) {
        self.input = input
        self.status = status
    }

    /// The failure, if the input failed.
    public var error: NPYExpError? {
        if case .failed(let e) = status { return e }
        return nil
    }
}
