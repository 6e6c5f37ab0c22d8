// Backward: the gradient of exp. exp is its own derivative, so given the forward result y = exp(x) and the upstream
// gradient g, dL/dx = g * y (complex: g * conj(y)), as torch's ExpBackward computes it. Both inputs are streamed in
// lockstep (each read and inflated on its own thread ahead of the product), their shapes, orders and dtypes checked,
// and the output follows the forward command's rules: atomic, with a SHA-256 sidecar. Relies on the Reader, the
// Writer, ExpKernels.backward and Dispatch.
import ExpKernels
import NPYFormat

/// One backward job: the forward result and the upstream gradient of the same shape.
public struct BackwardPair: Sendable, Equatable {
    public var result: InputItem
    public var grad: InputItem
    public init(result: InputItem, grad: InputItem) {
        self.result = result
        self.grad = grad
    }
}

extension ExpPipeline {
    /// Writes grad * result (grad * conj(result) for complex) beside the gradient as NAME.backward.npy[.gz], or
    /// below the output directory under the gradient's relative path; to standard output when asked.
    public func backward(_ pair: BackwardPair, toStandardOutput: Bool = false) -> FileReport {
        var report = FileReport(input: pair.grad, status: .done)
        let started = Clock.now()
        do {
            try runBackward(pair, toStandardOutput: toStandardOutput, report: &report)
        } catch {
            report.status = .failed(NPYExpError(wrapping: error, path: pair.grad.path))
        }
        report.seconds = Clock.now() - started
        return report
    }

    private func runBackward(_ pair: BackwardPair, toStandardOutput: Bool, report: inout FileReport) throws {
        let resultFile = try InputFile(path: pair.result.path, exclusive: false)
        let gradFile = try InputFile(path: pair.grad.path)
        let resultReader = InputReader(file: resultFile, jobs: configuration.jobs)
        let gradReader = InputReader(file: gradFile, jobs: configuration.jobs)
        _ = try resultReader.detect()
        let container = try gradReader.detect()
        let gzip = outputIsGzip(container)
        let resultStream = PullStream(resultReader)
        let gradStream = PullStream(gradReader)
        defer {
            resultStream.stop()
            gradStream.stop()
        }
        let (resultHeader, resultLeftover) = try readHeader(resultStream, path: pair.result.path)
        let (gradHeader, gradLeftover) = try readHeader(gradStream, path: pair.grad.path)
        let type = try Self.checkPair(resultHeader, gradHeader, pair)

        let output: OutputFile
        if toStandardOutput {
            output = OutputFile(standardOutput: ())
        } else {
            let out = outputPath(for: pair.grad, inputContainer: container, suffix: "backward")
            report.outputPath = out
            if let dir = configuration.outputDirectory {
                try PathTools.checkStaysInside(
                    relativePath: pair.grad.relativePath, outputDirectory: dir, input: pair.grad.path)
            }
            try Planner.refuseReplacingInput(pair.grad.path, out)
            try Planner.refuseReplacingInput(pair.result.path, out)
            output = try OutputFile(finalPath: out)
        }
        do {
            let payload = makePayload(output, gzip: gzip)
            let header = NPYHeader(dtype: type.dtype, fortranOrder: resultHeader.fortranOrder, shape: resultHeader.shape)
            try header.encoded().withUnsafeBytes { try payload.write($0) }
            try multiply(
                count: resultHeader.elementCount, type: type,
                result: (resultStream, resultHeader.dtype, resultLeftover, pair.result.path),
                grad: (gradStream, gradHeader.dtype, gradLeftover, pair.grad.path), into: payload)
            try payload.finish()
            report.inputDType = gradHeader.dtype
            report.outputDType = type.dtype
            report.shape = resultHeader.shape
            report.elementCount = resultHeader.elementCount
            report.outputBytes = output.byteCount
            report.outputSHA256 = output.digest
            try output.writeSidecar(provenance: nil)
            try output.commit(durable: configuration.durable)
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Shapes and orders must be equal; the result must be a float or complex array and the gradient of the same
    /// dtype (byte order aside), as torch requires of a gradient.
    static func checkPair(_ r: NPYHeader, _ g: NPYHeader, _ pair: BackwardPair) throws -> ComputeType {
        func shape(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ", ") + (s.count == 1 ? ",)" : ")") }
        guard r.kind == .float || r.kind == .complex else {
            throw NPYExpError(
                path: pair.result.path, "result must be a float or complex array (the output of exp), not \(r.dtype.name)",
                category: .data)
        }
        if r.shape != g.shape {
            throw NPYExpError(
                path: pair.grad.path, "shape mismatch: result \(shape(r.shape)), gradient \(shape(g.shape))",
                category: .data)
        }
        if r.fortranOrder != g.fortranOrder {
            throw NPYExpError(
                path: pair.grad.path, "memory order mismatch: result fortran_order \(r.fortranOrder ? "True" : "False"), gradient \(g.fortranOrder ? "True" : "False")",
                category: .data)
        }
        if r.dtype.kind != g.dtype.kind || r.dtype.itemSize != g.dtype.itemSize {
            throw NPYExpError(
                path: pair.grad.path, "dtype mismatch: result \(r.dtype.name), gradient \(g.dtype.name)", category: .data)
        }
        return try ComputeType.resolve(input: r.dtype, requested: nil)
    }

    /// Reads a stream up to the end of its NPY header; returns the header and the data bytes read past it.
    /// Faults name the side's own file.
    private func readHeader(_ stream: PullStream, path: String) throws -> (NPYHeader, [UInt8]) {
        var bytes: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 256)
        do {
            while true {
                let n = try piece.withUnsafeMutableBytes { try stream.read(into: $0.baseAddress!, count: $0.count) }
                bytes += piece[..<n]
                let parsed = try bytes.withUnsafeBytes { try NPYHeader.parse($0) }
                if let (header, used) = parsed { return (header, Array(bytes[used...])) }
                if n == 0 { throw bytes.isEmpty ? NPYStreamFault.empty : .truncatedHeader(after: bytes.count) }
            }
        } catch {
            throw NPYExpError(wrapping: error, path: path)
        }
    }

    private typealias Side = (stream: PullStream, dtype: NPYDType, leftover: [UInt8], path: String)

    /// The element loop: equal-sized chunks of both inputs, converted to the compute type, multiplied on all cores.
    private func multiply(count: Int, type: ComputeType, result: Side, grad: Side, into payload: PayloadSink) throws {
        let itemSize = result.dtype.itemSize
        let perChunk = max(1, configuration.chunkBytes / itemSize)
        let capacity = min(perChunk, max(count, 1))
        let rawResult = AlignedBuffer(byteCount: capacity * itemSize)
        let rawGrad = AlignedBuffer(byteCount: capacity * itemSize)
        let out = AlignedBuffer(byteCount: capacity * type.itemSize)
        var leftovers = [result.leftover, grad.leftover]
        var done = 0
        while done < count {
            let n = min(perChunk, count - done)
            for (k, side) in [result, grad].enumerated() {
                let buffer = k == 0 ? rawResult : rawGrad
                let want = n * itemSize
                let fromLeftover = min(want, leftovers[k].count)
                leftovers[k].withUnsafeBytes { buffer.base.copyMemory(from: $0.baseAddress!, byteCount: fromLeftover) }
                leftovers[k].removeFirst(fromLeftover)
                let got = fromLeftover + (try Self.read(side, into: buffer.base + fromLeftover, count: want - fromLeftover))
                if got < want {
                    let failure = NPYStreamFault.shortData(expected: count * itemSize, got: done * itemSize + got)
                    throw NPYExpError(wrapping: failure, path: side.path)
                }
            }
            Self.product(
                type: type, n: n, jobs: configuration.jobs, result: (rawResult, result.dtype),
                grad: (rawGrad, grad.dtype), out: out)
            try payload.write(UnsafeRawBufferPointer(start: out.base, count: n * type.itemSize))
            done += n
        }
        for (k, side) in [result, grad].enumerated() {
            var extra = leftovers[k].count
            var probe = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = try probe.withUnsafeMutableBytes { try Self.read(side, into: $0.baseAddress!, count: $0.count) }
                if n == 0 { break }
                extra += n
            }
            if extra > 0 {
                let failure = NPYStreamFault.trailingBytes(expected: count * itemSize, extra: extra)
                throw NPYExpError(wrapping: failure, path: side.path)
            }
        }
    }

    /// Reads from one side; its faults (gzip, read errors) name that side's file.
    private static func read(_ side: Side, into destination: UnsafeMutableRawPointer, count: Int) throws -> Int {
        do {
            return try side.stream.read(into: destination, count: count)
        } catch {
            throw NPYExpError(wrapping: error, path: side.path)
        }
    }

    private static func product(
        type: ComputeType, n: Int, jobs: Int, result: (AlignedBuffer, NPYDType), grad: (AlignedBuffer, NPYDType),
        out: AlignedBuffer
    ) {
        // Bring both operands to little-endian compute layout in place (a byte swap at most: same dtype).
        let r = SharedPointer(raw: result.0.base)
        let g = SharedPointer(raw: grad.0.base)
        let o = SharedPointer(raw: out.base)
        let rType = result.1
        let gType = grad.1
        Parallel.slices(of: n, jobs: jobs) { _, range in
            if rType.byteOrder == .big {
                ElementConverter.convert(
                    UnsafeRawPointer(r.raw), dtype: rType, start: range.lowerBound, count: range.count, into: r.raw,
                    target: type)
            }
            if gType.byteOrder == .big {
                ElementConverter.convert(
                    UnsafeRawPointer(g.raw), dtype: gType, start: range.lowerBound, count: range.count, into: g.raw,
                    target: type)
            }
            let offset = range.lowerBound * type.itemSize
            Self.kernel(type, r.raw + offset, g.raw + offset, o.raw + offset, range.count)
        }
    }

    private static func kernel(
        _ type: ComputeType, _ r: UnsafeMutableRawPointer, _ g: UnsafeMutableRawPointer, _ o: UnsafeMutableRawPointer,
        _ n: Int
    ) {
        func buffers<T>(_: T.Type, _ count: Int) -> (UnsafeBufferPointer<T>, UnsafeBufferPointer<T>, UnsafeMutableBufferPointer<T>) {
            (
                UnsafeBufferPointer(start: r.assumingMemoryBound(to: T.self), count: count),
                UnsafeBufferPointer(start: g.assumingMemoryBound(to: T.self), count: count),
                UnsafeMutableBufferPointer(start: o.assumingMemoryBound(to: T.self), count: count)
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

extension NPYHeader {
    var kind: NPYScalarKind { dtype.kind }
}
