// NPYFormat: the error every header check reports.
// Relies on nothing but the Swift standard library.

/// A fault found in (or while making) a .npy header: a small value whose `description` is one line naming the
/// stage ("NPY header", "dtype", "shape") and the fault. The CLI prefixes it with "npyexp: PATH: ".
public struct NPYFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of fault, for callers that branch on it (exit codes, tests) instead of matching text.
    public enum Kind: Sendable, Equatable {
        /// The first six bytes are not `\x93NUMPY`.
        case badMagic
        /// A version other than 1.0, 2.0 or 3.0.
        case unsupportedVersion
        /// The header length field exceeds the caller's limit (numpy's default: 10000).
        case headerTooLarge
        /// The header text is not the dict literal numpy writes (syntax, keys, value types).
        case malformedHeader
        /// A well-formed descr that npyexp does not handle (object, structured, strings, float128, ...).
        case unsupportedDType
        /// A negative dimension or more dimensions than numpy allows.
        case invalidShape
        /// The element count or byte size does not fit in a 64-bit signed integer.
        case shapeTooLarge
    }

    /// The class of fault.
    public var kind: Kind
    /// One line, without a trailing period or newline.
    public var description: String

    /// Makes an error of `kind` with the one-line `description`.
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    static let badMagic = NPYFormatError(.badMagic, "not an NPY file (bad magic)")

    static func unsupportedVersion(_ major: UInt8, _ minor: UInt8) -> NPYFormatError {
        NPYFormatError(.unsupportedVersion, "unsupported NPY version \(major).\(minor)")
    }

    static func headerTooLarge(_ length: Int, limit: Int) -> NPYFormatError {
        NPYFormatError(.headerTooLarge, "NPY header too large (\(length) bytes, limit \(limit))")
    }

    static func malformed(_ detail: String) -> NPYFormatError {
        NPYFormatError(.malformedHeader, "malformed NPY header: \(detail)")
    }

    static let shapeOverflow = NPYFormatError(.shapeTooLarge, "shape too large: element count or byte size overflows")
}

/// Python's `repr` of a str, so that messages quote descrs and keys the way numpy users see them.
func pythonRepr<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
    let array = Array(scalars)
    let hasSingle = array.contains("'")
    let hasDouble = array.contains("\"")
    let quote: Unicode.Scalar = (hasSingle && !hasDouble) ? "\"" : "'"
    var out = String(Character(quote))
    for s in array {
        switch s {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case quote: out += "\\" + String(Character(s))
        default:
            if s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) {
                let hex = String(s.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(s)
            }
        }
    }
    out.unicodeScalars.append(quote)
    return out
}

/// Decodes header bytes for a message: latin1 for versions 1.0/2.0, UTF-8 (with replacement) for 3.0.
func decodeForMessage(_ bytes: UnsafeRawBufferPointer, utf8: Bool) -> [Unicode.Scalar] {
    if utf8 {
        return Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
    }
    return bytes.map { Unicode.Scalar($0) }
}
