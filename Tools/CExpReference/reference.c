// Independent reference for tests and exp-accuracy only (no code shared with the kernels): libm expl in long
// double (x87 80-bit, 64-bit mantissa, on x86-64; binary128 on arm64 Linux), rounded once to the target format by
// the compiler's long double conversions / rintl. Flags results too close to a rounding boundary to decide.
// Relies on: glibc expl being accurate to a few long double ulps (documented ulps: 1-2 on x86-64).
#include "cexpreference.h"
#include <float.h>
#include <stddef.h>
#include <math.h>

int npyexp_ref_long_double_mant_bits(void) { return LDBL_MANT_DIG; }

/// Rounds L > 0 once to p significant bits with minimum normal exponent emin; *amb when L is within 16 long double
/// ulps of a midpoint between two candidates; *tie (if non-null) gets L's distance from the nearest midpoint in
/// units of the target format's ulp (0 on a midpoint, 0.5 on a representable value).
static long double ref_round(long double L, int p, int emin, int *amb, long double *tie) {
    int e;
    frexpl(L, &e);                 // L = f 2^e, f in [0.5, 1)
    int qe = e - p;
    if (qe < emin - p + 1) qe = emin - p + 1;
    long double t = ldexpl(L, -qe);
    long double fl = floorl(t);
    long double frac = t - fl;     // exact
    long double ulp_in_t = ldexpl(1.0L, e - LDBL_MANT_DIG - qe);
    if (amb) *amb = fabsl(frac - 0.5L) <= 16 * ulp_in_t;
    if (tie) *tie = fabsl(frac - 0.5L);
    return ldexpl(rintl(t), qe);  // rintl: nearest, ties to even (default mode)
}

float npyexp_ref_expf(float x, int *ambiguous, float candidate, double *err_ulps) {
    *ambiguous = 0;
    long double L = expl((long double)x);
    float ref;
    if (isnan(x)) ref = x;
    else if (L == 0) ref = 0.0f;
    else if (isinf(L)) ref = INFINITY;
    else ref = (float)ref_round(L, 24, -126, ambiguous, NULL); // exact conversion, or overflow to inf
    if (err_ulps) {
        if (isfinite(candidate) && isfinite(L) && !isnan(x)) {
            int e;
            frexpf(candidate == 0 ? FLT_MIN : candidate, &e);
            int qe = e - 24;
            if (qe < -149) qe = -149;
            *err_ulps = (double)(fabsl((long double)candidate - L) / ldexpl(1.0L, qe));
        } else {
            *err_ulps = 0.0;
        }
    }
    return ref;
}

double npyexp_ref_exp(double x, double candidate, double *err_ulps) {
    long double L = expl((long double)x);
    if (err_ulps) {
        if (isfinite(candidate) && isfinite(L) && !isnan(x)) {
            int e;
            frexp(candidate == 0 ? DBL_MIN : candidate, &e);
            int qe = e - 53;
            if (qe < -1074) qe = -1074;
            *err_ulps = (double)(fabsl((long double)candidate - L) / ldexpl(1.0L, qe));
        } else {
            *err_ulps = 0.0;
        }
    }
    return (double)L; // rounded once from long double (for special / overflow comparisons)
}

uint16_t npyexp_ref_exph(uint16_t h, int *ambiguous) {
    *ambiguous = 0;
    // decode the half independently of the kernels' helpers
    int e = (h >> 10) & 31, m = h & 1023;
    int neg = h >> 15;
    if (e == 31) {
        if (m) return (uint16_t)(h | 0x200);
        return neg ? 0 : 0x7c00;
    }
    long double x = e ? ldexpl((long double)(m + 1024), e - 25) : ldexpl((long double)m, -24);
    if (neg) x = -x;
    long double L = expl(x);
    if (L == 0) return 0;
    long double r = ref_round(L, 11, -14, ambiguous, NULL);
    if (r >= 65536.0L) return 0x7c00;
    if (r < 0x1p-14L) return (uint16_t)(r * 0x1p24L);
    int ee;
    long double f = frexpl(r, &ee);  // r = f 2^ee, 11 significant bits
    uint16_t mant = (uint16_t)(ldexpl(f, 11) - 1024);
    return (uint16_t)(((ee - 1 + 15) << 10) | mant);
}

double npyexp_ref_expf_tie_distance(float x) {
    long double L = expl((long double)x);
    if (isnan(x) || L == 0 || isinf(L) || L > (long double)FLT_MAX) return 0.5;
    long double tie = 0.5L;
    int amb;
    ref_round(L, 24, -126, &amb, &tie);
    return (double)tie;
}
