// Transform: the NPY stage of the pipeline. It takes the decompressed input stream in pieces of any size through the
// stream parser (NPYFormat), converts the elements and applies the element-wise operation (ExpKernels) on all cores,
// and hands the output header and data to the output encoder. Whole elements of a piece go straight from the piece
// into the encoder's own batch buffer (exp reads one and writes the other: no copy on the way, where the payload
// used to be copied twice); what is left over, and every piece of backward, is gathered into element-aligned chunks.
// The operation is exp, or exp's backward, which takes a second operand (the forward result) read in lockstep from
// an `OperandStream`: one transform, one or two inputs. Memory is a few chunk buffers whatever the tensor's size.
// Relies on NPYFormat, ExpKernels, Parallel.
import Crypto
import ExpKernels
import NPYFormat

/// What an element-wise operation does to one chunk of compute-typed elements.
enum ElementOperation: Sendable {
    /// exp(x).
    case exp
    /// exp's gradient: grad * result (grad * conj(result) for complex), with the result as second operand.
    case backward

    /// exp of `count` elements at `x`, into `y` (the same memory, or memory that does not overlap it).
    static func exp(_ type: ComputeType, _ x: UnsafeRawPointer, into y: UnsafeMutableRawPointer, count: Int) {
        func buffers<T>(_: T.Type, _ n: Int) -> (UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) {
            (UnsafeBufferPointer(start: x.assumingMemoryBound(to: T.self), count: n),
             UnsafeMutableBufferPointer(start: y.assumingMemoryBound(to: T.self), count: n))
        }
        switch type {
        case .float32:
            let (a, b) = buffers(Float.self, count)
            ExpKernels.exp(a, into: b)
        case .float64:
            let (a, b) = buffers(Double.self, count)
            ExpKernels.exp(a, into: b)
        case .float16:
            let (a, b) = buffers(UInt16.self, count)
            ExpKernels.exp(half: a, into: b)
        case .complex64:
            let (a, b) = buffers(Float.self, count * 2)
            ExpKernels.exp(complex: a, into: b)
        case .complex128:
            let (a, b) = buffers(Double.self, count * 2)
            ExpKernels.exp(complex: a, into: b)
        }
    }
}

extension ElementOperation {
    /// grad * result of `count` elements, written over the gradient at `g`.
    static func backward(_ type: ComputeType, result r: UnsafeMutableRawPointer, grad g: UnsafeMutableRawPointer, count n: Int) {
        func buffers<T>(_: T.Type, _ count: Int) -> (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) {
            (
                UnsafeBufferPointer(start: r.assumingMemoryBound(to: T.self), count: count),
                UnsafeBufferPointer(start: g.assumingMemoryBound(to: T.self), count: count),
                UnsafeMutableBufferPointer(start: g.assumingMemoryBound(to: T.self), count: count)
            )
        }
        switch type {
        case .float16:
            let (a, b, c) = buffers(UInt16.self, n)
            ExpKernels.backward(halfResult: a, grad: b, into: c)
        case .float32:
            let (a, b, c) = buffers(Float.self, n)
            ExpKernels.backward(result: a, grad: b, into: c)
        case .float64:
            let (a, b, c) = buffers(Double.self, n)
            ExpKernels.backward(result: a, grad: b, into: c)
        case .complex64:
            let (a, b, c) = buffers(Float.self, 2 * n)
            ExpKernels.backward(complexResult: a, grad: b, into: c)
        case .complex128:
            let (a, b, c) = buffers(Double.self, 2 * n)
            ExpKernels.backward(complexResult: a, grad: b, into: c)
        }
    }
}

/// Counts of special results in the output, for reports. Complex outputs are counted per component.
public struct ResultCounts: Sendable, Equatable {
    /// Results that are +inf (from finite inputs too large for the output dtype, or +inf inputs).
    public var overflowToInfinity = 0
    /// Results that are NaN.
    public var nan = 0
    /// Results that are 0 (inputs so negative that exp underflows, or -inf).
    public var underflowToZero = 0
    /// Results that overflowed to +inf only because the output dtype is narrow: the input was finite and at most
    /// ln(Double.greatestFiniteMagnitude), so exp in float64 would be finite (`--dtype float64` keeps them). Always 0
    /// for float64 and complex outputs; included in `overflowToInfinity`.
    public var narrowOverflow = 0
    /// All counts zero.
    public init() {}

    static func + (a: ResultCounts, b: ResultCounts) -> ResultCounts {
        var r = a
        r.overflowToInfinity += b.overflowToInfinity
        r.nan += b.nan
        r.underflowToZero += b.underflowToZero
        r.narrowOverflow += b.narrowOverflow
        return r
    }

    /// Counts +inf, NaN and zero among `count` float16 scalars (float32 and float64 are counted by the vectorised
    /// `ExpKernels.classify`).
    static func of(_ p: UnsafePointer<Float16>, count: Int) -> ResultCounts {
        var r = ResultCounts()
        for i in 0..<count {
            let v = p[i]
            if v.isNaN {
                r.nan += 1
            } else if v == .infinity {
                r.overflowToInfinity += 1
            } else if v == 0 {
                r.underflowToZero += 1
            }
        }
        return r
    }

    /// `ExpKernels.classify`'s counts as a report's.
    private init(_ c: (nan: Int, infinity: Int, zero: Int)) {
        nan = c.nan
        overflowToInfinity = c.infinity
        underflowToZero = c.zero
    }

    /// Elements (before exp) whose exp is +inf even in float64: above ln(Double.greatestFiniteMagnitude) =
    /// 709.7827..., or +inf. Compared in the element's own type against the first value above that limit (float32
    /// 709.78271484375, float16 710).
    static func beyondFloat64(_ type: ComputeType, _ p: UnsafeRawPointer, count: Int) -> Int {
        switch type {
        case .float16:
            let values = p.assumingMemoryBound(to: Float16.self)
            return (0..<count).reduce(0) { $0 + (values[$1] >= 710 ? 1 : 0) }
        case .float32:
            return ExpKernels.count(
                UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: count),
                atLeast: 709.78271484375)
        case .float64, .complex64, .complex128: return 0
        }
    }

    static func of(_ type: ComputeType, _ p: UnsafeRawPointer, count: Int) -> ResultCounts {
        func floats<F>(_: F.Type, _ n: Int) -> UnsafeBufferPointer<F> {
            UnsafeBufferPointer(start: p.assumingMemoryBound(to: F.self), count: n)
        }
        switch type {
        case .float16: return of(p.assumingMemoryBound(to: Float16.self), count: count)
        case .float32: return ResultCounts(ExpKernels.classify(floats(Float.self, count)))
        case .float64: return ResultCounts(ExpKernels.classify(floats(Double.self, count)))
        case .complex64: return ResultCounts(ExpKernels.classify(floats(Float.self, 2 * count)))
        case .complex128: return ResultCounts(ExpKernels.classify(floats(Double.self, 2 * count)))
        }
    }
}

/// The NPY stage: takes the decompressed input through the stream parser and writes the result of the
/// element-wise operation to a `PayloadSink`.
final class ExpTransform {
    private let requested: ComputeType?
    private let promotion: Promotion
    private let jobs: Int
    private let chunkBytes: Int
    private let sink: PayloadSink
    /// The second operand (the forward result) for backward; nil for exp.
    private let operand: OperandStream?

    private var parser = NPYStreamParser()
    private(set) var header: NPYHeader?
    private(set) var computeType: ComputeType?
    private var inputChunk: AlignedBuffer?
    private var outputChunk: AlignedBuffer?
    private var operandChunk: AlignedBuffer?
    private var operandConverted: AlignedBuffer?
    private var filled = 0  // bytes in inputChunk
    private(set) var counts = ResultCounts()
    /// SHA-256 of the uncompressed output payload (header and data), when asked for.
    private var payloadHasher: SHA256?
    private(set) var elementCount = 0

    /// `promotion` picks the output dtype of integer and bool inputs when `requested` is nil (exp only; backward's
    /// dtype comes from its operand pair).
    init(
        requested: ComputeType?, promotion: Promotion = .torch, jobs: Int, chunkBytes: Int, sink: PayloadSink,
        operand: OperandStream? = nil
    ) {
        self.requested = requested
        self.promotion = promotion
        self.jobs = max(1, jobs)
        self.chunkBytes = max(chunkBytes, 4096)
        self.sink = sink
        self.operand = operand
    }

    /// Also hash the uncompressed output (for manifests); costs one serial SHA-256 pass.
    func hashPayload() { payloadHasher = SHA256() }

    /// Hex SHA-256 of the uncompressed output payload, if `hashPayload()` was called.
    func payloadDigest() -> String? { payloadHasher.map { Checksums.hex($0.finalize()) } }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        payloadHasher?.update(bufferPointer: bytes)
        try sink.write(bytes)
    }

    /// Feeds the next piece of the decompressed input.
    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        try parser.feed(bytes, onHeader: { try self.start($0) }, onData: { try self.consumeData($0) })
    }

    /// End of input: checks the stream (and the operand's), processes the last partial chunk, finishes the encoding.
    func finish() throws {
        try parser.finish()
        if filled > 0 { try processChunk(filled) }
        filled = 0
        try operand?.finish()
        try sink.finish()
    }

    private func start(_ h: NPYHeader) throws {
        let type: ComputeType
        if let operand {
            type = try OperandStream.checkPair(result: operand.header, resultPath: operand.path, grad: h, requested: requested)
        } else {
            type = try ComputeType.resolve(input: h.dtype, requested: requested, promotion: promotion)
        }
        header = h
        computeType = type
        let widest = max(h.dtype.itemSize, type.itemSize)
        let elementsPerChunk = max(1, chunkBytes / widest)
        let needed = min(elementsPerChunk, max(h.elementCount, 1))
        inputChunk = AlignedBuffer(byteCount: needed * h.dtype.itemSize)
        outputChunk = ElementConverter.isIdentity(h.dtype, type) ? nil : AlignedBuffer(byteCount: needed * type.itemSize)
        if let operand {
            operandChunk = AlignedBuffer(byteCount: needed * operand.header.dtype.itemSize)
            if !ElementConverter.isIdentity(operand.header.dtype, type) {
                operandConverted = AlignedBuffer(byteCount: needed * type.itemSize)
            }
        }
        let fortran = operand?.header.fortranOrder ?? h.fortranOrder
        let encoded = NPYHeader(dtype: type.dtype, fortranOrder: fortran, shape: h.shape).encoded()
        try encoded.withUnsafeBytes { try emit($0) }
    }

    /// Array bytes (never past the declared length). Whole elements go straight from the piece into the sink's own
    /// buffer where it has one (exp reads the piece and writes its result there: no copy); the rest is gathered
    /// into element-aligned chunks.
    private func consumeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let chunk = inputChunk, let h = header, let type = computeType else { return }
        var rest = bytes
        if operand == nil {
            let itemSize = h.dtype.itemSize, maxElements = chunk.count / itemSize
            while filled == 0 && rest.count >= itemSize {
                let wanted = min(rest.count / itemSize, maxElements)
                guard let room = sink.reserve(wanted * type.itemSize) else { break }
                let count = room.count / type.itemSize
                guard count > 0 else { break }
                let results = UnsafeMutableRawBufferPointer(start: room.baseAddress!, count: count * type.itemSize)
                try apply(source: rest.baseAddress!, count: count, into: results.baseAddress!)
                payloadHasher?.update(bufferPointer: UnsafeRawBufferPointer(results))
                try sink.commitReserved(results.count)
                rest = UnsafeRawBufferPointer(rebasing: rest[(count * itemSize)...])
            }
        }
        var filled = self.filled
        defer { self.filled = filled }
        try chunk.gather(rest, filled: &filled) { try processChunk($0) }
    }

    /// Converts the chunk (and the operand's matching elements) to the compute type and applies the operation on
    /// all cores, then hands the result on.
    private func processChunk(_ byteCount: Int) throws {
        guard let h = header, let type = computeType, let input = inputChunk else { return }
        let count = byteCount / h.dtype.itemSize
        let target = outputChunk ?? input
        try apply(source: UnsafeRawPointer(input.base), count: count, into: target.base)
        try emit(UnsafeRawBufferPointer(start: target.base, count: count * type.itemSize))
    }

    /// The operation on `count` input elements at `source`, results (compute type) at `target`, which may be the
    /// same memory (for backward it must be), on all cores: each slice touches only its own range of every buffer.
    /// For backward, the operand's matching elements are read first.
    private func apply(source: UnsafeRawPointer, count: Int, into target: UnsafeMutableRawPointer) throws {
        guard let h = header, let type = computeType else { return }
        let dtype = h.dtype
        let inBase = SharedPointer(raw: UnsafeMutableRawPointer(mutating: source))
        let outBase = SharedPointer(raw: target)
        let identity = ElementConverter.isIdentity(dtype, type)
        precondition(operand == nil || !identity || source == UnsafeRawPointer(target), "backward works in place")
        var second: (raw: SharedPointer, converted: SharedPointer?, dtype: NPYDType)?
        if let operand, let operandChunk {
            try operand.read(into: operandChunk.base, count: count * operand.header.dtype.itemSize)
            second = (SharedPointer(raw: operandChunk.base), operandConverted.map { SharedPointer(raw: $0.base) },
                      operand.header.dtype)
        }
        let operandView = second
        let perSlice = Parallel.slices(of: count, jobs: jobs) { range -> ResultCounts in
            let results = outBase.raw + range.lowerBound * type.itemSize
            // What exp reads: the converted elements (written to the results first), or the input itself.
            let arguments =
                identity ? UnsafeRawPointer(inBase.raw) + range.lowerBound * type.itemSize : UnsafeRawPointer(results)
            if !identity {
                ElementConverter.convert(
                    UnsafeRawPointer(inBase.raw), dtype: dtype, start: range.lowerBound, count: range.count,
                    into: outBase.raw, target: type)
            }
            if let operandView {
                // Backward works in place on the gathered gradient (it never takes the direct route).
                let converted = operandView.converted ?? operandView.raw
                if operandView.converted != nil {
                    ElementConverter.convert(
                        UnsafeRawPointer(operandView.raw.raw), dtype: operandView.dtype, start: range.lowerBound,
                        count: range.count, into: converted.raw, target: type)
                }
                ElementOperation.backward(
                    type, result: converted.raw + range.lowerBound * type.itemSize, grad: results, count: range.count)
                return ResultCounts.of(type, UnsafeRawPointer(results), count: range.count)
            }
            let beyond = ResultCounts.beyondFloat64(type, arguments, count: range.count)
            ElementOperation.exp(type, arguments, into: results, count: range.count)
            var counted = ResultCounts.of(type, UnsafeRawPointer(results), count: range.count)
            if type == .float16 || type == .float32 { counted.narrowOverflow = counted.overflowToInfinity - beyond }
            return counted
        }
        counts = perSlice.reduce(counts, +)
        elementCount += count
    }
}
