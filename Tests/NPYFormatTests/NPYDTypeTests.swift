// NPYFormatTests: descr spellings and dtype names against numpy's reading of them (fixtures/npy/manifest.json),
// and sizes of headers built in code. Relies on Foundation and Testing.
import Testing
import NPYFormat

@Suite struct NPYDTypeTests {
    @Test func everyAcceptedSpellingMeansWhatNumpySays() throws {
        for fixture in Fixtures.manifest.dtypes {
            let dtype = try NPYDType(descr: fixture.spelling)
            #expect(dtype.descr == fixture.str, "\(fixture.spelling)")
            #expect(dtype.name == fixture.name, "\(fixture.spelling)")
            #expect(dtype.itemSize == fixture.itemsize, "\(fixture.spelling)")
            #expect(dtype.kind == scalarKind(fixture.kind), "\(fixture.spelling)")
            #expect(dtype.byteOrder == byteOrder(fixture.byteorder), "\(fixture.spelling)")
            #expect(try NPYDType(descr: dtype.descr) == dtype, "\(fixture.spelling)")
        }
    }

    @Test func namedConstantsAreNumpysLittleEndianDtypes() {
        let named: [(String, NPYDType)] = [
            ("float16", .float16), ("float32", .float32), ("float64", .float64),
            ("complex64", .complex64), ("complex128", .complex128), ("bool", .bool),
            ("int8", .int8), ("int16", .int16), ("int32", .int32), ("int64", .int64),
            ("uint8", .uint8), ("uint16", .uint16), ("uint32", .uint32), ("uint64", .uint64),
        ]
        for (name, dtype) in named {
            #expect(dtype.descr == Fixtures.manifest.named[name], "\(name)")
            #expect(dtype.name == name)
        }
    }

    @Test func unsupportedSpellingsThrowWithTheDescrQuoted() {
        #expect(throws: NPYFormatError(.unsupportedDType, "unsupported dtype '<U4'")) { try NPYDType(descr: "<U4") }
        #expect(throws: NPYFormatError(
            .unsupportedDType, "unsupported dtype '|O' (object arrays are refused, never unpickled)")) {
            try NPYDType(descr: "|O")
        }
        #expect(throws: NPYFormatError(.unsupportedDType, "unsupported dtype '<f16'")) { try NPYDType(descr: "<f16") }
    }

    @Test func memberwiseInitNormalisesByteOrderLikeNumpy() {
        // numpy: dtype('>u1').byteorder == '|' and dtype('|f4') is native.
        #expect(NPYDType(kind: .unsignedInteger, itemSize: 1, byteOrder: .big).byteOrder == .notApplicable)
        #expect(NPYDType(kind: .float, itemSize: 4, byteOrder: .notApplicable) == .float32)
    }
}

@Suite struct NPYHeaderSizeTests {
    @Test func zeroDimensionalHasOneElement() {
        let h = NPYHeader(dtype: .complex128, fortranOrder: false, shape: [])
        #expect(h.elementCount == 1)
        #expect(h.dataByteCount == 16)
    }

    @Test func overflowingShapesAreErrorsNotTraps() {
        // numpy: np.empty((2**62, 4), 'f8') -> "array is too big".
        let h = NPYHeader(dtype: .float64, fortranOrder: false, shape: [1 << 62, 4])
        #expect(throws: NPYFormatError(.shapeTooLarge, "shape too large: element count or byte size overflows")) {
            try h.validate()
        }
        #expect(h.dataByteCount == Int.max)
        let negative = NPYHeader(dtype: .float32, fortranOrder: false, shape: [2, -3])
        #expect(throws: NPYFormatError(.invalidShape, "invalid shape: negative dimension -3 at axis 1")) {
            try negative.validate()
        }
        #expect(throws: Never.self) { try NPYHeader(dtype: .uint8, fortranOrder: false, shape: [Int.max]).validate() }
    }
}
