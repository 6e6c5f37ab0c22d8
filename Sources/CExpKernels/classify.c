// Result classification for npyexp's reports: how many results are NaN, +inf or zero, and how many inputs lie at
// or above a threshold (the float32 inputs whose exp overflows even in float64). These loops run over every
// element of every tensor, next to the kernels, so they are written to vectorise: branch-free compares added into
// 32-bit counters (as wide as a float32 lane), in runs short enough that the counters cannot wrap.
// Why C: Swift's loops over raw pointers keep per-element range checks here and stay scalar and branchy (6-9% of
// a whole float32 job's CPU in perf); clang vectorises these at -O2 for the baseline ISA.
// Relies on: nothing but the C compiler; compiled with the kernels' strict IEEE mode (no fast-math).
#pragma STDC FP_CONTRACT OFF
#include "internal.h"

/// Longest run summed in 32-bit counters before they are added to the 64-bit totals.
enum { RUN = 1 << 24 };

/// One classification loop per float type; COUNTER is the 32- or 64-bit lane type that matches the float's width.
#define DEFINE_CLASSIFY(NAME, FLOAT, COUNTER, INFINITY_VALUE)                                          \
    void NAME(const FLOAT *y, size_t n, uint64_t counts[3]) {                                          \
        for (size_t start = 0; start < n; start += RUN) {                                              \
            size_t end = n - start < RUN ? n : start + RUN;                                            \
            COUNTER nan = 0, inf = 0, zero = 0;                                                        \
            for (size_t i = start; i < end; i++) {                                                     \
                FLOAT v = y[i];                                                                        \
                nan += v != v;                                                                         \
                inf += v == INFINITY_VALUE;                                                            \
                zero += v == 0;                                                                        \
            }                                                                                          \
            counts[0] += nan;                                                                          \
            counts[1] += inf;                                                                          \
            counts[2] += zero;                                                                         \
        }                                                                                              \
    }

DEFINE_CLASSIFY(npyexp_classify_f32, float, uint32_t, __builtin_inff())
DEFINE_CLASSIFY(npyexp_classify_f64, double, uint64_t, __builtin_inf())

uint64_t npyexp_count_at_least_f32(const float *x, size_t n, float threshold) {
    uint64_t total = 0;
    for (size_t start = 0; start < n; start += RUN) {
        size_t end = n - start < RUN ? n : start + RUN;
        uint32_t count = 0;
        for (size_t i = start; i < end; i++) count += x[i] >= threshold;
        total += count;
    }
    return total;
}
