// Lane types and generic helpers of the vector kernels (see kernel_body.h), written once with clang generic vectors (W lanes) and included by one translation unit
// per ISA (kernels_baseline.c, kernels_avx2.c, kernels_avx512.c), which define before including:
//   SUF            name suffix (baseline / avx2 / avx512)
//   W              lanes per block (8 or 16)
//   MADD(a, b, c)  a * b + c (fused in the FMA paths; the error bounds below hold either way)
//   PAIRS128(j, &bits, &tail) both words of entry j (< 128) of npyexp_t128_pairs for W lanes (baseline, AVX2)
//   ANY32(m)       whether any lane of a 32-bit lane mask is set
//   TESTN32(v, m)  (optional) 32-bit lane mask of the lanes of v with no bit of m set (AVX-512: vptestnmd)
//   LOOKUP8, LOOKUP16, LOOKUP32 (optional) uint64 lookup in an 8- / 16- / 32-entry table held in registers, index =
//                  low bits of i; when defined, the float32 / float64 kernels use the table forms written for them
//                  (LOOKUP8: AVX2 float32; LOOKUP16, LOOKUP32: AVX-512)
//   H2F(h), F2H(f) exact half -> float, float -> half round-to-nearest-even
// Everything here is static inline so each TU compiles it under its own target attribute.
//
// float32: evaluated in double, then rounded once to float unless the result may lie near a rounding boundary.
//   Baseline (f32_eval_free): table-free. x = k ln2 + r with k = round(x / ln2), r = (x - k LN2_HI40) - k LN2_LO40
//   (first difference exact, one rounding: |error of r| < 2^-54), |r| <= 0.34658; exp(r) by a degree-9 minimax
//   polynomial (relative error 2^-46.06, see tables.h), evaluated as even + r * odd parts in r^2 (~2^-52 of
//   rounding); 2^k added to the exponent field (exact for the lanes kept). Total relative error E < 2^-45.8.
//   Table forms (no gathers: AVX2 gathers are slow on AMD, measured 1.8 ns/elem on Zen 3 with a 2^(j/32) table):
//   x = (k/N) ln2 + r, r = x - k LN2_N in one fma (LN2_N the nearest double to ln2/N; the product's error
//   |k| |LN2_N - ln2/N| < 2^-48.03 for |x| <= 104, for N = 8 and 16 alike, plus one rounding of r), 2^(j/N) as a
//   double from registers scaled by adding k to the exponent field, exp(r) by Estrin's scheme (~2^-52), one product
//   s * p. AVX-512 (LOOKUP16): N = 16 (vpermt2q), |r| <= 0.021661, degree 4 (2^-38.55): E < 2^-38.5. AVX2 (LOOKUP8):
//   N = 8 (two vpermd and a blend per 4 lanes), |r| <= 0.043322, degree 5 (2^-41.66): E < 2^-41.6. They trade
//   accuracy for fewer operations, and the rounding test below pays for it.
//   y is within 2^53 E double ulps of exp(x): 2^7.2 (table-free), 2^11.4 (AVX2), 2^14.5 (AVX-512). A lane is
//   correctly rounded by the single double -> float conversion unless y - m lies in [-2^B, 2^B) double ulps for a
//   float midpoint m, B = 10, 13, 16 (a test on the low 32 bits of y, which hold the 29 bits below float precision):
//   probability 2^(B-28) per lane. With the table-free form those lanes take npyexp_expf_cr (about 800 ns each); with
//   a table form they are first evaluated again by the table-free form, whose result replaces the first, and only the
//   lanes within its own window (B = 10) take npyexp_expf_cr. Lanes outside [-87.33, 88.72] or NaN stay in vector
//   form: for x in [-104, 89] y is still a normal double with the same bound, so the conversion rounds it once, also
//   to a subnormal or to inf; subnormal results get their own midpoint test on the 2^-149 grid (f32_sub_near); NaN
//   stays NaN, x < -104 gives +0 and x > 89 inf. Two forms, chosen per chunk of 64 pairs of blocks by how often the
//   first 4 pairs needed the slow branch: the fast form evaluates x as it is and fixes rare lanes after a branch (one
//   test per pair of blocks, on the larger magnitude); the clamped form clamps x to [-104, 89] first, so only
//   subnormal results need the branch.
// float64: baseline and AVX2: x = (k/128) ln2 + r, |r| <= ln2/256, 2^(j/128) as nearest double s plus relative tail
//   (gathers), degree-5 Taylor; y = s + s * (tail + p(r)): error 0.5 ulp (last addition) + ~2^-7 ulp. AVX-512
//   (LOOKUP32): 2^(j/32) and tail from registers, r1 = x - k C1 exact, error < 0.515 ulp (see f64_core). Lanes
//   outside [-700, 708] or NaN are fixed in vector form (f64_slow): s rescaled by an integer add, one rounding of
//   the scaled result, for subnormal results on the grid of 1 + Y (error < 0.52 ulp); inf, +0, NaN by selects.
// complex64: e^a by the table-free float32 evaluation above (no rounding test), cos b and sin b in double after k = round(b 2/pi),
//   r = b - k pi/2 with a 3-part pi/2 (P1, P2 of 36 bits: b - k P1 exact, so r keeps ~2^-52 relative accuracy even
//   next to a multiple of pi/2), Taylor to r^11 / r^12 on |r| <= pi/4; each product e^a cos b, e^a sin b rounded once
//   to float: about 0.5 ulp per component. Lanes with |a| > 700, |b| > 1e5 or non-finite parts take the scalar
//   Annex G path (npyexp_cexpf_one, libm sincos).
// complex128: e^a by the float64 kernel, cos b and sin b in double (4-part Cody-Waite reduction kept as a
//   double-double, Taylor to r^17 / r^16, fdlibm-style 1 - z/2 split for cos: < 0.85 ulp measured), each product
//   rounded once: < 2.1 ulp per component measured vs cexpl on 2e6 inputs. Lanes with |a| > 700, |b| > 1e5,
//   non-finite parts, or b within 2^-40 of a nonzero multiple of pi/2 take the scalar Annex G path.
// float16: half -> double exactly, the float64 evaluation, then one rounding to half in integer arithmetic, with a
//   rounding test on the 42 low bits (margin 16 double ulps); subnormal results rounded once on the 2^-24 grid with
//   their own midpoint test, overflow / zero / NaN by selects (f16_slow); lanes near a midpoint take npyexp_exph_cr.
#ifndef NPYEXP_KERNEL_TYPES_H
#define NPYEXP_KERNEL_TYPES_H
// Every helper taking vectors is always_inline, so no vector ever crosses a call boundary: the ABI note is moot.
#pragma clang diagnostic ignored "-Wpsabi"
#include <string.h>
#include "internal.h"
#include "tables.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, CAT(_, SUF))
#define AI static inline __attribute__((always_inline))

typedef float VF __attribute__((vector_size(W * 4)));
typedef double VD __attribute__((vector_size(W * 8)));
typedef int64_t VL __attribute__((vector_size(W * 8)));
typedef uint64_t VU __attribute__((vector_size(W * 8)));
typedef int32_t VI __attribute__((vector_size(W * 4)));
typedef uint32_t VUI __attribute__((vector_size(W * 4)));
typedef uint16_t VH __attribute__((vector_size(W * 2)));
typedef uint32_t VUI2 __attribute__((vector_size(W * 8))); // a VD seen as 2W 32-bit words

#if W == 8
#define EVEN_WORDS 0, 2, 4, 6, 8, 10, 12, 14
#define LO_HALF 0, 1, 2, 3
#define HI_HALF 4, 5, 6, 7
#elif W == 16
#define EVEN_WORDS 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define LO_HALF 0, 1, 2, 3, 4, 5, 6, 7
#define HI_HALF 8, 9, 10, 11, 12, 13, 14, 15
#endif
typedef double VDH __attribute__((vector_size(W * 4))); // half a VD
typedef float VFH __attribute__((vector_size(W * 2)));  // half a VF

/// The low 32 bits of each double lane (little endian), in lane order.
AI VUI roundbits_generic(VUI2 v) { return __builtin_shufflevector(v, v, EVEN_WORDS); }

AI int any32_generic(VI m) {
    int32_t r = 0;
    for (int i = 0; i < W; i++) r |= m[i];
    return r != 0;
}


/// Portable helpers, used by the baseline TU (and any ISA lacking a faster instruction).
AI void pairs_generic(VU j, VU *bits, VD *tail) {
    for (int i = 0; i < W; i++) {
        (*bits)[i] = npyexp_t128_pairs[2 * j[i]];
        uint64_t t = npyexp_t128_pairs[2 * j[i] + 1];
        memcpy((char *)tail + 8 * i, &t, 8);
    }
}

/// Exact half -> float with integer ops (normal, subnormal via one exact float subtraction, inf/nan).
AI VF h2f_generic(VH h) {
    VUI u = __builtin_convertvector(h, VUI);
    VUI o = (u & 0x7fff) << 13;
    VUI e = o & (0x1fu << 23);
    o += (127 - 15) << 23;
    VUI isinf = (VUI)(e == (0x1fu << 23));
    VUI issub = (VUI)(e == 0);
    o += isinf & ((128 - 16) << 23);
    VF sub = (VF)(o + (1u << 23)) - (VF)((VUI){} + (113u << 23));
    o = (issub & (VUI)sub) | (~issub & o);
    return (VF)(o | ((u & 0x8000) << 16));
}

/// float -> half, round to nearest even, once (overflow to inf, subnormals, nan kept quiet).
AI VH f2h_generic(VF f) {
    VUI u = (VUI)f;
    VUI sign = u & 0x80000000u;
    u ^= sign;
    VUI big = (VUI)(u >= ((127u + 16) << 23));
    VUI nan = (VUI)(u > (255u << 23));
    VUI sub = (VUI)(u < (113u << 23));
    VUI ob = (nan & 0x7e00u) | (~nan & 0x7c00u);
    // subnormal half: adding 0.5f puts the half quantum at the float ulp, so the float addition rounds once
    VUI os = (VUI)((VF)u + (VF)((VUI){} + (126u << 23))) - (126u << 23);
    VUI odd = (u >> 13) & 1;
    VUI on = (u + (((uint32_t)(15 - 127)) << 23) + 0xfffu + odd) >> 13;
    VUI o = (big & ob) | (~big & ((sub & os) | (~sub & on)));
    return __builtin_convertvector(o | (sign >> 16), VH);
}
#endif
