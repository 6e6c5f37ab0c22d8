import Testing
@testable import NPYExp
@Test func placeholder() { #expect(Bool(true)) }
