// Conversion: turns input elements of any supported dtype and byte order into the little-endian element type the exp
// kernel computes in (torch.exp semantics: floats and complex keep their precision, integers and bool become
// float32, --dtype picks another float). Relies on NPYFormat for dtypes and on Swift's Float16.
import NPYFormat

/// The element type exp is evaluated in, which is also the output dtype.
public enum ComputeType: String, Sendable, CaseIterable {
    case float16, float32, float64, complex64, complex128

    /// The little-endian dtype written to the output header.
    public var dtype: NPYDType {
        switch self {
        case .float16: return .float16
        case .float32: return .float32
        case .float64: return .float64
        case .complex64: return .complex64
        case .complex128: return .complex128
        }
    }

    var itemSize: Int { dtype.itemSize }

    var isComplex: Bool { self == .complex64 || self == .complex128 }

    /// The output type for `input` when the user asked for `requested` (nil: follow `promotion`'s rules for integer
    /// and bool inputs; floats and complex keep their dtype under both).
    public static func resolve(input: NPYDType, requested: ComputeType?, promotion: Promotion = .torch) throws
        -> ComputeType
    {
        if input.kind == .complex {
            let own: ComputeType = input.itemSize == 8 ? .complex64 : .complex128
            if let requested, requested != own {
                throw ConversionError(
                    message: "cannot convert \(input.name) to \(requested.rawValue) (complex inputs keep their dtype)")
            }
            return own
        }
        if let requested {
            if requested.isComplex {
                throw ConversionError(message: "cannot convert \(input.name) to \(requested.rawValue)")
            }
            return requested
        }
        switch input.kind {
        case .float:
            switch input.itemSize {
            case 2: return .float16
            case 4: return .float32
            default: return .float64
            }
        default:
            return promotion == .torch ? .float32 : input.itemSize == 1 ? .float16 : input.itemSize == 2 ? .float32 : .float64
        }
    }
}

/// How integer and bool inputs are promoted to a float dtype when no output dtype is asked for.
public enum Promotion: String, Sendable, CaseIterable {
    /// torch.exp: float32 (torch's default float dtype) for every integer and bool dtype.
    case torch
    /// numpy.exp: float16 for int8, uint8 and bool, float32 for int16 and uint16, float64 for wider integers.
    case numpy
}

struct ConversionError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Converts `count` elements starting at element `start` of `source` (laid out as `dtype`) into `destination`
/// (laid out as `target`, little-endian, native alignment).
enum ElementConverter {
    /// True when the input bytes already are the kernel's input (same type, little-endian): no copy needed.
    static func isIdentity(_ dtype: NPYDType, _ target: ComputeType) -> Bool {
        let littleOrSingle = dtype.byteOrder == .little || dtype.byteOrder == .notApplicable
        return littleOrSingle && dtype.kind == target.dtype.kind && dtype.itemSize == target.itemSize
    }

    static func convert(
        _ source: UnsafeRawPointer, dtype: NPYDType, start: Int, count: Int,
        into destination: UnsafeMutableRawPointer, target: ComputeType
    ) {
        let big = dtype.byteOrder == .big
        let src = source + start * dtype.itemSize
        let dst = destination + start * target.itemSize
        switch target {
        case .float16:
            map(src, dtype, big, count, { (v: Double) in Float16(v).bitPattern }, half: { $0 }, into: dst)
        case .float32:
            map(src, dtype, big, count, { (v: Double) in Float(v) }, half: { Float(Float16(bitPattern: $0)) }, into: dst)
        case .float64:
            map(src, dtype, big, count, { (v: Double) in v }, half: { Double(Float16(bitPattern: $0)) }, into: dst)
        case .complex64:
            // Complex inputs keep their dtype, so only a byte swap can be needed.
            swapScalars(src, UInt32.self, scalars: count * 2, big: big, into: dst)
        case .complex128:
            swapScalars(src, UInt64.self, scalars: count * 2, big: big, into: dst)
        }
    }

    private static func swapScalars<T: FixedWidthInteger>(
        _ src: UnsafeRawPointer, _: T.Type, scalars: Int, big: Bool, into dst: UnsafeMutableRawPointer
    ) {
        let out = dst.assumingMemoryBound(to: T.self)
        for i in 0..<scalars {
            let raw = src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            out[i] = big ? T(bigEndian: raw) : T(littleEndian: raw)
        }
    }

    /// Reads each element as its exact value and stores `wide(value)` (or `half(bits)` for float16 sources, so
    /// that half -> half stays a copy). Integers of up to 64 bits go through Double only when the target is a float;
    /// `Float(Int64)` would round once, and so does `Float(Double(Int64))` except for rare double roundings, so
    /// 64-bit integers convert directly.
    @inline(__always)
    private static func map<D>(
        _ src: UnsafeRawPointer, _ dtype: NPYDType, _ big: Bool, _ count: Int,
        _ wide: (Double) -> D, half: (UInt16) -> D, into dst: UnsafeMutableRawPointer
    ) {
        let out = dst.assumingMemoryBound(to: D.self)
        @inline(__always) func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
            let raw = src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            return big ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        switch (dtype.kind, dtype.itemSize) {
        case (.float, 2):
            for i in 0..<count { out[i] = half(load(UInt16.self, i)) }
        case (.float, 4):
            for i in 0..<count { out[i] = wide(Double(Float(bitPattern: load(UInt32.self, i)))) }
        case (.float, 8):
            for i in 0..<count { out[i] = wide(Double(bitPattern: load(UInt64.self, i))) }
        case (.bool, _):
            for i in 0..<count { out[i] = wide(src.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0) }
        case (.signedInteger, 1):
            for i in 0..<count { out[i] = wide(Double(load(Int8.self, i))) }
        case (.signedInteger, 2):
            for i in 0..<count { out[i] = wide(Double(load(Int16.self, i))) }
        case (.signedInteger, 4):
            for i in 0..<count { out[i] = wide(Double(load(Int32.self, i))) }
        case (.signedInteger, _):
            for i in 0..<count { out[i] = wideFromInteger(load(Int64.self, i), wide) }
        case (.unsignedInteger, 1):
            for i in 0..<count { out[i] = wide(Double(load(UInt8.self, i))) }
        case (.unsignedInteger, 2):
            for i in 0..<count { out[i] = wide(Double(load(UInt16.self, i))) }
        case (.unsignedInteger, 4):
            for i in 0..<count { out[i] = wide(Double(load(UInt32.self, i))) }
        case (.unsignedInteger, _):
            for i in 0..<count { out[i] = wideFromInteger(load(UInt64.self, i), wide) }
        default:
            preconditionFailure("unsupported dtype reached the converter: \(dtype)")
        }
    }

    /// 64-bit integers: Double(v) is exact below 2^53; above, convert straight to the narrower target to round once.
    @inline(__always)
    private static func wideFromInteger<I: BinaryInteger, D>(_ v: I, _ wide: (Double) -> D) -> D {
        let d = Double(v)
        if D.self == Float.self, I(exactly: d) != v {
            return Float(v) as! D
        }
        return wide(d)
    }
}
