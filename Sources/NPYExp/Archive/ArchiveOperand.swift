// Archive: the forward result of a backward job over archives. The result archive is read on a thread of its own
// (ArchiveReader: every member checked like any input) and its members' bytes follow each other through one
// PullStream; the gradient's job takes them member by member as `OperandStream`s, pairing members by position and
// requiring the same names. Relies on ArchiveReader, Handoff (PullStream) and Backward (OperandStream).

/// The members of a result archive, handed out one `OperandStream` at a time.
final class ArchiveOperand {
    private let path: String
    private let stream: PullStream
    /// Member names in order, as the reading thread reaches their headers.
    private let list = EntryList()
    private var taken = 0

    /// Starts reading the archive `file`, whose first bytes `prefix` were read already.
    init(file: InputFile, prefix: UnsafeRawBufferPointer, chunkBytes: Int) {
        path = file.path
        let list = self.list
        let box = UncheckedBox((file, Array(prefix)))
        stream = PullStream(depth: 2, chunkBytes: chunkBytes) { emit in
            let (file, prefix) = box.value
            let reader = prefix.withUnsafeBytes { ArchiveReader(file: file, prefix: $0) }
            while let entry = try reader.nextMember() {
                list.entries.withLock { $0.append(entry) }
                try reader.readMember(emit)
            }
            try reader.finish()
        }
    }

    deinit { stream.stop() }

    /// The result member paired with the gradient's member `name` (the next one in order, of the same name).
    func next(for name: MemberName) throws -> OperandStream {
        let position = taken
        taken += 1
        let operand: OperandStream
        do {
            operand = try OperandStream(stream, path: path, member: name.text)
        } catch let error as NPYExpError where error.message.contains("empty input") {
            throw NPYExpError(path: path, "has no member '\(name.text)' (it has \(position))", category: .data)
        }
        let listed = list.entries.withLock { $0.count > position ? $0[position].name : nil }
        guard listed == name.bytes else {
            let found = listed.map { "'\(MemberName(bytes: $0).text)'" } ?? "none"
            throw NPYExpError(
                path: path, "member \(position + 1) is \(found), the gradient's is '\(name.text)' (members pair by name, in order)",
                category: .data)
        }
        return operand
    }

    /// After the gradient's last member: the result must have no more members, and be intact to its end.
    func finish() throws {
        var probe = [UInt8](repeating: 0, count: 4096)
        let n = try probe.withUnsafeMutableBytes { try stream.read(into: $0.baseAddress!, count: $0.count) }
        let count = list.entries.withLock { $0.count }
        if n > 0 || count > taken {
            throw NPYExpError(path: path, "has more members than the gradient (\(max(count, taken + 1)) against \(taken))", category: .data)
        }
    }
}
