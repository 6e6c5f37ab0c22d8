// Backward: the gradient of exp as the second element-wise operation of the same transform. exp is its own
// derivative, so given the forward result y = exp(x) and the upstream gradient g, dL/dx = g * y (complex:
// g * conj(y)), as torch's ExpBackward computes it. The gradient is the job's input, read like any input; the result
// is its second operand, an `OperandStream` read and inflated on its own thread and pulled in lockstep, chunk for
// chunk. Shapes, orders and dtypes are checked once both headers are known. Relies on the Handoff (PullStream),
// NPYFormat's stream parser and the pipeline.
import NPYFormat

/// One backward job: the forward result and the upstream gradient of the same shape.
public struct BackwardPair: Sendable, Equatable {
    /// The forward output, y = exp(x).
    public var result: InputItem
    /// The upstream gradient dL/dy; the output is named after it.
    public var grad: InputItem
    /// A pair of inputs.
    public init(result: InputItem, grad: InputItem) {
        self.result = result
        self.grad = grad
    }
}

extension BackwardPair {
    /// Pairs the inputs two arguments name: two files pair with each other; otherwise (directories, globs) each
    /// gradient pairs with the result of the same relative path. Gradients without a result, and results without
    /// a gradient, are problems (reported; the other pairs go on).
    public static func pairs(results: [InputItem], grads: [InputItem]) -> (pairs: [BackwardPair], problems: [NPYExpError]) {
        if results.count == 1 && grads.count == 1 && results[0].origin == .named && grads[0].origin == .named {
            return ([BackwardPair(result: results[0], grad: grads[0])], [])
        }
        var byPath: [String: InputItem] = [:]
        for r in results { byPath[r.relativePath] = r }
        var pairs: [BackwardPair] = []
        var problems: [NPYExpError] = []
        var used: Set<String> = []
        for g in grads {
            if let r = byPath[g.relativePath] {
                pairs.append(BackwardPair(result: r, grad: g))
                used.insert(g.relativePath)
            } else {
                problems.append(
                    NPYExpError(path: g.path, "no forward result with the relative path \(g.relativePath)", category: .noInput))
            }
        }
        for r in results where !used.contains(r.relativePath) {
            problems.append(NPYExpError(path: r.path, "no gradient with the relative path \(r.relativePath)", category: .noInput))
        }
        return (pairs, problems)
    }
}

extension ExpPipeline {
    /// Writes grad * result (grad * conj(result) for complex) beside the gradient as NAME.backward.npy[.gz], or
    /// below the output directory under the gradient's relative path; to standard output when asked.
    public func backward(_ pair: BackwardPair, toStandardOutput: Bool = false) -> FileReport {
        run(pair.grad, target: toStandardOutput ? .standardOutput : .file(planned: nil), wait: true, operand: pair.result)
            .report
    }
}

/// The second operand of a two-input operation: a decompressed .npy stream whose header is read first and whose
/// data is then pulled in exact amounts. Its faults name its own file (and member, for one member of an archive).
final class OperandStream {
    /// The operand's path, for messages.
    let path: String
    /// The archive member it is, for messages; nil for a whole file.
    private let member: String?
    /// Its header.
    let header: NPYHeader
    private let stream: PullStream
    private var parser: NPYStreamParser
    private var pending: [UInt8]
    private var pendingOffset = 0

    /// Starts reading `reader` on its own thread and reads the header.
    convenience init(_ reader: InputReader, path: String, chunkBytes: Int) throws {
        try self.init(PullStream(reader, depth: 2, chunkBytes: chunkBytes), path: path, member: nil)
    }

    /// The operand at the current position of `stream`: a whole file (`member` nil: this operand owns the stream and
    /// stops it), or one member of an archive whose members follow each other in `stream` (the header is then read
    /// byte for byte, so that nothing of the next member is taken).
    init(_ stream: PullStream, path: String, member: String?) throws {
        self.path = path
        self.member = member
        var parser = NPYStreamParser()
        var found: NPYHeader?
        var data: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: member == nil ? 4096 : 1)
        do {
            while found == nil {
                let n = try piece.withUnsafeMutableBytes { try stream.read(into: $0.baseAddress!, count: $0.count) }
                if n == 0 {
                    try parser.finish()  // throws: the stream ended in the header
                    break
                }
                try piece.withUnsafeBytes { raw in
                    try parser.feed(
                        UnsafeRawBufferPointer(rebasing: raw[..<n]), onHeader: { found = $0 },
                        onData: { data.append(contentsOf: $0) })
                }
            }
        } catch {
            if member == nil { stream.stop() }
            throw Self.fault(error, path: path, member: member)
        }
        self.stream = stream
        self.parser = parser
        header = found!
        pending = data
    }

    deinit { if member == nil { stream.stop() } }

    /// A fault of this operand, naming its file (and member).
    private static func fault(_ error: any Error, path: String, member: String?) -> NPYExpError {
        var wrapped = NPYExpError(wrapping: error, path: path)
        if let member, !(error is NPYExpError) { wrapped.message = "member '\(member)': " + wrapped.message }
        return wrapped
    }

    /// Fills `count` bytes at `destination` with the next array data; short data is a fault of this file.
    func read(into destination: UnsafeMutableRawPointer, count: Int) throws {
        var copied = 0
        let fromPending = min(count, pending.count - pendingOffset)
        if fromPending > 0 {
            pending.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + pendingOffset, byteCount: fromPending) }
            pendingOffset += fromPending
            copied = fromPending
        }
        do {
            while copied < count {
                let n = try stream.read(into: destination + copied, count: count - copied)
                if n == 0 { break }
                try parser.feed(UnsafeRawBufferPointer(start: destination + copied, count: n)) { _ in }
                copied += n
            }
            if copied < count { try parser.finish() }  // throws the short-data fault with the right counts
        } catch {
            throw Self.fault(error, path: path, member: member)
        }
    }

    /// The end: anything left in the operand after the array is a fault of this file. (An archive member ends where
    /// its array does: what follows is the next member.)
    func finish() throws {
        var probe = [UInt8](repeating: 0, count: 65536)
        do {
            while member == nil {
                let n = try probe.withUnsafeMutableBytes { try stream.read(into: $0.baseAddress!, count: $0.count) }
                if n == 0 { break }
                try probe.withUnsafeBytes { try parser.feed(UnsafeRawBufferPointer(rebasing: $0[..<n])) { _ in } }
            }
            try parser.finish()
        } catch {
            throw Self.fault(error, path: path, member: member)
        }
    }

    /// Shapes and orders must be equal; the result must be a float or complex array and the gradient of the same
    /// dtype (byte order aside), as torch requires of a gradient. Returns the type the product is computed in.
    static func checkPair(result r: NPYHeader, resultPath: String, grad g: NPYHeader, requested: ComputeType?) throws
        -> ComputeType
    {
        guard r.dtype.kind == .float || r.dtype.kind == .complex else {
            throw NPYExpError(
                path: resultPath, "result must be a float or complex array (the output of exp), not \(r.dtype.name)",
                category: .data)
        }
        // The gradient's own messages name the gradient: the caller wraps them with its path.
        if r.shape != g.shape {
            throw PairMismatch("shape mismatch: result \(Format.shape(r.shape)), gradient \(Format.shape(g.shape))")
        }
        if r.fortranOrder != g.fortranOrder {
            throw PairMismatch(
                "memory order mismatch: result fortran_order \(r.fortranOrder ? "True" : "False"), gradient \(g.fortranOrder ? "True" : "False")"
            )
        }
        if r.dtype.kind != g.dtype.kind || r.dtype.itemSize != g.dtype.itemSize {
            throw PairMismatch("dtype mismatch: result \(r.dtype.name), gradient \(g.dtype.name)")
        }
        return try ComputeType.resolve(input: r.dtype, requested: requested)
    }
}

/// A result and gradient that do not belong together (shape, order or dtype).
struct PairMismatch: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
