// PathTools: small helpers on path strings (split, join, directories, real paths), without Foundation, so that paths
// are taken exactly as given; and the check that keeps outputs inside `-o DIR`. Relies on Glibc.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small path helpers on byte strings; no Foundation, so that paths are taken exactly as given.
enum PathTools {
    /// (directory, last component); the directory is "." for a bare name.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = path[..<slash]
        return (dir.isEmpty ? "/" : String(dir), String(path[path.index(after: slash)...]))
    }

    static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty || a == "." { return b }
        if b.isEmpty { return a }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return FileSystem.stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its parents (mode 0755 before umask).
    static func makeDirectories(_ path: String) throws(NPYExpError) {
        if path.isEmpty || path == "." || path == "/" || isDirectory(path) { return }
        let (parent, _) = split(path)
        if parent != path { try makeDirectories(parent) }
        if FileSystem.mkdir(path, 0o755) == -1 && errno != EEXIST {
            try SystemCall.check(Int32(-1), "cannot create directory", path: path, category: .output)
        }
    }

    /// fsyncs a directory so that renames inside it are durable.
    static func syncDirectory(_ path: String) throws(NPYExpError) {
        let fd = FileSystem.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try SystemCall.check(fd, "cannot open directory", path: path, category: .output)
        defer { close(fd) }
        try SystemCall.check(fsync(fd), "fsync of directory failed", path: path, category: .output)
    }

    /// Refuses an output that would land outside `outputDirectory`: a relative path that is absolute or has a `..`
    /// component (a glob such as `a/*/../../b/*.npy`), or an existing directory on the way that is a symbolic link
    /// leading out. Checked before any directory is created, so nothing at all is made outside.
    /// `resolve` gives a directory's real path (the planner passes its per-run cache).
    static func checkStaysInside(
        relativePath: String, outputDirectory: String, input: String,
        resolve: (String) -> String? = { PathTools.realPath($0) }
    ) throws(NPYExpError) {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        if relativePath.hasPrefix("/") || components.contains("..") {
            throw NPYExpError(
                path: input, "refused: output path would leave the output directory (\(relativePath))",
                category: .usage)
        }
        guard let root = resolve(outputDirectory) else { return }
        var dir = outputDirectory
        for component in components.dropLast() where !component.isEmpty && component != "." {
            dir = join(dir, String(component))
            guard let real = resolve(dir) else { return }  // not there yet: mkdir makes real directories inside
            if real != root && !real.hasPrefix(root == "/" ? "/" : root + "/") {
                throw NPYExpError(
                    path: input, "refused: \(dir) is a symbolic link out of the output directory (to \(real))",
                    category: .usage)
            }
        }
    }

    /// The working directory (once per process: it does not change while npyexp runs).
    static func currentDirectory() -> String { workingDirectory }

    private static let workingDirectory: String = {
        guard let p = getcwd(nil, 0) else { return "." }
        defer { free(p) }
        return FileSystem.string(cString: p)
    }()

    static func realPath(_ path: String) -> String? {
        FileSystem.realpath(path)
    }
}
