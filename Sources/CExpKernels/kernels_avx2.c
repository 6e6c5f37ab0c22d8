// AVX2 + FMA + F16C instantiation of the vector kernels (8 lanes per block = two ymm of doubles), table lookups by
// 16-byte loads or 32-bit permutes (no gathers: slow on AMD) and F16C half conversion. Compiled with a target attribute only, so the binary still runs on any x86-64 CPU;
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

/// Entry j of npyexp_t128_pairs (bits, tail) for 8 lanes: one 16-byte load per lane and two unpacks per 4 lanes;
/// measured 1.15 Gelem/s float64 on Zen 4 against 0.75 with two vpgatherqq per 4 lanes.
AI void pairs_avx2(VU j, VU *bits, VD *tail) {
    const __m128i *t = (const __m128i *)npyexp_t128_pairs;
    typedef uint64_t V4 __attribute__((vector_size(32)));
    V4 b[2], tl[2];
    for (int h = 0; h < 2; h++) {
        __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(t + j[4 * h])),
                                            _mm_loadu_si128(t + j[4 * h + 2]), 1);
        __m256i c = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(t + j[4 * h + 1])),
                                            _mm_loadu_si128(t + j[4 * h + 3]), 1);
        b[h] = (V4)_mm256_unpacklo_epi64(a, c); // bits of lanes 4h .. 4h+3
        tl[h] = (V4)_mm256_unpackhi_epi64(a, c);
    }
    *bits = __builtin_shufflevector(b[0], b[1], 0, 1, 2, 3, 4, 5, 6, 7);
    *tail = (VD)__builtin_shufflevector(tl[0], tl[1], 0, 1, 2, 3, 4, 5, 6, 7);
}
/// 8 uint64 lanes of an 8-entry table, indexed by the low 3 bits of each lane of i, from two registers (no gather):
/// vpermd looks up the entries' low halves by each lane's low half and their high halves by the lane's low half
/// moved up, and a blend joins the two (4 operations per 4 lanes).
AI VU lookup8_avx2(const uint64_t *t, VU i) {
    typedef uint32_t V8U __attribute__((vector_size(32)));
    typedef uint64_t V4 __attribute__((vector_size(32)));
    V8U lo, hi;
    for (int j = 0; j < 8; j++) {
        lo[j] = (uint32_t)t[j];
        hi[j] = (uint32_t)(t[j] >> 32);
    }
    V4 r[2];
    for (int h = 0; h < 2; h++) {
        V4 ih = { i[4 * h], i[4 * h + 1], i[4 * h + 2], i[4 * h + 3] };
        __m256i l = _mm256_permutevar8x32_epi32((__m256i)lo, (__m256i)ih);
        __m256i u = _mm256_permutevar8x32_epi32((__m256i)hi, (__m256i)(ih << 32));
        r[h] = (V4)_mm256_blend_epi32(l, u, 0xaa);
    }
    return __builtin_shufflevector(r[0], r[1], 0, 1, 2, 3, 4, 5, 6, 7);
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
#define PAIRS128 pairs_avx2
#define LOOKUP8 lookup8_avx2
#define H2F h2f_avx2
#define F2H f2h_avx2
#define ROUNDBITS roundbits_generic
#define ANY32(m) (_mm256_movemask_ps((__m256)(m)) != 0)
#include "kernel_body.h"
#pragma clang attribute pop
#endif
