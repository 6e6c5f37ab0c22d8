import Testing
@testable import NPYFormat
