// AVX2 + FMA + F16C instantiation of the vector kernels (8 lanes per block = two ymm of doubles), hardware gathers
// and F16C half conversion. Compiled with a target attribute only, so the binary still runs on any x86-64 CPU;
// dispatch.c calls it only when __builtin_cpu_supports says so.

// Floating-point mode for this translation unit, kept in the source (not in Package.swift's unsafeFlags, which
// SwiftPM refuses in a dependency pinned by version): no contraction of a * b + c into one fused operation, which
// the error analysis in kernel_types.h / scalar.c assumes (fused steps are written out with MADD or fma()).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define SUF avx2
#define W 8
#include "kernel_types.h"

AI VU gather_u_avx2(const uint64_t *t, VU i) {
    __m256i lo = (__m256i)__builtin_shufflevector(i, i, 0, 1, 2, 3);
    __m256i hi = (__m256i)__builtin_shufflevector(i, i, 4, 5, 6, 7);
    typedef uint64_t V4 __attribute__((vector_size(32)));
    V4 a = (V4)_mm256_i64gather_epi64((const long long *)t, lo, 8);
    V4 b = (V4)_mm256_i64gather_epi64((const long long *)t, hi, 8);
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
}
AI VF h2f_avx2(VH h) {
    __m128i v;
    memcpy(&v, &h, 16);
    return (VF)_mm256_cvtph_ps(v);
}
AI VH f2h_avx2(VF f) {
    __m128i v = _mm256_cvtps_ph((__m256)f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    VH h;
    memcpy(&h, &v, 16);
    return h;
}
#define MADD(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define GATHER_U gather_u_avx2
#define H2F h2f_avx2
#define F2H f2h_avx2
#define ROUNDBITS roundbits_generic
#define ANY32(m) (_mm256_movemask_ps((__m256)(m)) != 0)
#include "kernel_body.h"
#pragma clang attribute pop
#endif
