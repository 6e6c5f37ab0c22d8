// The README's error table is a promise: every error line a bad input produces must match one of its entries word
// for word (an entry's `...` stands for the varying detail). Each fixture in fixtures/bad is run through the binary
// and its message held against the table as the README has it now. Relies on the binary, fixtures/bad, Foundation.
import Foundation
import Testing

@Suite struct ErrorTableTests {
    /// The backticked phrases of the README's "Errors" table, as anchored regular expressions.
    static func tablePatterns() throws -> [(text: String, regex: NSRegularExpression)] {
        let readme = try String(contentsOf: Paths.root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "### Errors"), let end = readme.range(of: "### Guarantees") else {
            throw TestFailure("README has no Errors section")
        }
        var patterns: [(String, NSRegularExpression)] = []
        for raw in readme[start.upperBound..<end.lowerBound].split(separator: "\n") where raw.hasPrefix("| ") {
            // `\|` is a literal bar inside a Markdown table cell.
            let line = raw.replacingOccurrences(of: "\\|", with: "\u{1}")
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.replacingOccurrences(of: "\u{1}", with: "|") }
            guard cells.count >= 3 else { continue }
            let said = cells[2]
            var parts = said.split(separator: "`", omittingEmptySubsequences: false).map(Substring.init)
            parts = parts.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            for phrase in parts where !phrase.isEmpty {
                let escaped = NSRegularExpression.escapedPattern(for: String(phrase))
                    .replacingOccurrences(of: "\\.\\.\\.", with: ".*")
                patterns.append((String(phrase), try NSRegularExpression(pattern: "^" + escaped + "$")))
            }
        }
        return patterns
    }

    @Test func everyBadInputMessageIsInTheTableWordForWord() throws {
        let patterns = try Self.tablePatterns()
        #expect(patterns.count > 20)
        for (name, _) in try badFixtureTable() {
            let path = Paths.fixtures.appendingPathComponent("bad/\(name)").path
            let r = try npyexp(["-c", path])
            let prefix = "npyexp: \(path): "
            let line = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            #expect(line.hasPrefix(prefix), "\(name): \(r.stderr)")
            let message = String(line.dropFirst(prefix.count))
            let range = NSRange(message.startIndex..., in: message)
            let matched = patterns.contains { $0.regex.firstMatch(in: message, range: range) != nil }
            #expect(matched, "\(name): '\(message)' is not in the README's error table")
        }
    }
}
