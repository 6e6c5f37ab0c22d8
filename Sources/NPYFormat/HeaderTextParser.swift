// NPYFormat: a strict, non-evaluating parser for the Python dict literal in an .npy header, usable on a partial
// header: running out of bytes before the header's end means "incomplete", while a fault seen in the bytes
// already there is final, so the caller learns of a bad header as early as possible.
// Accepts the subset of Python literal syntax that numpy writes or has written (old Python 2 'L' suffixes,
// either quote, comments, optional trailing commas); refuses everything else with a one-line message.
// Relies on nothing but the Swift standard library.

/// The three values of a header dict.
struct HeaderFields {
    var dtype: NPYDType
    var fortranOrder: Bool
    var shape: [Int]
}

/// Why parsing stopped: more bytes are needed, or the bytes seen are invalid.
enum ParseStop: Error {
    case incomplete
    case failed(NPYFormatError)
}

/// The keys a header dict must hold, each exactly once.
enum HeaderKey: Int, CaseIterable {
    case descr, fortranOrder, shape

    var quoted: String {
        switch self {
        case .descr: "'descr'"
        case .fortranOrder: "'fortran_order'"
        case .shape: "'shape'"
        }
    }
}

struct HeaderTextParser {
    /// The header text seen so far (all of it when `complete`).
    let text: UnsafeRawBufferPointer
    /// File offset of text[0], for messages.
    let fileOffset: Int
    /// Whether `text` is the whole header text.
    let complete: Bool
    let version: NPYVersion
    var pos = 0

    init(text: UnsafeRawBufferPointer, fileOffset: Int, complete: Bool, version: NPYVersion) {
        self.text = text
        self.fileOffset = fileOffset
        self.complete = complete
        self.version = version
    }

    /// The fields, nil if the text seen so far is a valid but unfinished header.
    mutating func parseDict() throws(NPYFormatError) -> HeaderFields? {
        do throws(ParseStop) {
            return try dict()
        } catch {
            switch error {
            case .incomplete: return nil
            case .failed(let e): throw e
            }
        }
    }

    // MARK: - Grammar

    private mutating func dict() throws(ParseStop) -> HeaderFields {
        try checkBytes()
        guard try peek() == ascii("{") else { throw unexpected() }
        pos += 1
        var dtype: NPYDType?
        var fortranOrder: Bool?
        var shape: [Int]?
        while true {
            if try peek() == ascii("}") {
                pos += 1
                break
            }
            guard try atStringStart() else { throw unexpected() }
            let key = try keyName(try string())
            guard try peek() == ascii(":") else { throw unexpected() }
            pos += 1
            switch key {
            case .descr:
                if dtype != nil { throw duplicate(key) }
                dtype = try descrValue()
            case .fortranOrder:
                if fortranOrder != nil { throw duplicate(key) }
                fortranOrder = try boolValue()
            case .shape:
                if shape != nil { throw duplicate(key) }
                shape = try shapeValue()
            }
            if let dtype, let shape, key != .fortranOrder {
                do throws(NPYFormatError) {
                    _ = try NPYHeader.checkedSizes(shape: shape, itemSize: dtype.itemSize)
                } catch {
                    throw .failed(error)
                }
            }
            let c = try peek()
            if c == ascii(",") {
                pos += 1
            } else if c == ascii("}") {
                pos += 1
                break
            } else {
                throw unexpected()
            }
        }
        guard let dtype else { throw missing(.descr) }
        guard let fortranOrder else { throw missing(.fortranOrder) }
        guard let shape else { throw missing(.shape) }
        try skipTrivia()
        if pos < text.count { throw unexpected(context: "after the header dict") }
        guard complete else { throw .incomplete }
        return HeaderFields(dtype: dtype, fortranOrder: fortranOrder, shape: shape)
    }

    private mutating func descrValue() throws(ParseStop) -> NPYDType {
        _ = try peek()
        if try atStringStart() {
            let range = try string()
            let bytes = UnsafeRawBufferPointer(rebasing: text[range])
            guard let dtype = NPYDType.parse(bytes) else { throw .failed(NPYDType.unsupported(scalars(range))) }
            return dtype
        }
        let open = try peek()
        guard open == ascii("[") || open == ascii("(") else { throw unexpected() }
        let start = pos
        try skipBracketed()
        let reason = open == ascii("[") ? "structured dtypes are not supported" : "subarray dtypes are not supported"
        throw .failed(NPYFormatError(
            .unsupportedDType, "unsupported dtype \(pythonRepr(scalars(start..<pos))) (\(reason))"))
    }

    private mutating func boolValue() throws(ParseStop) -> Bool {
        _ = try peek()
        let start = pos
        let end = try tokenEnd(from: start)
        if equals(start..<end, "True") { pos = end; return true }
        if equals(start..<end, "False") { pos = end; return false }
        throw .failed(.malformed(
            "fortran_order must be True or False, found \(try describeToken(at: start)) at offset \(fileOffset + start)"))
    }

    private mutating func shapeValue() throws(ParseStop) -> [Int] {
        let open = try peek()
        guard open == ascii("(") else {
            throw .failed(.malformed(
                "shape must be a tuple, found \(try describeToken(at: pos)) at offset \(fileOffset + pos)"))
        }
        let openOffset = pos
        pos += 1
        var dims: [Int] = []
        dims.reserveCapacity(4)
        var sawComma = false
        while true {
            if try peek() == ascii(")") {
                pos += 1
                break
            }
            let axis = dims.count
            if axis == NPYHeader.maxDimensions {
                throw .failed(NPYFormatError(
                    .invalidShape, "invalid shape: more than \(NPYHeader.maxDimensions) dimensions"))
            }
            dims.append(try dimension(axis: axis))
            let c = try peek()
            if c == ascii(",") {
                pos += 1
                sawComma = true
            } else if c == ascii(")") {
                pos += 1
                break
            } else {
                throw unexpected()
            }
        }
        if dims.count == 1 && !sawComma {
            throw .failed(.malformed(
                "shape at offset \(fileOffset + openOffset) is a parenthesised int, not a tuple (missing ',')"))
        }
        return dims
    }

    /// A Python int: optional sign, decimal digits (no leading zeros, '_' between digits), 'L' before 3.0.
    private mutating func dimension(axis: Int) throws(ParseStop) -> Int {
        let signStart = pos
        var negative = false
        let first = try peek()
        if first == ascii("-") || first == ascii("+") {
            negative = first == ascii("-")
            pos += 1
            _ = try peek()
        }
        let start = pos
        guard isDigit(text[pos]) else { throw unexpected() }
        let leadingZero = text[pos] == ascii("0")
        var value = 0
        var overflow = false
        var i = pos
        while true {
            guard i < text.count else { throw atEnd() }
            let c = text[i]
            if isDigit(c) {
                if leadingZero && c != ascii("0") {
                    throw .failed(.malformed(
                        "leading zeros in integer \(try describeToken(at: start)) at offset \(fileOffset + start)"))
                }
                let m = value.multipliedReportingOverflow(by: 10)
                let a = m.partialValue.addingReportingOverflow(Int(c - ascii("0")))
                overflow = overflow || m.overflow || a.overflow
                value = a.partialValue
                i += 1
            } else if c == ascii("_") {
                guard i + 1 < text.count else { throw atEnd() }
                guard isDigit(text[i + 1]) else { throw invalidNumber(start) }
                i += 1
            } else {
                break
            }
        }
        if text[i] == ascii("L") && version.major < 3 {
            i += 1
            guard i < text.count else { throw atEnd() }
        }
        if isIdentifierByte(text[i]) || text[i] == ascii(".") { throw invalidNumber(start) }
        pos = i
        if overflow {
            throw .failed(NPYFormatError(
                .shapeTooLarge,
                "shape too large: dimension \(text(signStart..<i)) at axis \(axis) does not fit in 64 bits"))
        }
        if negative && value != 0 {
            throw .failed(NPYFormatError(
                .invalidShape, "invalid shape: negative dimension -\(value) at axis \(axis)"))
        }
        return value
    }

    // MARK: - Lexing

    /// NUL bytes anywhere and (once complete) invalid UTF-8 in a 3.0 header: Python refuses both.
    private func checkBytes() throws(ParseStop) {
        if let nul = text.firstIndex(of: 0) {
            throw .failed(.malformed("NUL byte at offset \(fileOffset + nul)"))
        }
        if complete && version.major == 3 && text.contains(where: { $0 >= 0x80 }) {
            var iterator = text.makeIterator()
            var decoder = UTF8()
            loop: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue: continue
                case .emptyInput: break loop
                case .error: throw .failed(.malformed("header text is not valid UTF-8 (version 3.0)"))
                }
            }
        }
    }

    /// Skips whitespace, comments and backslash line continuations.
    private mutating func skipTrivia() throws(ParseStop) {
        while pos < text.count {
            switch text[pos] {
            case ascii(" "), ascii("\t"), ascii("\n"), ascii("\r"), 0x0C:
                pos += 1
            case ascii("#"):
                while pos < text.count && text[pos] != ascii("\n") && text[pos] != ascii("\r") { pos += 1 }
            case ascii("\\"):
                guard pos + 1 < text.count else { throw atEnd() }
                guard text[pos + 1] == ascii("\n") || text[pos + 1] == ascii("\r") else { throw unexpected() }
                pos += 2
            default:
                return
            }
        }
    }

    /// The next significant byte, not consumed.
    private mutating func peek() throws(ParseStop) -> UInt8 {
        try skipTrivia()
        guard pos < text.count else { throw atEnd() }
        return text[pos]
    }

    /// Whether a string literal starts at `pos` (a quote, or a 'u' prefix and a quote).
    private func atStringStart() throws(ParseStop) -> Bool {
        let c = text[pos]
        if c == ascii("'") || c == ascii("\"") { return true }
        if c == ascii("u") || c == ascii("U") {
            guard pos + 1 < text.count else { throw atEnd() }
            return text[pos + 1] == ascii("'") || text[pos + 1] == ascii("\"")
        }
        return false
    }

    /// A one-line string literal without escapes; returns the range of its content.
    private mutating func string() throws(ParseStop) -> Range<Int> {
        let start = pos
        var i = pos
        if text[i] == ascii("u") || text[i] == ascii("U") { i += 1 }
        let quote = text[i]
        i += 1
        let contentStart = i
        while true {
            guard i < text.count else {
                if complete { throw .failed(.malformed("unterminated string at offset \(fileOffset + start)")) }
                throw .incomplete
            }
            let c = text[i]
            if c == quote { break }
            if c == ascii("\\") {
                throw .failed(.malformed("escape sequence in string at offset \(fileOffset + i)"))
            }
            if c == ascii("\n") || c == ascii("\r") {
                throw .failed(.malformed("unterminated string at offset \(fileOffset + start)"))
            }
            i += 1
        }
        if i == contentStart {
            guard i + 1 < text.count else { throw atEnd() }
            if text[i + 1] == quote {
                throw .failed(.malformed("triple-quoted string at offset \(fileOffset + start)"))
            }
        }
        pos = i + 1
        return contentStart..<i
    }

    private func keyName(_ range: Range<Int>) throws(ParseStop) -> HeaderKey {
        if equals(range, "descr") { return .descr }
        if equals(range, "fortran_order") { return .fortranOrder }
        if equals(range, "shape") { return .shape }
        throw .failed(.malformed("unknown key \(pythonRepr(scalars(range)))"))
    }

    /// Skips a bracketed literal (a structured or subarray descr) so that it can be quoted whole.
    private mutating func skipBracketed() throws(ParseStop) {
        var closers: [UInt8] = []
        while true {
            try skipTrivia()
            guard pos < text.count else { throw atEnd() }
            let c = text[pos]
            switch c {
            case ascii("("): closers.append(ascii(")")); pos += 1
            case ascii("["): closers.append(ascii("]")); pos += 1
            case ascii("{"): closers.append(ascii("}")); pos += 1
            case ascii(")"), ascii("]"), ascii("}"):
                guard closers.last == c else { throw unexpected() }
                closers.removeLast()
                pos += 1
                if closers.isEmpty { return }
            case ascii("'"), ascii("\""):
                _ = try string()
            default:
                pos += 1
            }
        }
    }

    /// End of the identifier or number starting at `start`; incomplete if it may go on past the bytes seen.
    private func tokenEnd(from start: Int) throws(ParseStop) -> Int {
        var i = start
        while i < text.count && (isIdentifierByte(text[i]) || text[i] >= 0x80) { i += 1 }
        if i == text.count && !complete { throw .incomplete }
        return i
    }

    /// The token at `offset`, quoted as Python would; incomplete if it may go on past the bytes seen,
    /// so that messages do not depend on how the stream was split.
    private func describeToken(at offset: Int) throws(ParseStop) -> String {
        var end = offset + 1
        let c = text[offset]
        if isIdentifierByte(c) || c >= 0x80 {
            end = try tokenEnd(from: offset)
        } else if c == ascii("'") || c == ascii("\"") {
            while end < text.count && text[end] != c && text[end] != ascii("\n") && end - offset < 32 { end += 1 }
            if end == text.count && !complete { throw .incomplete }
            if end < text.count && text[end] == c { end += 1 }
        }
        end = min(end, offset + 32)
        if version.major == 3 {
            // Never cut a UTF-8 sequence: extend to the next lead byte.
            while end < text.count && text[end] & 0xC0 == 0x80 { end += 1 }
        }
        return pythonRepr(scalars(offset..<end))
    }

    // MARK: - Errors

    private func atEnd() -> ParseStop {
        complete ? .failed(.malformed("unexpected end of header at offset \(fileOffset + text.count)")) : .incomplete
    }

    private func unexpected(context: String? = nil) -> ParseStop {
        do throws(ParseStop) {
            let token = try describeToken(at: pos)
            let suffix = context.map { " " + $0 } ?? ""
            return .failed(.malformed("unexpected token \(token)\(suffix) at offset \(fileOffset + pos)"))
        } catch {
            return error
        }
    }

    private func invalidNumber(_ start: Int) -> ParseStop {
        do throws(ParseStop) {
            return .failed(.malformed(
                "invalid integer \(try describeToken(at: start)) at offset \(fileOffset + start)"))
        } catch {
            return error
        }
    }

    private func duplicate(_ key: HeaderKey) -> ParseStop {
        .failed(.malformed("duplicate key \(key.quoted)"))
    }

    private func missing(_ key: HeaderKey) -> ParseStop {
        .failed(.malformed("missing key \(key.quoted)"))
    }

    // MARK: - Bytes

    private func scalars(_ range: Range<Int>) -> [Unicode.Scalar] {
        decodeForMessage(UnsafeRawBufferPointer(rebasing: text[range]), utf8: version.major == 3)
    }

    private func text(_ range: Range<Int>) -> String {
        String(String.UnicodeScalarView(scalars(range)))
    }

    private func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for k in 0..<range.count where text[range.lowerBound + k] != p[k] { return false }
        return true
    }
}

@inline(__always) private func ascii(_ c: Unicode.Scalar) -> UInt8 { UInt8(ascii: c) }

@inline(__always) private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

@inline(__always) private func isIdentifierByte(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
}
