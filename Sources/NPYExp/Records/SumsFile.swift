// SumsFile: one SHA256SUMS file for a run, in coreutils format (`HASH  PATH`), PATH relative to the sums file's
// directory so that `sha256sum -c` run there verifies every output. Lines are sorted byte-wise by path, so that the
// sums files of several shards merge into exactly the single-run file with `cat *.sums | LC_ALL=C sort -k2`.
// Names holding a newline or a backslash are escaped the way coreutils does (a leading backslash on the line).
// Written atomically. Relies on PathTools, Checksums (escaping) and AtomicText.

/// Builds and writes SHA256SUMS files.
public enum SumsFile {
    /// One line per (digest, output path), sorted by the path as written; `directory` is where the sums file lives.
    /// Paths are made relative to it (with `..` where the output lies elsewhere).
    public static func text(_ entries: [(digest: String, path: String)], directory: String) -> String {
        let base = absolute(directory)
        let lines = entries.map { entry -> (key: String, line: String) in
            let rel = relativePath(absolute(entry.path), from: base)
            let (name, escaped) = Checksums.escape(rel)
            return ("  " + name, (escaped ? "\\" : "") + entry.digest + "  " + name + "\n")
        }
        // `sort -k2` compares from the blanks before the path on; sorting on the same key keeps both in step.
        return lines.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map(\.line).joined()
    }

    /// Writes the sums file for the reports that have an output file (done or skipped).
    public static func write(_ reports: [FileReport], to path: String, durable: Bool = true) throws(NPYExpError) {
        let entries = reports.compactMap { r -> (digest: String, path: String)? in
            guard r.error == nil, let out = r.outputPath, let digest = r.outputSHA256 else { return nil }
            return (digest, out)
        }
        let dir = PathTools.split(path).0
        try PathTools.makeDirectories(dir)
        try AtomicText.write(text(entries, directory: dir), to: path, durable: durable)
    }

    /// An absolute, normalised path: the real path of its directory (which exists once an output is written) and
    /// its name; a path whose directory does not exist is normalised textually against the working directory.
    static func absolute(_ path: String) -> String {
        if let real = PathTools.realPath(path), PathTools.isDirectory(path) { return real }
        let (dir, name) = PathTools.split(path)
        if let realDir = PathTools.realPath(dir) { return PathTools.join(realDir, name) }
        return normalise(path.hasPrefix("/") ? path : PathTools.join(PathTools.realPath(".") ?? "/", path))
    }

    static func normalise(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `target` relative to the directory `base`; both absolute and normalised.
    static func relativePath(_ target: String, from base: String) -> String {
        let t = target.split(separator: "/")
        let b = base.split(separator: "/")
        var common = 0
        while common < t.count, common < b.count, t[common] == b[common] { common += 1 }
        let up = Array(repeating: "..", count: b.count - common)
        return (up + t[common...].map(String.init)).joined(separator: "/")
    }
}
