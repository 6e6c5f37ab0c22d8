// Promotion rules (issue 14 item 5): the output dtype of exp for every integer and bool input under torch's rule
// (float32) and numpy's (by width), checked against numpy's own np.exp result dtypes; floats and complex keep their
// dtype under both. Relies on NPYExp (ComputeType.resolve, Promotion), NPYFormat, python3 with numpy.
import Foundation
import NPYExp
import NPYFormat
import Testing

@Suite struct PromotionTests {
    static let descrs = ["|b1", "|i1", "|u1", "<i2", ">u2", "<i4", "<u4", "<i8", ">u8", "<f2", "<f4", ">f8", "<c8", "<c16"]

    @Test func numpyPromotionGivesNumpysDtypes() throws {
        let numpy = try python(
            """
            import numpy as np, sys
            print(" ".join(np.exp(np.zeros(1, np.dtype(d))).dtype.name for d in sys.argv[1:]))
            """, Self.descrs)
        let expected = numpy.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        for (descr, want) in zip(Self.descrs, expected) {
            let dtype = try NPYDType(descr: descr)
            #expect(try ComputeType.resolve(input: dtype, requested: nil, promotion: .numpy).rawValue == want, "\(descr)")
            let torch = try ComputeType.resolve(input: dtype, requested: nil)
            let kind = dtype.kind
            #expect(kind == .float || kind == .complex ? torch.rawValue == want : torch == .float32, "\(descr)")
        }
    }
}
