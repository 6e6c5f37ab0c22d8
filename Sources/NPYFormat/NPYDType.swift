// NPYFormat: the simple numeric dtypes npyexp reads and writes, and their numpy descr strings.
// Relies on nothing but the Swift standard library.

/// Element kinds npyexp understands.
public enum NPYScalarKind: Sendable, Equatable {
    case bool, signedInteger, unsignedInteger, float, complex

    /// The array-interface type character numpy writes in descr.
    var typeCharacter: UInt8 {
        switch self {
        case .bool: UInt8(ascii: "b")
        case .signedInteger: UInt8(ascii: "i")
        case .unsignedInteger: UInt8(ascii: "u")
        case .float: UInt8(ascii: "f")
        case .complex: UInt8(ascii: "c")
        }
    }
}

/// Byte order of a dtype as written in descr.
/// '|' (and any order on a one-byte type) -> notApplicable; '=' or no prefix -> the host's order (little on x86_64).
public enum NPYByteOrder: Sendable, Equatable {
    case little, big, notApplicable

    /// The byte order of the machine running this code.
    public static var host: NPYByteOrder {
        #if _endian(big)
        return .big
        #else
        return .little
        #endif
    }
}

/// A simple (non-structured) dtype: bool, int8...int64, uint8...uint64, float16/32/64, complex64/128.
///
/// Values are normalised like numpy's own dtypes, so equal dtypes compare equal whatever the spelling:
/// one-byte types always have `.notApplicable` order, wider types `.little` or `.big`.
public struct NPYDType: Sendable, Equatable, CustomStringConvertible {
    /// What an element is.
    public var kind: NPYScalarKind
    /// Bytes per element: 1, 2, 4, 8 (complex: 8 or 16).
    public var itemSize: Int
    /// Order of the bytes within an element (within each part, for complex).
    public var byteOrder: NPYByteOrder

    /// Makes a dtype; the byte order is normalised (one-byte types: `.notApplicable`; wider types given
    /// `.notApplicable`: the host's order, as numpy reads '|f4').
    public init(kind: NPYScalarKind, itemSize: Int, byteOrder: NPYByteOrder) {
        self.kind = kind
        self.itemSize = itemSize
        self.byteOrder = itemSize == 1 ? .notApplicable : (byteOrder == .notApplicable ? .host : byteOrder)
    }

    /// Parses an array-interface descr as numpy writes or reads it: an optional order character
    /// ('<', '>', '|', '='), then b1, i1/2/4/8, u1/2/4/8, f2/4/8, c8/c16, or one of numpy's one-letter
    /// codes for those types ('?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'e', 'f', 'd', 'F', 'D', ...).
    public init(descr: String) throws(NPYFormatError) {
        var copy = descr
        let parsed = copy.withUTF8 { NPYDType.parse(UnsafeRawBufferPointer($0)) }
        guard let parsed else { throw NPYDType.unsupported(Array(descr.unicodeScalars)) }
        self = parsed
    }

    /// What np.save writes for this dtype: "<f4", ">f8", "|u1", "|b1", "<c8" ...
    public var descr: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4)
        appendDescr(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// numpy's dtype name: "float32", "complex64", "int16", "uint8", "bool" ...
    public var name: String {
        switch kind {
        case .bool: return "bool"
        case .signedInteger: return "int\(itemSize * 8)"
        case .unsignedInteger: return "uint\(itemSize * 8)"
        case .float: return "float\(itemSize * 8)"
        case .complex: return "complex\(itemSize * 8)"
        }
    }

    /// Same as `name`.
    public var description: String { name }

    /// Little-endian IEEE half precision, "<f2".
    public static let float16 = NPYDType(kind: .float, itemSize: 2, byteOrder: .little)
    /// Little-endian IEEE single precision, "<f4".
    public static let float32 = NPYDType(kind: .float, itemSize: 4, byteOrder: .little)
    /// Little-endian IEEE double precision, "<f8".
    public static let float64 = NPYDType(kind: .float, itemSize: 8, byteOrder: .little)
    /// Little-endian pair of float32, "<c8".
    public static let complex64 = NPYDType(kind: .complex, itemSize: 8, byteOrder: .little)
    /// Little-endian pair of float64, "<c16".
    public static let complex128 = NPYDType(kind: .complex, itemSize: 16, byteOrder: .little)
    /// numpy's bool, one byte 0 or 1, "|b1".
    public static let bool = NPYDType(kind: .bool, itemSize: 1, byteOrder: .notApplicable)
    /// "|i1".
    public static let int8 = NPYDType(kind: .signedInteger, itemSize: 1, byteOrder: .notApplicable)
    /// "<i2".
    public static let int16 = NPYDType(kind: .signedInteger, itemSize: 2, byteOrder: .little)
    /// "<i4".
    public static let int32 = NPYDType(kind: .signedInteger, itemSize: 4, byteOrder: .little)
    /// "<i8".
    public static let int64 = NPYDType(kind: .signedInteger, itemSize: 8, byteOrder: .little)
    /// "|u1".
    public static let uint8 = NPYDType(kind: .unsignedInteger, itemSize: 1, byteOrder: .notApplicable)
    /// "<u2".
    public static let uint16 = NPYDType(kind: .unsignedInteger, itemSize: 2, byteOrder: .little)
    /// "<u4".
    public static let uint32 = NPYDType(kind: .unsignedInteger, itemSize: 4, byteOrder: .little)
    /// "<u8".
    public static let uint64 = NPYDType(kind: .unsignedInteger, itemSize: 8, byteOrder: .little)

    func appendDescr(to bytes: inout [UInt8]) {
        switch byteOrder {
        case .notApplicable: bytes.append(UInt8(ascii: "|"))
        case .little: bytes.append(UInt8(ascii: "<"))
        case .big: bytes.append(UInt8(ascii: ">"))
        }
        bytes.append(kind.typeCharacter)
        appendDecimal(itemSize, to: &bytes)
    }

    /// nil unless `text` is one of the supported spellings; allocation-free.
    static func parse(_ text: UnsafeRawBufferPointer) -> NPYDType? {
        var i = 0
        var order = NPYByteOrder.host
        if let first = text.first {
            switch first {
            case UInt8(ascii: "<"): order = .little; i = 1
            case UInt8(ascii: ">"): order = .big; i = 1
            case UInt8(ascii: "|"), UInt8(ascii: "="): i = 1
            default: break
            }
        }
        guard i < text.count else { return nil }
        let typeChar = text[i]
        i += 1
        if i == text.count {
            // numpy also reads its one-letter type codes; sizes are those of numpy on LP64 Linux and macOS.
            guard let (kind, size) = typeCode(typeChar) else { return nil }
            return NPYDType(kind: kind, itemSize: size, byteOrder: order)
        }
        // Size: 1 or 2 decimal digits, no leading zero.
        guard i < text.count, text.count - i <= 2, text[i] != UInt8(ascii: "0") else { return nil }
        var size = 0
        while i < text.count {
            let d = text[i]
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            size = size * 10 + Int(d - UInt8(ascii: "0"))
            i += 1
        }
        let kind: NPYScalarKind
        switch (typeChar, size) {
        case (UInt8(ascii: "b"), 1): kind = .bool
        case (UInt8(ascii: "i"), 1), (UInt8(ascii: "i"), 2), (UInt8(ascii: "i"), 4), (UInt8(ascii: "i"), 8):
            kind = .signedInteger
        case (UInt8(ascii: "u"), 1), (UInt8(ascii: "u"), 2), (UInt8(ascii: "u"), 4), (UInt8(ascii: "u"), 8):
            kind = .unsignedInteger
        case (UInt8(ascii: "f"), 2), (UInt8(ascii: "f"), 4), (UInt8(ascii: "f"), 8): kind = .float
        case (UInt8(ascii: "c"), 8), (UInt8(ascii: "c"), 16): kind = .complex
        default: return nil
        }
        return NPYDType(kind: kind, itemSize: size, byteOrder: order)
    }

    /// numpy's one-letter type codes for the supported kinds ('b' is int8 there, unlike 'b1').
    static func typeCode(_ c: UInt8) -> (NPYScalarKind, Int)? {
        switch c {
        case UInt8(ascii: "?"): (.bool, 1)
        case UInt8(ascii: "b"): (.signedInteger, 1)
        case UInt8(ascii: "B"): (.unsignedInteger, 1)
        case UInt8(ascii: "h"): (.signedInteger, 2)
        case UInt8(ascii: "H"): (.unsignedInteger, 2)
        case UInt8(ascii: "i"): (.signedInteger, 4)
        case UInt8(ascii: "I"): (.unsignedInteger, 4)
        case UInt8(ascii: "l"), UInt8(ascii: "q"), UInt8(ascii: "p"), UInt8(ascii: "n"): (.signedInteger, 8)
        case UInt8(ascii: "L"), UInt8(ascii: "Q"), UInt8(ascii: "P"), UInt8(ascii: "N"): (.unsignedInteger, 8)
        case UInt8(ascii: "e"): (.float, 2)
        case UInt8(ascii: "f"): (.float, 4)
        case UInt8(ascii: "d"): (.float, 8)
        case UInt8(ascii: "F"): (.complex, 8)
        case UInt8(ascii: "D"): (.complex, 16)
        default: nil
        }
    }

    /// The error for a descr string `parse` refused; object dtypes get their own reason.
    static func unsupported(_ scalars: [Unicode.Scalar]) -> NPYFormatError {
        var body = scalars[...]
        if let first = body.first, "<>|=".unicodeScalars.contains(first) { body = body.dropFirst() }
        if body.first == "O" {
            return NPYFormatError(
                .unsupportedDType,
                "unsupported dtype \(pythonRepr(scalars)) (object arrays are refused, never unpickled)")
        }
        return NPYFormatError(.unsupportedDType, "unsupported dtype \(pythonRepr(scalars))")
    }
}

/// Appends the decimal digits of `value` (with '-' if negative) without making a String.
func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
    let length = decimalLength(value)
    bytes.append(contentsOf: repeatElement(UInt8(ascii: "-"), count: length))
    var magnitude = value.magnitude
    var index = bytes.count - 1
    repeat {
        bytes[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
        magnitude /= 10
        index -= 1
    } while magnitude != 0
}

/// Number of decimal characters `appendDecimal` writes for `value` (Python's len(repr(int))).
func decimalLength(_ value: Int) -> Int {
    var magnitude = value.magnitude
    var count = value < 0 ? 1 : 0
    repeat {
        magnitude /= 10
        count += 1
    } while magnitude != 0
    return count
}
