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
    /// How the input was named; only inputs found by a walk or a glob are ever left out as npyexp's own outputs.
    public enum Origin: Sendable, Equatable, Hashable {
        /// Named on the command line (or by a library caller).
        case named
        /// Found by walking a directory.
        case walk
        /// Matched by a glob.
        case glob
        /// Listed in a --files-from list.
        case listed
    }

    /// Path as the user can open it; "-" for standard input.
    public var path: String
    /// The directory the relative path starts from.
    public var base: String
    /// `path` relative to `base`; the output keeps this path below `--output-dir`.
    public var relativePath: String
    /// How the input was named.
    public var origin: Origin

    /// An input at `path`, whose output keeps `relativePath` (relative to `base`) below an output directory.
    public init(path: String, base: String, relativePath: String, origin: Origin = .named) {
        self.path = path
        self.base = base
        self.relativePath = relativePath
        self.origin = origin
    }

    /// A single file named on its own: its base is its directory.
    public init(file path: String) {
        let (dir, name) = PathTools.split(path)
        self.init(path: path, base: dir, relativePath: name)
    }

    /// Standard input; below an output directory its output is named by `named(_:)`.
    public static let standardInput = InputItem(path: "-", base: ".", relativePath: "-")
    /// Whether this is standard input.
    public var isStandardInput: Bool { path == "-" }

    /// Standard input whose output (below an output directory) is called `name`.
    public static func standardInput(named name: String) -> InputItem {
        InputItem(path: "-", base: ".", relativePath: name)
    }
}

/// Expands INPUT arguments.
public enum InputDiscovery {
    /// Size of a regular file (following links); nil for anything else, or what cannot be read.
    public static func regularFileSize(_ path: String) -> Int? {
        var st = stat()
        guard FileSystem.stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    /// Files that a directory walk or a glob picks up.
    public static func isTensorName(_ name: String) -> Bool {
        name.hasSuffix(".npy") || name.hasSuffix(".npy.gz") || name.hasSuffix(".npz")
    }

    /// Names npyexp gives its outputs when they sit beside their inputs.
    public static func isOwnOutputName(_ name: String) -> Bool {
        name.hasSuffix(".exp.npy") || name.hasSuffix(".exp.npy.gz") || name.hasSuffix(".exp.npz")
    }

    static func hasWildcard(_ s: String) -> Bool {
        s.contains("*") || s.contains("?") || s.contains("[")
    }

    /// What a list of INPUT arguments names: the inputs, in argument order (each argument's sorted byte-wise), and
    /// one error per argument that names nothing and per entry a walk could not read.
    public static func discover(_ arguments: [String]) -> (items: [InputItem], problems: [NPYExpError]) {
        var items: [InputItem] = []
        var problems: [NPYExpError] = []
        var seen: Set<String> = []
        for argument in arguments {
            for item in expand(argument, problems: &problems) where item.isStandardInput || seen.insert(item.path).inserted {
                items.append(item)
            }
        }
        return (items, problems)
    }

    /// The inputs one argument names, sorted byte-wise by relative path. Throws when it names nothing, or when a
    /// walk met an entry it could not read (use `discover` to keep going past those).
    public static func expand(_ argument: String) throws(NPYExpError) -> [InputItem] {
        var problems: [NPYExpError] = []
        let items = expand(argument, problems: &problems)
        if let first = problems.first { throw first }
        return items
    }

    static func expand(_ argument: String, problems: inout [NPYExpError]) -> [InputItem] {
        if argument == "-" { return [.standardInput] }
        var st = stat()
        if FileSystem.stat(argument, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let base = trimTrailingSlashes(argument)
                let before = problems.count
                let found = walk(directory: base, problems: &problems).map {
                    InputItem(path: PathTools.join(base, $0), base: base, relativePath: $0, origin: .walk)
                }
                if found.isEmpty && problems.count == before {
                    problems.append(
                        NPYExpError(path: argument, "no .npy or .npy.gz files in directory", category: .noInput))
                }
                return found
            }
            return [InputItem(file: argument)]
        }
        let code = errno
        if hasWildcard(argument) {
            let before = problems.count
            let found = glob(argument, problems: &problems)
            if found.isEmpty && problems.count == before {
                problems.append(NPYExpError(path: argument, "no files match", category: .noInput))
            }
            return found
        }
        problems.append(NPYExpError(path: argument, SystemCall.errnoText(code), category: .noInput))
        return []
    }

    static func trimTrailingSlashes(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Entries of a directory, without "." and "..". What cannot be read is reported in `problems`, never skipped
    /// silently: an unreadable directory, and (among names a walk would take) dangling links, link loops and
    /// names too long for the system. Hidden names are left out by the callers, not here. Entries whose type the
    /// directory records (d_type) cost no stat; links and unknown types are stat'ed.
    static func entries(_ dir: String, problems: inout [NPYExpError]) -> [(name: String, isDirectory: Bool, isFile: Bool)] {
        guard let d = FileSystem.opendir(dir.isEmpty ? "." : dir) else {
            problems.append(
                NPYExpError(path: dir, "cannot read directory: \(SystemCall.errnoText(errno))", category: .noInput))
            return []
        }
        defer { closedir(d) }
        var result: [(String, Bool, Bool)] = []
        while let e = readdir(d) {
            let name = FileSystem.name(of: e)
            if name == "." || name == ".." { continue }
            // Most file systems say in the entry itself what a plain file or directory is: no stat needed then.
            switch Int32(e.pointee.d_type) {
            case Int32(DT_REG):
                result.append((name, false, true))
                continue
            case Int32(DT_DIR):
                result.append((name, true, false))
                continue
            default: break
            }
            let full = PathTools.join(dir, name)
            // Symbolic links to files are followed; links to directories are not walked (no cycles).
            var lst = stat()
            guard FileSystem.lstat(full, &lst) == 0 else {
                let code = errno
                if code != ENOENT && !name.hasPrefix(".") {  // ENOENT: removed meanwhile
                    problems.append(NPYExpError(path: full, SystemCall.errnoText(code), category: .noInput))
                }
                continue
            }
            let isLink = (lst.st_mode & S_IFMT) == S_IFLNK
            var st = stat()
            guard FileSystem.stat(full, &st) == 0 else {
                let code = errno
                if !name.hasPrefix(".") && isTensorName(name) {
                    let what = code == ENOENT ? "dangling symbolic link" : SystemCall.errnoText(code)
                    problems.append(NPYExpError(path: full, "skipped: \(what)", category: .noInput))
                }
                continue
            }
            let isDir = (st.st_mode & S_IFMT) == S_IFDIR && !isLink
            let isFile = (st.st_mode & S_IFMT) == S_IFREG
            result.append((name, isDir, isFile))
        }
        return result
    }

    /// Relative paths of every visible tensor file below `directory`, sorted byte-wise.
    static func walk(directory: String, problems: inout [NPYExpError]) -> [String] {
        var found: [String] = []
        func visit(_ rel: String) {
            for e in entries(rel.isEmpty ? directory : PathTools.join(directory, rel), problems: &problems)
            where !e.name.hasPrefix(".") {
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
    static func glob(_ pattern: String, problems: inout [NPYExpError]) -> [InputItem] {
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
                for file in walk(directory: dir, problems: &problems) { matches.insert(rel.isEmpty ? file : rel + "/" + file) }
                return
            }
            if component == "**" {
                // Zero directories...
                match(rel, remaining.dropFirst())
                // ...or one more, then again any number.
                for e in entries(dir, problems: &problems) where e.isDirectory && !e.name.hasPrefix(".") {
                    match(rel.isEmpty ? e.name : rel + "/" + e.name, remaining)
                }
                return
            }
            if !hasWildcard(component) {
                let child = rel.isEmpty ? component : rel + "/" + component
                let full = PathTools.join(base, child)
                if last {
                    var st = stat()
                    if FileSystem.stat(full, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { matches.insert(child) }
                } else if PathTools.isDirectory(full) {
                    match(child, remaining.dropFirst())
                }
                return
            }
            for e in entries(dir, problems: &problems) {
                // FNM_PERIOD: a leading dot must be matched explicitly, so hidden files stay out.
                guard FileSystem.fnmatch(component, e.name, FNM_PERIOD) == 0 else { continue }
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
            InputItem(
                path: base == "." && !pattern.hasPrefix("./") ? $0 : PathTools.join(base, $0),
                base: base, relativePath: $0, origin: .glob)
        }
    }
}
