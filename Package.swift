// swift-tools-version:6.0
//
// npyexp: element-wise exp over NumPy .npy / .npy.gz tensors, streamed, on all cores.
// Modules follow the data flow: NPYFormat (header) -> Gzip (zlib / ISA-L streams) -> ExpKernels (math)
// -> NPYExp (the pipeline, the library product) -> npyexp (the command-line tool). Tools/ holds the developer
// tools (accuracy check, kernel benchmark, fuzzers) and their support targets, none of them in a product.
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
        // Vector exp kernels in C: one source, compiled per ISA with target attributes, picked at run time. No
        // unsafeFlags (SwiftPM refuses them in a dependency pinned by version): the floating-point mode is set by
        // pragmas in the C sources.
        .target(
            name: "CExpKernels",
            exclude: ["tools"] // gen_tables.py, the generator of tables.h
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
        // Developer tools, kept apart from the product modules in Tools/ (none is part of a product).
        // Test and tool support: the long double exp reference; seeded generator, clock, results-file header.
        .target(name: "CExpReference", path: "Tools/CExpReference"),
        .target(name: "ToolSupport", path: "Tools/ToolSupport"),
        // Exhaustive / strided float32, all float16 and sampled float64 accuracy check (release build, all cores).
        .executableTarget(
            name: "exp-accuracy", dependencies: ["ExpKernels", "CExpReference", "ToolSupport"], path: "Tools/exp-accuracy"),
        // Kernel throughput per dtype and dispatch path, side by side with numpy, on seeded mixed inputs.
        .executableTarget(name: "exp-bench", dependencies: ["ExpKernels", "ToolSupport"], path: "Tools/exp-bench"),
        // libFuzzer targets (`.ci/fuzz`: fuzzer + address sanitizers, corpus in Tools/fuzz-corpus); a plain build makes
        // seed/crash replayers.
        .target(name: "FuzzSupport", path: "Tools/FuzzSupport"),
        .executableTarget(name: "fuzz-npy-header", dependencies: ["NPYFormat", "FuzzSupport"], path: "Tools/fuzz-npy-header"),
        .executableTarget(name: "fuzz-stream", dependencies: ["NPYExp", "FuzzSupport"], path: "Tools/fuzz-stream"),
        .testTarget(name: "NPYFormatTests", dependencies: ["NPYFormat"]),
        .testTarget(name: "GzipTests", dependencies: ["Gzip", "ToolSupport"]),
        .testTarget(name: "ExpKernelsTests", dependencies: ["ExpKernels", "CExpReference", "ToolSupport"]),
        .testTarget(name: "NPYExpTests", dependencies: ["NPYExp", "npyexp", "ToolSupport"]),
    ]
)
