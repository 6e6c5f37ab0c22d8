// FuzzSupport: what the libFuzzer targets share: reading a reproducer or seed file whole, for their replay mode (a
// plain build runs the files given as arguments through the same checks). Not part of any product.
// Relies on: Glibc stdio.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The whole content of the file at `path`, or no bytes when it cannot be opened.
public func readWholeFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        out += chunk[..<n]
    }
    return out
}
