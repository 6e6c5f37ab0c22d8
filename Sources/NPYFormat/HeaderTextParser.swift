// NPYFormat: a strict, non-evaluating parser for the Python dict literal in an .npy header, usable on a partial
// header: running out of bytes before the header's end means "incomplete", while a syntax fault in the bytes
// already there is final, so the caller learns of a broken header early. Keys and values are judged once the
// header is complete, in numpy's order (keys, shape, fortran_order, descr, size).
// Accepts the subset of Python literal syntax that numpy writes or has written (old Python 2 'L' suffixes,
// either quote, u'' prefixes, comments, line continuations, optional trailing commas); refuses the rest (hex
// ints, escapes, string concatenation, bools in shapes) with a one-line message.
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
enum HeaderKey: CaseIterable {
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

    /// Syntax first, as Python's literal_eval would see it; then, once the whole header is there, the keys and
    /// values in numpy's order. So a message never depends on how the stream was split.
    private mutating func dict() throws(ParseStop) -> HeaderFields {
        try checkBytes()
        guard try peek() == ascii("{") else { throw unexpected() }
        pos += 1
        var values = KeyedValues()
        var keyFault: NPYFormatError?
        while true {
            if try peek() == ascii("}") {
                pos += 1
                break
            }
            guard try atStringStart() else { throw unexpected() }
            let keyRange = try string()
            guard try peek() == ascii(":") else { throw unexpected() }
            pos += 1
            let value = try literal(depth: 0)
            if keyFault == nil {
                if let key = keyName(keyRange) {
                    if values[key] != nil {
                        keyFault = .malformed("duplicate key \(key.quoted)")
                    }
                    values[key] = value
                } else {
                    keyFault = .malformed("unknown key \(pythonRepr(scalars(keyRange)))")
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
        try skipTrivia()
        if pos < text.count { throw unexpected(context: "after the header dict") }
        guard complete else { throw .incomplete }

        if let keyFault { throw .failed(keyFault) }
        for key in HeaderKey.allCases where values[key] == nil {
            throw .failed(.malformed("missing key \(key.quoted)"))
        }
        do throws(NPYFormatError) {
            let shape = try shapeValue(values[.shape]!)
            let fortranOrder = try boolValue(values[.fortranOrder]!)
            let dtype = try descrValue(values[.descr]!)
            _ = try NPYHeader.checkedSizes(shape: shape, itemSize: dtype.itemSize)
            return HeaderFields(dtype: dtype, fortranOrder: fortranOrder, shape: shape)
        } catch {
            throw .failed(error)
        }
    }

    /// The value seen for each key, without a heap allocation.
    private struct KeyedValues {
        var descr, fortranOrder, shape: Literal?

        subscript(key: HeaderKey) -> Literal? {
            get {
                switch key {
                case .descr: descr
                case .fortranOrder: fortranOrder
                case .shape: shape
                }
            }
            set {
                switch key {
                case .descr: descr = newValue
                case .fortranOrder: fortranOrder = newValue
                case .shape: shape = newValue
                }
            }
        }
    }

    /// A Python literal as far as a header needs to know it; `range` is its source text.
    private enum Literal {
        case string(Range<Int>)
        case integer(IntegerLiteral)
        case boolean(Bool)
        case none(Range<Int>)
        /// A tuple; `integers` holds its elements when they are all ints.
        case tuple(Range<Int>, integers: [IntegerLiteral]?)
        case list(Range<Int>)

        var range: Range<Int> {
            switch self {
            case .string(let r), .none(let r), .tuple(let r, _), .list(let r): r
            case .integer(let i): i.range
            case .boolean: 0..<0
            }
        }
    }

    /// A Python int literal: sign, magnitude (if it fits), and its source text.
    private struct IntegerLiteral {
        var negative: Bool
        var magnitude: Int
        var overflow: Bool
        var range: Range<Int>
    }

    /// Deep enough for any structured descr; bounds the recursion on hostile input.
    private static let maxNesting = 32

    /// One literal: a string, an int (optionally signed), True/False/None, or a tuple or list of literals.
    /// Parentheses around a single value without a comma group it, as in Python.
    private mutating func literal(depth: Int) throws(ParseStop) -> Literal {
        let c = try peek()
        let start = pos
        if try atStringStart() {
            let contentRange = try string()
            return .string(contentRange)
        }
        if c == ascii("-") || c == ascii("+") || isDigit(c) {
            return .integer(try integer())
        }
        if isIdentifierByte(c) {
            let end = try tokenEnd(from: start)
            if equals(start..<end, "True") { pos = end; return .boolean(true) }
            if equals(start..<end, "False") { pos = end; return .boolean(false) }
            if equals(start..<end, "None") { pos = end; return .none(start..<end) }
            throw unexpected()
        }
        guard c == ascii("(") || c == ascii("[") else { throw unexpected() }
        if depth >= Self.maxNesting {
            throw .failed(.malformed("literal nested too deeply at offset \(fileOffset + start)"))
        }
        let close = c == ascii("(") ? ascii(")") : ascii("]")
        pos += 1
        var integers: [IntegerLiteral]? = []
        var count = 0
        var sawComma = false
        var single: Literal?
        while true {
            if try peek() == close {
                pos += 1
                break
            }
            let element = try literal(depth: depth + 1)
            count += 1
            if count == 1 { single = element }
            if case .integer(let i) = element {
                integers?.append(i)
            } else {
                integers = nil
            }
            let next = try peek()
            if next == ascii(",") {
                pos += 1
                sawComma = true
            } else if next == close {
                pos += 1
                break
            } else {
                throw unexpected()
            }
        }
        if c == ascii("[") { return .list(start..<pos) }
        if count == 1 && !sawComma, let single {
            // (x) is x; keep the parentheses in the source text shown in messages.
            switch single {
            case .integer(var i):
                i.range = start..<pos
                return .integer(i)
            default:
                return single
            }
        }
        return .tuple(start..<pos, integers: integers)
    }

    /// A Python int: optional sign, decimal digits (no leading zeros, '_' between digits), 'L' before 3.0.
    private mutating func integer() throws(ParseStop) -> IntegerLiteral {
        let signStart = pos
        var negative = false
        let first = text[pos]
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
        return IntegerLiteral(negative: negative, magnitude: value, overflow: overflow, range: signStart..<i)
    }

    // MARK: - Values

    private func descrValue(_ value: Literal) throws(NPYFormatError) -> NPYDType {
        switch value {
        case .string(let range):
            guard let dtype = NPYDType.parse(UnsafeRawBufferPointer(rebasing: text[range])) else {
                throw NPYDType.unsupported(scalars(range))
            }
            return dtype
        case .list(let range):
            throw NPYFormatError(.unsupportedDType,
                "unsupported dtype \(pythonRepr(scalars(range))) (structured dtypes are not supported)")
        case .tuple(let range, _):
            throw NPYFormatError(.unsupportedDType,
                "unsupported dtype \(pythonRepr(scalars(range))) (subarray dtypes are not supported)")
        default:
            throw .malformed("descr must be a dtype string, found \(shown(value))")
        }
    }

    private func boolValue(_ value: Literal) throws(NPYFormatError) -> Bool {
        guard case .boolean(let b) = value else {
            throw .malformed("fortran_order must be True or False, found \(shown(value))")
        }
        return b
    }

    private func shapeValue(_ value: Literal) throws(NPYFormatError) -> [Int] {
        guard case .tuple(_, let integers?) = value else {
            throw .malformed("shape must be a tuple of ints, found \(shown(value))")
        }
        if integers.count > NPYHeader.maxDimensions {
            throw NPYFormatError(
                .invalidShape,
                "invalid shape: \(integers.count) dimensions (numpy allows at most \(NPYHeader.maxDimensions))")
        }
        var dims: [Int] = []
        dims.reserveCapacity(integers.count)
        for (axis, i) in integers.enumerated() {
            if i.negative && (i.overflow || i.magnitude != 0) {
                throw NPYFormatError(
                    .invalidShape, "invalid shape: negative dimension \(i.overflow ? text(i.range) : "-\(i.magnitude)") at axis \(axis)")
            }
            if i.overflow {
                throw NPYFormatError(
                    .shapeTooLarge,
                    "shape too large: dimension \(text(i.range)) at axis \(axis) does not fit in 64 bits")
            }
            dims.append(i.magnitude)
        }
        return dims
    }

    /// A value's source text for a message, with its offset.
    private func shown(_ value: Literal) -> String {
        switch value {
        case .boolean(let b): return b ? "True" : "False"
        case .string(let r):
            // Show the quotes too: the range is the content.
            return "\(pythonRepr(scalars((r.lowerBound - 1)..<(r.upperBound + 1)))) at offset \(fileOffset + r.lowerBound - 1)"
        default:
            let r = value.range
            return "\(pythonRepr(scalars(r))) at offset \(fileOffset + r.lowerBound)"
        }
    }

    // MARK: - Lexing

    /// Invalid UTF-8 in a complete 3.0 header, which Python refuses to decode. (NUL bytes, which Python refuses
    /// too, are caught where the lexer meets them: in strings, comments, or as an unexpected token.)
    private func checkBytes() throws(ParseStop) {
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

    /// Skips whitespace, comments and backslash line continuations. Works on a local index: it runs over
    /// every padding byte of the header, so it is the parser's inner loop.
    private mutating func skipTrivia() throws(ParseStop) {
        var i = pos
        defer { pos = i }
        let count = text.count
        while i < count {
            let c = text[i]
            if c == ascii(" ") || c == ascii("\n") || c == ascii("\t") || c == ascii("\r") || c == 0x0C {
                i += 1
            } else if c == ascii("#") {
                while i < count && text[i] != ascii("\n") && text[i] != ascii("\r") {
                    if text[i] == 0 { throw nulByte(at: i) }
                    i += 1
                }
            } else if c == ascii("\\") {
                guard i + 1 < count else {
                    pos = i
                    throw atEnd()
                }
                guard text[i + 1] == ascii("\n") || text[i + 1] == ascii("\r") else {
                    pos = i
                    throw unexpected()
                }
                i += 2
            } else {
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
            if c == 0 { throw nulByte(at: i) }
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

    private func keyName(_ range: Range<Int>) -> HeaderKey? {
        if equals(range, "descr") { return .descr }
        if equals(range, "fortran_order") { return .fortranOrder }
        if equals(range, "shape") { return .shape }
        return nil
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
        if isDigit(c) {
            while end < text.count && (isIdentifierByte(text[end]) || text[end] == ascii(".")) { end += 1 }
            if end == text.count && !complete { throw .incomplete }
        } else if isIdentifierByte(c) || c >= 0x80 {
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

    private func nulByte(at offset: Int) -> ParseStop {
        .failed(.malformed("NUL byte at offset \(fileOffset + offset)"))
    }

    private func unexpected(context: String? = nil) -> ParseStop {
        if text[pos] == 0 { return nulByte(at: pos) }
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
