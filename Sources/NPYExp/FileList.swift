// FileList: inputs named by another tool (`find ... -print0`, `ls`, a database query) in a file or on standard input,
// one per line or NUL-separated (`-0`, for names that may hold newlines). A listed name that is relative and stays
// below the current directory keeps its whole path as the relative path (so `-o DIR` mirrors the listed tree, and
// sharding hashes the listed path); an absolute name, or one that climbs out with `..`, is taken like a file given on
// the command line (its output named by its file name). Directories are expanded like INPUT arguments; a listed
// name is never globbed. Relies on Glibc (stat, read) and Discovery.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and expands a list of input names.
public enum FileList {
    /// Splits the list's bytes into names: by NUL when `nulSeparated`, else by newline (a trailing "\r" is kept, as
    /// it may be part of a name). Empty names are dropped.
    public static func names(in bytes: [UInt8], nulSeparated: Bool) -> [String] {
        let separator: UInt8 = nulSeparated ? 0 : UInt8(ascii: "\n")
        return bytes.split(separator: separator, omittingEmptySubsequences: true).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// Reads a whole list from `path` ("-" for standard input).
    public static func read(_ path: String) throws(NPYExpError) -> [UInt8] {
        let file = path == "-" ? InputFile(standardInput: ()) : try InputFile(path: path)
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = try file.read(into: chunk)
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return bytes
    }

    /// The inputs a list names, in list order, each file once. Names that do not exist come back as errors (the
    /// run goes on with the rest, as with INPUT arguments).
    public static func items(names: [String]) -> (items: [InputItem], errors: [NPYExpError]) {
        var items: [InputItem] = []
        var errors: [NPYExpError] = []
        var seen: Set<String> = []
        for name in names {
            var st = stat()
            guard stat(name, &st) == 0 else {
                errors.append(NPYExpError(path: name, SystemCall.errnoText(errno), category: .noInput))
                continue
            }
            let found: [InputItem]
            if (st.st_mode & S_IFMT) == S_IFDIR {
                do { found = try InputDiscovery.expand(name) } catch {
                    errors.append(error)
                    continue
                }
            } else {
                found = [item(forListedFile: name)]
            }
            for item in found where seen.insert(item.path).inserted { items.append(item) }
        }
        return (items, errors)
    }

    /// The item for one listed file: relative names below the current directory keep their path.
    static func item(forListedFile name: String) -> InputItem {
        var relative = Substring(name)
        while relative.hasPrefix("./") {
            relative = relative.dropFirst(2)
            while relative.hasPrefix("/") { relative = relative.dropFirst() }
        }
        let components = relative.split(separator: "/", omittingEmptySubsequences: true)
        if name.hasPrefix("/") || components.contains("..") || components.contains(".") || components.isEmpty {
            let (dir, file) = PathTools.split(name)
            return InputItem(path: name, base: dir, relativePath: file)
        }
        return InputItem(path: name, base: ".", relativePath: components.joined(separator: "/"))
    }
}
