// fuzz-npy-header: libFuzzer target for the .npy header parser (NPYFormat). Beyond "never crashes, never hangs" it
// checks two properties on every input: a header that parses from the whole input also parses, from every prefix
// tried, to "not complete yet" (nil) and never to an error, since the pipeline feeds it whatever a read returned; and
// a parsed header re-encodes (np.save layout, 64-byte aligned) to bytes that parse back to the same header.
// Built with `swift build --sanitize=fuzzer`; a plain build replays the files given as arguments instead. Relies on NPYFormat only.
import FuzzSupport
import NPYFormat

#if canImport(Glibc)
import Glibc
#endif

/// One fuzz input; traps (a crash libFuzzer records) when a property fails.
func checkHeader(_ data: UnsafeRawBufferPointer) {
    guard let parsed = try? NPYHeader.parse(data) else { return }
    let (header, used) = parsed
    precondition(used <= data.count, "header byte count \(used) beyond the \(data.count) bytes given")
    var cuts: Set<Int> = [0, 1, 5, 6, 7, 8, 9, 10, 11, 12, used / 2, used - 2, used - 1]
    for _ in 0..<4 { cuts.insert(Int.random(in: 0..<used)) }
    for cut in cuts where cut >= 0 && cut < used {
        do {
            let prefix = try NPYHeader.parse(UnsafeRawBufferPointer(rebasing: data[..<cut]))
            precondition(prefix == nil, "a \(cut)-byte prefix of a \(used)-byte header parsed as complete")
        } catch {
            preconditionFailure("a \(cut)-byte prefix of a valid \(used)-byte header was refused: \(error)")
        }
    }
    let encoded = header.encoded()
    precondition(encoded.count % 64 == 0, "encoded header is \(encoded.count) bytes, not 64-aligned")
    let again: (header: NPYHeader, byteCount: Int)?
    do {
        again = try encoded.withUnsafeBytes { try NPYHeader.parse($0) }
    } catch {
        preconditionFailure("re-encoded header does not parse: \(error)")
    }
    guard let again else { preconditionFailure("re-encoded header is incomplete") }
    precondition(again.byteCount == encoded.count, "re-encoded header length differs")
    precondition(
        again.header.dtype == header.dtype && again.header.shape == header.shape
            && again.header.fortranOrder == header.fortranOrder,
        "round trip changed the header: \(header) -> \(again.header)")
}

@c(LLVMFuzzerTestOneInput)
public func fuzzNPYHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    checkHeader(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// Replays the files given as arguments (crash reproducers, the seed corpus) through the same checks. A global
/// initializer, so it works in both builds: in the plain build this single file is compiled as a script and its
/// globals initialise in order at start-up; the fuzzer build compiles it as a library (libFuzzer brings the entry
/// point) and this global, never read, is never initialised.
let replayed: Int = {
    for path in CommandLine.arguments.dropFirst() {
        readWholeFile(path).withUnsafeBytes { checkHeader($0) }
    }
    
    return CommandLine.arguments.count - 1
}()
