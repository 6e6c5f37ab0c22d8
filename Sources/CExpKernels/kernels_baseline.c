// Baseline instantiation of the vector kernels: plain x86-64 (SSE2) or whatever the target's default ISA is
// (NEON on arm64); no FMA contraction, scalar table lookups, software half conversion.

// Floating-point mode for this translation unit, kept in the source (not in Package.swift's unsafeFlags, which
// SwiftPM refuses in a dependency pinned by version): no contraction of a * b + c into one fused operation, which
// the error analysis in kernel_types.h / scalar.c assumes (fused steps are written out with MADD or fma()).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#define SUF baseline
#define W 8
#include "kernel_types.h"
#define MADD(a, b, c) ((a) * (b) + (c))
#define PAIRS128 pairs_generic
#define H2F h2f_generic
#define F2H f2h_generic
#define ROUNDBITS roundbits_generic
#define ANY32 any32_generic
#include "kernel_body.h"
