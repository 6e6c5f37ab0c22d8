// Scalar, provably accurate exp used as the vector kernels' fallback: exact argument reduction with a 3-part ln2,
// Taylor series in double-double (~2^-100 relative), then one correct rounding to the target format (binary16,
// binary32 or binary64, subnormals included). Also exact half <-> double conversion.
// Relies on: IEEE binary64 with round-to-nearest, a correct libm fma() (glibc), no fp contraction (pragmas below).

// Floating-point mode for this translation unit, kept in the source (not in Package.swift's unsafeFlags, which
// SwiftPM refuses in a dependency pinned by version): no contraction of a * b + c into one fused operation, which
// the error analysis in kernel_types.h / scalar.c assumes (fused steps are written out with MADD or fma()).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#include "internal.h"
#include "tables.h"
#include <math.h>
#include <string.h>

typedef struct { double hi, lo; } dd;

static inline dd two_sum(double a, double b) {
    double s = a + b, bb = s - a;
    return (dd){ s, (a - (s - bb)) + (b - bb) };
}
static inline dd fast_two_sum(double a, double b) { // |a| >= |b| or a == 0
    double s = a + b;
    return (dd){ s, b - (s - a) };
}
static inline dd two_prod(double a, double b) {
    double p = a * b;
    return (dd){ p, fma(a, b, -p) };
}
static inline dd dd_add(dd a, dd b) {
    dd s = two_sum(a.hi, b.hi), t = two_sum(a.lo, b.lo);
    s.lo += t.hi;
    s = fast_two_sum(s.hi, s.lo);
    s.lo += t.lo;
    return fast_two_sum(s.hi, s.lo);
}
static inline dd dd_mul(dd a, dd b) {
    dd p = two_prod(a.hi, b.hi);
    p.lo += a.hi * b.lo + a.lo * b.hi;
    return fast_two_sum(p.hi, p.lo);
}
static inline dd dd_div_small_int(dd a, double n) {
    double q1 = a.hi / n;
    double rem = fma(-q1, n, a.hi); // exact remainder
    double q2 = (rem + a.lo) / n;
    return fast_two_sum(q1, q2);
}

/// exp(x) = (m.hi + m.lo) * 2^k for finite |x| <= 1100, with relative error about 2^-100.
static dd exp_dd(double x, int *k_out) {
    double kd = nearbyint(x * NPYEXP_INVLN2);
    // kd * A and kd * B are exact (A, B have 40 significant bits, |kd| < 2^11); kd * C is split exactly.
    dd r = two_sum(x, -kd * NPYEXP_LN2_A);
    r = dd_add(r, (dd){ -kd * NPYEXP_LN2_B, 0.0 });
    dd c = two_prod(kd, NPYEXP_LN2_C);
    r = dd_add(r, (dd){ -c.hi, -c.lo });
    // |r| <= 0.3466 + tiny; Taylor remainder r^28/28! < 2^-110. Horner: t = 1 + r t / n.
    dd t = { 1.0, 0.0 };
    for (int n = 27; n >= 1; n--) {
        t = dd_mul(r, t);
        t = dd_div_small_int(t, (double)n);
        t = dd_add(t, (dd){ 1.0, 0.0 });
    }
    *k_out = (int)kd;
    return t;
}

/// Round v = (hi + lo) * 2^k (hi > 0, normalized double-double) once to a binary format with p significant bits
/// and minimum normal exponent emin; returns the rounded value as a double (exact; inf if it overflows binary64).
static double round_to_format(dd m, int k, int p, int emin) {
    int eh;
    double f = frexp(m.hi, &eh); // m.hi = f * 2^eh, f in [0.5, 1)
    int ev = eh - 1 + k;         // floor(log2 v), unless hi is a power of two and lo < 0
    if (f == 0.5 && m.lo < 0) ev -= 1;
    int qe = ev - p + 1;
    if (qe < emin - p + 1) qe = emin - p + 1;
    double t = ldexp(m.hi, k - qe); // v / 2^qe = t + l, both scalings exact
    double l = ldexp(m.lo, k - qe);
    double a = floor(t);
    double fr = t - a;              // exact, in [0, 1)
    double n;
    double s = (fr - 0.5) + l;      // sign of the exact (fr + l) - 0.5 (fr - 0.5 is exact)
    if (s > 0) {
        n = a + 1;
    } else if (s == 0) {
        n = (fmod(a, 2.0) == 0) ? a : a + 1;
    } else {
        double s2 = (fr + 0.5) + l; // fr + 0.5 exact whenever l can reach -0.5 (then fr == 0)
        if (s2 > 0) n = a;
        else if (s2 == 0) n = (fmod(a, 2.0) == 0) ? a : a - 1;
        else n = a - 1;
    }
    return ldexp(n, qe);
}

float npyexp_expf_cr(float x) {
    if (x != x) return x + x;
    if (x > 89.0f) return INFINITY;   // ln(2^128) = 88.72
    if (x < -104.0f) return 0.0f;     // exp(x) < 2^-150: rounds to +0
    int k;
    dd m = exp_dd((double)x, &k);
    return (float)round_to_format(m, k, 24, -126); // exact conversion, or inf above FLT_MAX
}

double npyexp_exp_cr(double x) {
    if (x != x) return x + x;
    if (x > 710.0) return INFINITY;   // ln(DBL_MAX) = 709.78
    if (x < -746.0) return 0.0;       // exp(x) < 2^-1075
    int k;
    dd m = exp_dd(x, &k);
    return round_to_format(m, k, 53, -1022);
}

double npyexp_half_to_double(uint16_t h) {
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0) v = ldexp((double)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp((double)(m | 0x400), (int)e - 25);
    if (e == 31 && m) { // keep the payload, quiet
        uint64_t b = 0x7ff8000000000000ULL | ((uint64_t)m << 42);
        memcpy(&v, &b, 8);
    }
    return (h & 0x8000) ? -v : v;
}

uint16_t npyexp_double_to_half(double d) {
    uint64_t b;
    memcpy(&b, &d, 8);
    uint16_t sign = (uint16_t)((b >> 48) & 0x8000);
    double a = fabs(d);
    if (a != a) return (uint16_t)(sign | 0x7e00 | ((b >> 42) & 0x3ff));
    if (a >= 65520.0) return sign | 0x7c00; // 65504 + half ulp rounds to inf (tie goes to even = inf)
    if (a < 0x1p-14) {
        // subnormal quantum 2^-24: one rounding of a * 2^24 (exact scaling) to an integer, ties to even
        double q = nearbyint(a * 0x1p24);
        return (uint16_t)(sign | (uint16_t)q); // q == 1024 encodes 2^-14 correctly
    }
    double r = round_to_format((dd){ a, 0.0 }, 0, 11, -14);
    if (r >= 65536.0) return sign | 0x7c00;
    uint64_t rb;
    memcpy(&rb, &r, 8);
    return (uint16_t)(sign | (((rb >> 42) - ((uint64_t)(1023 - 15) << 10)) & 0x7fff));
}

uint16_t npyexp_exph_cr(uint16_t h) {
    double x = npyexp_half_to_double(h);
    if (x != x) return (uint16_t)(h | 0x0200);
    if (x > 12.0) return 0x7c00;          // ln(65520) = 11.09
    if (x < -18.0) return 0;              // exp(x) < 2^-25
    int k;
    dd m = exp_dd(x, &k);
    return npyexp_double_to_half(round_to_format(m, k, 11, -14));
}
