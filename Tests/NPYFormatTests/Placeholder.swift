import Testing
@testable import NPYFormat
@Test func placeholder() { #expect(Bool(true)) }
