// NPYFormatTests: loads the committed fixtures made by fixtures/npy/make_headers.py (numpy 2.4) and their
// manifest, whose expected values all come from numpy. Relies on Foundation (files, JSON).
import Foundation
import NPYFormat

struct ValidFixture: Decodable {
    var file: String
    var made_by: String
    var header_only: Bool
    var version: [UInt8]
    var data_offset: Int
    var descr: String
    var name: String
    var kind: String
    var itemsize: Int
    var byteorder: String
    var fortran_order: Bool
    var shape: [Int]
    var size: Int
    var nbytes: Int
}

struct InvalidFixture: Decodable {
    var file: String
    var kind: String
    var message: String
    var numpy_refuses: Bool
}

struct DTypeFixture: Decodable {
    var spelling: String
    var str: String
    var name: String
    var itemsize: Int
    var kind: String
    var byteorder: String
}

struct AutoVersionFixture: Decodable {
    var file: String
    var descr: String
    var fortran_order: Bool
    var ndim: Int
    var version: [UInt8]
}

struct Manifest: Decodable {
    var numpy_version: String
    var valid: [ValidFixture]
    var invalid: [InvalidFixture]
    var dtypes: [DTypeFixture]
    var named: [String: String]
    var auto_version: AutoVersionFixture
}

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/npy")

    static let manifest: Manifest = {
        // A missing or stale manifest is a broken checkout: fail loudly.
        let data = try! Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data)
    }()

    static func bytes(_ file: String) -> [UInt8] {
        [UInt8](try! Data(contentsOf: directory.appendingPathComponent(file)))
    }
}

/// numpy's dtype.kind character as NPYScalarKind.
func scalarKind(_ numpyKind: String) -> NPYScalarKind? {
    switch numpyKind {
    case "b": .bool
    case "i": .signedInteger
    case "u": .unsignedInteger
    case "f": .float
    case "c": .complex
    default: nil
    }
}

/// numpy's normalised dtype.byteorder character as NPYByteOrder.
func byteOrder(_ numpyOrder: String) -> NPYByteOrder? {
    switch numpyOrder {
    case "<": .little
    case ">": .big
    case "|": .notApplicable
    default: nil
    }
}

func errorKind(_ name: String) -> NPYFormatError.Kind? {
    switch name {
    case "badMagic": .badMagic
    case "unsupportedVersion": .unsupportedVersion
    case "headerTooLarge": .headerTooLarge
    case "malformedHeader": .malformedHeader
    case "unsupportedDType": .unsupportedDType
    case "invalidShape": .invalidShape
    case "shapeTooLarge": .shapeTooLarge
    default: nil
    }
}

/// parse() over the first `count` bytes of `bytes`, as a Result so that tests can compare outcomes.
func parsePrefix(
    _ bytes: [UInt8], count: Int, maxHeaderLength: Int = 10_000
) -> Result<(header: NPYHeader, byteCount: Int)?, NPYFormatError> {
    bytes.withUnsafeBytes { raw in
        let prefix = UnsafeRawBufferPointer(rebasing: raw[0..<count])
        do throws(NPYFormatError) {
            return .success(try NPYHeader.parse(prefix, maxHeaderLength: maxHeaderLength))
        } catch {
            return .failure(error)
        }
    }
}
