// fuzz-stream: libFuzzer target for the whole input side of the pipeline: container detection, npyexp's parallel
// block-gzip reader and the serial multi-member decoder, the streaming NPY transform (header, chunking, dtype
// conversion, exp, data length checks) and the plain writer, run on each input as a file (the pipeline reads files), and
// `OutputVerifier`'s structure check of the same bytes. Property: an input the pipeline accepts must be one the
// verifier finds intact (a reader that accepts what another refuses is a bug in one of them). That verifier shares
// the gzip decoder and header parser with the pipeline, so `Tools/fuzz-verify.py` (run by .ci/fuzz) also checks a
// sample of the corpus against Python's gzip and numpy, which share nothing with it.
// Uses of the NPYExp API (keep in step with it): ExpConfiguration (jobs, chunkBytes, durable, container),
// ExpPipeline(_:).process(_:toStandardOutput:), InputItem(path:base:relativePath:), FileReport.error,
// OutputVerifier.structuralFault(of:).
// Built with `swift build --sanitize=fuzzer`; a plain build replays the files given as arguments instead. Relies on NPYExp.
import FuzzSupport
import NPYExp

#if canImport(Glibc)
import Glibc
#endif

/// Outputs go to standard output, pointed at /dev/null once; the input file lives on tmpfs.
let scratchPath: String = {
    let null = open("/dev/null", O_WRONLY)
    dup2(null, 1)
    close(null)
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(dir)/npyexp-fuzz-stream-\(getpid()).npy"
}()

let pipeline: ExpPipeline = {
    var c = ExpConfiguration()
    // Two jobs and the smallest chunk: an input of 8 KiB or more takes the overlapped reader (a thread inflating one
    // chunk ahead), exp runs in parallel slices, and every input of a few KiB spans many chunks.
    c.jobs = 2
    c.chunkBytes = 4096
    c.durable = false
    // Plain output: deflate is the writer's cost, not the reader's; without it the fuzzer runs several times faster.
    c.container = .plain
    return ExpPipeline(c)
}()

func checkStream(_ data: UnsafeRawBufferPointer) {
    let path = scratchPath
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var offset = 0
    while offset < data.count {
        let n = write(fd, data.baseAddress! + offset, data.count - offset)
        precondition(n > 0, "write to \(path) failed")
        offset += n
    }
    close(fd)
    let report = pipeline.process(InputItem(path: path, base: "/", relativePath: "x.npy"), toStandardOutput: true)
    let fault = OutputVerifier.structuralFault(of: data)
    if report.error == nil, let fault {
        preconditionFailure("the pipeline accepted an input the verifier refuses: \(fault)")
    }
}

@c(LLVMFuzzerTestOneInput)
public func fuzzStream(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    checkStream(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// Replays the files given as arguments (crash reproducers, the seed corpus) through the same checks. A global
/// initializer, so it works in both builds: in the plain build this single file is compiled as a script and its
/// globals initialise in order at start-up; the fuzzer build compiles it as a library (libFuzzer brings the entry
/// point) and this global, never read, is never initialised.
let replayed: Int = {
    for path in CommandLine.arguments.dropFirst() {
        readWholeFile(path).withUnsafeBytes { checkStream($0) }
    }
    unlink(scratchPath)
    return CommandLine.arguments.count - 1
}()
