// The program .ci/library-dependency builds in a throwaway package that depends on npyexp BY VERSION (a tagged local
// git repository), to prove the library product `NPYExp` can be used that way (no unsafeFlags anywhere in the
// graph). Kept tiny and in one file so its few API names are easy to adjust when the public API changes.
// Usage: example INPUT.npy[.gz] OUTPUT-DIR; prints the output path; exits 1 when the input failed.
import NPYExp
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
var configuration = ExpConfiguration()
configuration.outputDirectory = arguments[2]
let report = ExpPipeline(configuration).process(InputItem(file: arguments[1]))
if let error = report.error {
    print("failed: \(error)")
    exit(1)
}
print(report.outputPath ?? "?")
