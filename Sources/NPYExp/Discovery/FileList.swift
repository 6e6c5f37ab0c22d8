// FileList: inputs named by another tool (`find ... -print0`, `ls`, a database query) in a file or on standard input,
// one per line or NUL-separated (`-0`, for names that may hold newlines). A listed name never loses its directories:
// a relative name that stays below the current directory keeps its path; an absolute name, or one that climbs out
// with `..`, keeps its whole tree with the leading `/` dropped, as tar does (`/data/a/x.npy` -> `DIR/data/a/x.npy`
// under `-o DIR`). So two listed files never share an output, `-o DIR` mirrors the listed tree, and sharding hashes
// the same relative path in every shard. Directories are expanded like INPUT arguments; a listed name is never
// globbed. Relies on Glibc (stat, read, getcwd) and Discovery.
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
            FileSystem.string(fromBytes: $0)
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
            guard FileSystem.stat(name, &st) == 0 else {
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
            for item in found where seen.insert(item.path).inserted {
                var listed = item
                listed.origin = .listed
                items.append(listed)
            }
        }
        return (items, errors)
    }

    /// The item for one listed file: its path below the current directory, or its absolute tree without the
    /// leading `/`.
    static func item(forListedFile name: String) -> InputItem {
        let components = name.split(separator: "/", omittingEmptySubsequences: true)
        if !name.hasPrefix("/") && !components.contains("..") {
            let kept = components.filter { $0 != "." }
            if !kept.isEmpty {
                return InputItem(path: name, base: ".", relativePath: kept.joined(separator: "/"), origin: .listed)
            }
        }
        let cwd = PathTools.currentDirectory()
        let absolute = SumsFile.normalise(name.hasPrefix("/") ? name : PathTools.join(cwd, name))
        let root = cwd == "/" ? "/" : cwd + "/"
        if absolute.hasPrefix(root) && absolute.count > root.count {
            return InputItem(path: name, base: ".", relativePath: String(absolute.dropFirst(root.count)), origin: .listed)
        }
        return InputItem(path: name, base: "/", relativePath: String(absolute.drop { $0 == "/" }), origin: .listed)
    }
}
