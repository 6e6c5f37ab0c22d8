// swift-tools-version:6.0
//
// npyexp: element-wise exp over NumPy .npy / .npy.gz tensors, streamed, on all cores.
// Modules follow the data flow: NPYFormat (header) -> Gzip (zlib / ISA-L streams) -> ExpKernels (math)
// -> NPYExp (the pipeline, the library product) -> npyexp (the command-line tool).
import PackageDescription

let package = Package(
    name: "npyexp",
    products: [
        .executable(name: "npyexp", targets: ["npyexp"]),
        .library(name: "NPYExp", targets: ["NPYExp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // zlib from the system (Debian: zlib1g-dev), with thin shims for its function-like macros.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Linux calls that need _GNU_SOURCE (syncfs for group commits).
        .target(name: "CSystem"),
        .target(name: "NPYFormat"),
        // ISA-L inflate and CRC-32, compiled only where the ISA-L headers are (libisal-dev) and opened at run time
        // (dlopen of libisal.so.2): without either, Gzip inflates with zlib. See Sources/CIsal/isal.c.
        .target(name: "CIsal", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "Gzip", dependencies: ["CZlib", "CIsal"]),
        // Vector exp kernels in C: one source, compiled per ISA with target attributes, picked at run time.
        .target(
            name: "CExpKernels",
            exclude: ["tools"], // gen_tables.py, the generator of tables.h
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])]
        ),
        .target(name: "ExpKernels", dependencies: ["CExpKernels"]),
        .target(
            name: "NPYExp",
            dependencies: [
                "NPYFormat", "Gzip", "ExpKernels", "CSystem",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "npyexp",
            dependencies: [
                "NPYExp", "Gzip",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Exhaustive float32 / float16 and sampled float64 accuracy check (release build, all cores).
        .executableTarget(name: "exp-accuracy", dependencies: ["ExpKernels"]),
        // Kernel throughput per dtype and dispatch path, side by side with numpy.
        .executableTarget(name: "exp-bench", dependencies: ["ExpKernels"]),
        // libFuzzer targets (`.ci/fuzz`: swift build --sanitize=fuzzer); a plain build makes seed/crash replayers.
        .executableTarget(name: "fuzz-npy-header", dependencies: ["NPYFormat"]),
        .executableTarget(name: "fuzz-stream", dependencies: ["NPYExp"]),
        .testTarget(name: "NPYFormatTests", dependencies: ["NPYFormat"]),
        .testTarget(name: "GzipTests", dependencies: ["Gzip"]),
        .testTarget(name: "ExpKernelsTests", dependencies: ["ExpKernels"]),
        .testTarget(name: "NPYExpTests", dependencies: ["NPYExp", "npyexp"]),
    ]
)
