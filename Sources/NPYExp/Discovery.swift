// Discovery: turns the command line's INPUT arguments (files, directories, quoted globs with `*`, `?`, `[...]` and `**`,
// or `-`) into a sorted list of inputs, each with the base directory its output path is relative to; and names the
// output of each input. Hidden files and npyexp's own outputs are never picked up. Relies on Glibc (opendir, fnmatch).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One input file and where its output goes relative to an output directory.
public struct InputItem: Sendable, Equatable, Hashable {
    /// Path as the user can open it; "-" for standard input.
    public var path: String
    /// The directory the relative path starts from.
    public var base: String
    /// `path` relative to `base`; the output keeps this path below `--output-dir`.
    public var relativePath: String

    public init(path: String, base: String, relativePath: String) {
        self.path = path
        self.base = base
        self.relativePath = relativePath
    }

    /// A single file named on its own: its base is its directory.
    public init(file path: String) {
        let (dir, name) = PathTools.split(path)
        self.init(path: path, base: dir, relativePath: name)
    }

    public static let standardInput = InputItem(path: "-", base: ".", relativePath: "-")
    public var isStandardInput: Bool { path == "-" }
}

/// Expands INPUT arguments.
public enum InputDiscovery {
    /// Files that a directory walk or a glob picks up.
    public static func isTensorName(_ name: String) -> Bool {
        name.hasSuffix(".npy") || name.hasSuffix(".npy.gz")
    }

    /// Names npyexp gives its outputs when they sit beside their inputs.
    public static func isOwnOutputName(_ name: String) -> Bool {
        name.hasSuffix(".exp.npy") || name.hasSuffix(".exp.npy.gz")
    }

    /// Splits off inputs that are npyexp's own outputs: without an output directory, files named NAME.exp.npy[.gz];
    /// with one, anything inside it. Rerunning a command therefore never computes exp(exp(x)).
    public static func separatingOwnOutputs(_ items: [InputItem], outputDirectory: String?)
        -> (inputs: [InputItem], ownOutputs: [InputItem])
    {
        var kept: [InputItem] = []
        var own: [InputItem] = []
        let outRoot = outputDirectory.flatMap { PathTools.realPath($0) }.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        for item in items where !item.isStandardInput {
            let isOwn: Bool
            if let outRoot {
                isOwn = PathTools.realPath(item.path).map { $0.hasPrefix(outRoot) } ?? false
            } else {
                isOwn = outputDirectory == nil && isOwnOutputName(PathTools.split(item.path).1)
            }
            if isOwn { own.append(item) } else { kept.append(item) }
        }
        kept += items.filter(\.isStandardInput)
        return (kept, own)
    }

    static func hasWildcard(_ s: String) -> Bool {
        s.contains("*") || s.contains("?") || s.contains("[")
    }

    /// The inputs one argument names, sorted byte-wise by relative path. Throws when it names nothing.
    public static func expand(_ argument: String) throws(NPYExpError) -> [InputItem] {
        if argument == "-" { return [.standardInput] }
        var st = stat()
        if stat(argument, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let base = trimTrailingSlashes(argument)
                let found = walk(directory: base).map {
                    InputItem(path: PathTools.join(base, $0), base: base, relativePath: $0)
                }
                if found.isEmpty {
                    throw NPYExpError(path: argument, "no .npy or .npy.gz files in directory", category: .noInput)
                }
                return found
            }
            return [InputItem(file: argument)]
        }
        if hasWildcard(argument) {
            let found = glob(argument)
            if found.isEmpty { throw NPYExpError(path: argument, "no files match", category: .noInput) }
            return found
        }
        let code = errno
        throw NPYExpError(path: argument, SystemCall.errnoText(code), category: .noInput)
    }

    static func trimTrailingSlashes(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Entries of a directory, without "." and "..".
    static func entries(_ dir: String) -> [(name: String, isDirectory: Bool, isFile: Bool)] {
        guard let d = opendir(dir.isEmpty ? "." : dir) else { return [] }
        defer { closedir(d) }
        var result: [(String, Bool, Bool)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            let full = PathTools.join(dir, name)
            // Symbolic links to files are followed; links to directories are not walked (no cycles).
            var lst = stat()
            guard lstat(full, &lst) == 0 else { continue }
            let isLink = (lst.st_mode & S_IFMT) == S_IFLNK
            guard stat(full, &st) == 0 else { continue }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR && !isLink
            let isFile = (st.st_mode & S_IFMT) == S_IFREG
            result.append((name, isDir, isFile))
        }
        return result
    }

    /// Relative paths of every visible tensor file below `directory`, sorted byte-wise.
    static func walk(directory: String) -> [String] {
        var found: [String] = []
        func visit(_ rel: String) {
            for e in entries(rel.isEmpty ? directory : PathTools.join(directory, rel)) where !e.name.hasPrefix(".") {
                let child = rel.isEmpty ? e.name : rel + "/" + e.name
                if e.isDirectory {
                    visit(child)
                } else if e.isFile && isTensorName(e.name) {
                    found.append(child)
                }
            }
        }
        visit("")
        return found.sorted(by: byteOrder)
    }

    /// Expands a glob: the leading components without wildcards are the base; `**` spans any number of directories.
    static func glob(_ pattern: String) -> [InputItem] {
        let absolute = pattern.hasPrefix("/")
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var baseParts: [String] = []
        var rest = parts[...]
        while let first = rest.first, !hasWildcard(first), rest.count > 1 {
            baseParts.append(first)
            rest = rest.dropFirst()
        }
        var base = baseParts.joined(separator: "/")
        if absolute { base = "/" + base }
        if base.isEmpty { base = "." }
        var matches: Set<String> = []
        func match(_ rel: String, _ remaining: ArraySlice<String>) {
            guard let component = remaining.first else { return }
            let dir = rel.isEmpty ? base : PathTools.join(base, rel)
            let last = remaining.count == 1
            if component == "**" && last {
                for file in walk(directory: dir) { matches.insert(rel.isEmpty ? file : rel + "/" + file) }
                return
            }
            if component == "**" {
                // Zero directories...
                match(rel, remaining.dropFirst())
                // ...or one more, then again any number.
                for e in entries(dir) where e.isDirectory && !e.name.hasPrefix(".") {
                    match(rel.isEmpty ? e.name : rel + "/" + e.name, remaining)
                }
                return
            }
            if !hasWildcard(component) {
                let child = rel.isEmpty ? component : rel + "/" + component
                let full = PathTools.join(base, child)
                if last {
                    var st = stat()
                    if stat(full, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { matches.insert(child) }
                } else if PathTools.isDirectory(full) {
                    match(child, remaining.dropFirst())
                }
                return
            }
            for e in entries(dir) {
                // FNM_PERIOD: a leading dot must be matched explicitly, so hidden files stay out.
                guard fnmatch(component, e.name, FNM_PERIOD) == 0 else { continue }
                let child = rel.isEmpty ? e.name : rel + "/" + e.name
                if last {
                    if e.isFile && isTensorName(e.name) { matches.insert(child) }
                } else if e.isDirectory {
                    match(child, remaining.dropFirst())
                }
            }
        }
        match("", rest)
        return matches.sorted(by: byteOrder).map {
            InputItem(path: base == "." && !pattern.hasPrefix("./") ? $0 : PathTools.join(base, $0),
                      base: base, relativePath: $0)
        }
    }
}
