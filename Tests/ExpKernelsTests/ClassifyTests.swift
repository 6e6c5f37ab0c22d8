// Tests of the result classification that feeds npyexp's reports (ExpKernels.classify / count(atLeast:)): counts
// on seeded data full of specials (NaN with payloads and signs, both infinities, both zeros, subnormals, the
// threshold's neighbours) must equal a plain one-by-one count made with Swift's own predicates, at lengths that
// leave every possible vector tail.
import ExpKernels
import Testing
import ToolSupport

/// Seeded values of type F drawn mostly from a small set of specials and near-specials.
private func specialsHeavy<F: BinaryFloatingPoint>(_: F.Type, count: Int, seed: UInt64, near threshold: F) -> [F]
{
    var rng = SplitMix64(seed: seed)
    let pool: [F] = [
        .nan, -.nan, .signalingNaN, .infinity, -.infinity, 0, -0,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .greatestFiniteMagnitude, 1, -1,
        threshold, threshold.nextUp, threshold.nextDown,
    ]
    return (0..<count).map { _ in
        Bool.random(using: &rng) ? pool.randomElement(using: &rng)! : F(Double.random(in: -800...800, using: &rng))
    }
}

/// Checks `classify` against Swift's own predicates, one value at a time.
private func expectCountsMatch<F: BinaryFloatingPoint>(
    _ values: [F], _ classify: (UnsafeBufferPointer<F>) -> (nan: Int, infinity: Int, zero: Int)
) {
    let got = values.withUnsafeBufferPointer(classify)
    #expect(got.nan == values.filter(\.isNaN).count)
    #expect(got.infinity == values.filter { $0 == .infinity }.count)
    #expect(got.zero == values.filter(\.isZero).count)
}

@Test(arguments: [0, 1, 7, 15, 16, 17, 63, 1000, 4099])
func classifyCountsFloat32LikeOneByOne(count: Int) {
    let values = specialsHeavy(Float.self, count: count, seed: UInt64(count) + 1, near: 709.78271484375)
    expectCountsMatch(values, ExpKernels.classify)
    let beyond = values.withUnsafeBufferPointer { ExpKernels.count($0, atLeast: 709.78271484375) }
    #expect(beyond == values.filter { $0 >= 709.78271484375 }.count)
}

@Test(arguments: [0, 1, 7, 8, 9, 31, 1000, 4099])
func classifyCountsFloat64LikeOneByOne(count: Int) {
    expectCountsMatch(
        specialsHeavy(Double.self, count: count, seed: UInt64(count) + 101, near: 709.782712893384),
        ExpKernels.classify)
}

@Test func classifyCountsPastItsThirtyTwoBitRuns() {
    // The C loops sum 2^24 elements at a time in 32-bit counters; a longer array crosses a run boundary.
    let count = (1 << 24) + 3
    let values = [Float](repeating: .infinity, count: count)
    let got = values.withUnsafeBufferPointer { ExpKernels.classify($0) }
    #expect(got.infinity == count && got.nan == 0 && got.zero == 0)
    #expect(values.withUnsafeBufferPointer { ExpKernels.count($0, atLeast: 709.78271484375) } == count)
}
