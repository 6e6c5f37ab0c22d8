// AVX-512 (F, DQ, VL, BW) instantiation of the vector kernels (16 lanes per block = two zmm of doubles), with the
// float32 and float64 tables held in registers (vpermt2q lookups, no gathers) and AVX-512 mask tests.
// Compiled with a target attribute only; dispatch.c calls it only when the CPU (and OS) support AVX-512.

// Floating-point mode for this translation unit, kept in the source (not in Package.swift's unsafeFlags, which
// SwiftPM refuses in a dependency pinned by version): no contraction of a * b + c into one fused operation, which
// the error analysis in kernel_types.h / scalar.c assumes (fused steps are written out with MADD or fma()).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,f16c"))), apply_to = function)
#define SUF avx512
#define W 16
#include "kernel_types.h"

/// 16 uint64 lanes of a 16-entry table, indexed by the low 4 bits of each lane of i (vpermt2q: no gather).
AI VU lookup16_avx512(const uint64_t *t, VU i) {
    __m512i t0, t1;
    memcpy(&t0, t, 64);
    memcpy(&t1, t + 8, 64);
    __m512i lo = (__m512i)__builtin_shufflevector(i, i, 0, 1, 2, 3, 4, 5, 6, 7);
    __m512i hi = (__m512i)__builtin_shufflevector(i, i, 8, 9, 10, 11, 12, 13, 14, 15);
    typedef uint64_t V8 __attribute__((vector_size(64)));
    V8 a = (V8)_mm512_permutex2var_epi64(t0, lo, t1);
    V8 b = (V8)_mm512_permutex2var_epi64(t0, hi, t1);
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
/// The same for a 32-entry table: both halves permuted, bit 4 of the index picks one.
AI VU lookup32_avx512(const uint64_t *t, VU i) {
    VU a = lookup16_avx512(t, i), b = lookup16_avx512(t + 16, i);
    VL hi = (VL)((i & 16) != 0);
    return ((VU)hi & b) | (~(VU)hi & a);
}
AI VF h2f_avx512(VH h) {
    __m256i v;
    memcpy(&v, &h, 32);
    return (VF)_mm512_cvtph_ps(v);
}
AI VH f2h_avx512(VF f) {
    __m256i v = _mm512_cvtps_ph((__m512)f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    VH h;
    memcpy(&h, &v, 32);
    return h;
}
#define MADD(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define H2F h2f_avx512
#define F2H f2h_avx512
#define ROUNDBITS roundbits_generic
#define ANY32(m) (_mm512_movepi32_mask((__m512i)(m)) != 0)
/// Lanes of v with no bit of m set, as a 32-bit lane mask (vptestnmd; written in asm because clang turns the
/// intrinsic back into an and plus a self-test, one operation more).
AI VI testn32_avx512(VI v, uint32_t m) {
    __mmask16 k;
    __m512i mv = _mm512_set1_epi32((int)m);
    __asm__("vptestnmd %2, %1, %0" : "=k"(k) : "v"(v), "v"(mv));
    return (VI)_mm512_movm_epi32(k);
}
#define TESTN32 testn32_avx512
#define LOOKUP16 lookup16_avx512
#define LOOKUP32 lookup32_avx512
#include "kernel_body.h"
#pragma clang attribute pop
#endif
