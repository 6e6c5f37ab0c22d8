// NPYFormat: the .npy header (magic, version, length, Python dict literal) read from a growing stream prefix
// and written byte-identically to numpy 2.4's np.save. Follows numpy/lib/_format_impl.py.
// Relies on nothing but the Swift standard library (no Foundation).

/// An .npy format version; npyexp reads 1.0, 2.0 and 3.0.
public struct NPYVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The byte after the magic.
    public var major: UInt8
    /// The second byte after the magic.
    public var minor: UInt8

    /// Makes a version from its two bytes.
    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// uint16 header length, latin1 text: what np.save writes unless the header does not fit.
    public static let v1_0 = NPYVersion(major: 1, minor: 0)
    /// uint32 header length, latin1 text.
    public static let v2_0 = NPYVersion(major: 2, minor: 0)
    /// uint32 header length, UTF-8 text.
    public static let v3_0 = NPYVersion(major: 3, minor: 0)

    /// "1.0", "2.0", "3.0".
    public var description: String { "\(major).\(minor)" }

    /// Bytes of the header length field: 2 for 1.0, 4 otherwise.
    var lengthFieldSize: Int { major == 1 ? 2 : 4 }
}

/// A parsed .npy header.
public struct NPYHeader: Sendable, Equatable {
    /// The format version read from the file, or the one `encoded()` writes.
    public var version: NPYVersion
    /// The element type.
    public var dtype: NPYDType
    /// True when the data is stored column-major; the shape stays the logical one either way.
    public var fortranOrder: Bool
    /// Dimensions; `[]` for a 0-d array.
    public var shape: [Int]

    /// The bytes of the magic string, "\x93NUMPY".
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    /// Room left after the shape so a writer can grow one axis in place (numpy's GROWTH_AXIS_MAX_DIGITS).
    static let growthAxisMaxDigits = 21
    /// magic + version + length + header text is padded to a multiple of this (numpy's ARRAY_ALIGN).
    static let arrayAlign = 64
    /// numpy's limit on dimensions (NPY_MAXDIMS in numpy 2).
    public static let maxDimensions = 64

    /// Makes a header; with `version` nil, the one np.save would pick (1.0 unless the header needs 2.0).
    public init(dtype: NPYDType, fortranOrder: Bool, shape: [Int], version: NPYVersion? = nil) {
        self.dtype = dtype
        self.fortranOrder = fortranOrder
        self.shape = shape
        self.version = .v1_0
        self.version = version ?? (Self.fitsVersion1(textLength: self.unpaddedTextLength) ? .v1_0 : .v2_0)
    }

    /// Product of the shape; 1 for shape (). Saturates at Int.max if the shape overflows or has a negative
    /// dimension, which `parse` and `validate()` rule out.
    public var elementCount: Int {
        (try? Self.checkedSizes(shape: shape, itemSize: dtype.itemSize).elements) ?? Int.max
    }

    /// elementCount * itemSize: the bytes of data after the header. Saturates like `elementCount`.
    public var dataByteCount: Int {
        (try? Self.checkedSizes(shape: shape, itemSize: dtype.itemSize).bytes) ?? Int.max
    }

    /// Checks what `parse` checks of a header built in code: no negative dimension, at most 64 dimensions,
    /// element count and byte size within Int.
    public func validate() throws(NPYFormatError) {
        _ = try Self.checkedSizes(shape: shape, itemSize: dtype.itemSize)
    }

    /// Element count and byte size the way numpy sizes an array: zero dimensions are skipped when checking
    /// for overflow, so (0, 2**62, 4) of float64 is refused just as numpy refuses it.
    static func checkedSizes(shape: [Int], itemSize: Int) throws(NPYFormatError) -> (elements: Int, bytes: Int) {
        if shape.count > maxDimensions {
            throw NPYFormatError(
                .invalidShape, "invalid shape: \(shape.count) dimensions (numpy allows at most \(maxDimensions))")
        }
        var nonZeroBytes = max(itemSize, 0)
        var nonZeroElements = 1
        var hasZero = false
        for (axis, dim) in shape.enumerated() {
            if dim < 0 {
                throw NPYFormatError(.invalidShape, "invalid shape: negative dimension \(dim) at axis \(axis)")
            }
            if dim == 0 {
                hasZero = true
                continue
            }
            let e = nonZeroElements.multipliedReportingOverflow(by: dim)
            let b = nonZeroBytes.multipliedReportingOverflow(by: dim)
            if e.overflow || b.overflow { throw NPYFormatError.shapeOverflow }
            nonZeroElements = e.partialValue
            nonZeroBytes = b.partialValue
        }
        return hasZero ? (0, 0) : (nonZeroElements, nonZeroBytes)
    }

    /// nil while `prefix` does not yet hold the whole header; otherwise the header and the byte count of
    /// magic + version + length + header text (where the data starts). Throws as soon as the bytes seen are invalid
    /// (bad magic from the first differing byte, bad version after 8, too large a length once it is read, a
    /// syntax error as soon as its token is seen). Faults in the keys and values (missing or unknown keys, an
    /// unsupported dtype, a bad shape) are reported once the whole header is there, in numpy's order, so the
    /// message does not depend on how the stream was split.
    ///
    /// The header text is parsed as a strict subset of Python literal syntax, never evaluated: a dict with
    /// exactly the keys 'descr', 'fortran_order', 'shape'. `maxHeaderLength` bounds the length field in bytes
    /// (numpy bounds the decoded text; the two agree on every header that can be valid, which is ASCII).
    /// Offsets in messages count bytes from the start of the file.
    public static func parse(
        _ prefix: UnsafeRawBufferPointer, maxHeaderLength: Int = 10_000
    ) throws(NPYFormatError) -> (header: NPYHeader, byteCount: Int)? {
        let count = prefix.count
        for i in 0..<min(count, 6) where prefix[i] != magic[i] {
            throw NPYFormatError.badMagic
        }
        guard count >= 8 else { return nil }
        let version = NPYVersion(major: prefix[6], minor: prefix[7])
        guard version.minor == 0, (1...3).contains(version.major) else {
            throw NPYFormatError.unsupportedVersion(version.major, version.minor)
        }
        let textStart = 8 + version.lengthFieldSize
        guard count >= textStart else { return nil }
        var length = Int(prefix[8]) | Int(prefix[9]) << 8
        if version.major != 1 { length |= Int(prefix[10]) << 16 | Int(prefix[11]) << 24 }
        if length > maxHeaderLength { throw NPYFormatError.headerTooLarge(length, limit: maxHeaderLength) }
        let complete = count >= textStart + length
        let text = UnsafeRawBufferPointer(rebasing: prefix[textStart..<min(count, textStart + length)])
        var parser = HeaderTextParser(
            text: text, fileOffset: textStart, complete: complete, version: version)
        guard let fields = try parser.parseDict() else { return nil }
        let header = NPYHeader(dtype: fields.dtype, fortranOrder: fields.fortranOrder, shape: fields.shape,
                               version: version)
        return (header, textStart + length)
    }

    /// Bytes of the header exactly as numpy's np.save would write it for an array of this dtype/order/shape
    /// (version 1.0 unless the header needs 2.0; key order, repr spacing, growth padding, 64-byte alignment, '\n').
    /// A header whose `version` is 2.0 or 3.0 is written as numpy's write_array(..., version=) does; a 1.0
    /// header too long for a uint16 length is written as 2.0, like numpy's automatic choice.
    public func encoded() -> [UInt8] {
        let textLength = unpaddedTextLength
        var version = self.version
        if version.major == 1 && !Self.fitsVersion1(textLength: textLength) { version = .v2_0 }
        let prefixLength = 8 + version.lengthFieldSize
        let hlen = textLength + 1
        let padding = Self.arrayAlign - (prefixLength + hlen) % Self.arrayAlign
        let total = hlen + padding
        var out: [UInt8] = []
        out.reserveCapacity(prefixLength + total)
        out.append(contentsOf: Self.magic)
        out.append(version.major)
        out.append(version.minor)
        out.append(UInt8(truncatingIfNeeded: total))
        out.append(UInt8(truncatingIfNeeded: total >> 8))
        if version.lengthFieldSize == 4 {
            out.append(UInt8(truncatingIfNeeded: total >> 16))
            out.append(UInt8(truncatingIfNeeded: total >> 24))
        }
        appendDictText(to: &out)
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: growthPadding + padding))
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Spaces numpy leaves after the dict so the growing axis can gain digits in place.
    var growthPadding: Int {
        guard !shape.isEmpty else { return 0 }
        let axisLength = decimalLength(fortranOrder ? shape[shape.count - 1] : shape[0])
        return max(0, Self.growthAxisMaxDigits - axisLength)
    }

    /// Length of "{'descr': ..., }" plus the growth spaces, before alignment padding and '\n'.
    var unpaddedTextLength: Int {
        // "{'descr': '" + "', 'fortran_order': " + ", 'shape': (" + ")" + ", }"
        var length = 11 + 20 + 12 + 1 + 3
        length += 2 + decimalLength(dtype.itemSize)
        length += fortranOrder ? 4 : 5
        for dim in shape { length += decimalLength(dim) }
        if shape.count == 1 { length += 1 } else if shape.count > 1 { length += 2 * (shape.count - 1) }
        return length + growthPadding
    }

    /// Whether numpy would keep version 1.0: hlen + padding must fit the uint16 length field.
    static func fitsVersion1(textLength: Int) -> Bool {
        let hlen = textLength + 1
        let padding = arrayAlign - (10 + hlen) % arrayAlign
        return hlen + padding <= 0xFFFF
    }

    /// numpy's `'{'key': repr(value), ...}'` with keys sorted and a trailing ", " before '}'.
    func appendDictText(to out: inout [UInt8]) {
        out.append(contentsOf: "{'descr': '".utf8)
        dtype.appendDescr(to: &out)
        out.append(contentsOf: "', 'fortran_order': ".utf8)
        out.append(contentsOf: (fortranOrder ? "True" : "False").utf8)
        out.append(contentsOf: ", 'shape': (".utf8)
        for (axis, dim) in shape.enumerated() {
            if axis > 0 { out.append(contentsOf: ", ".utf8) }
            appendDecimal(dim, to: &out)
        }
        if shape.count == 1 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: "), }".utf8)
    }
}
