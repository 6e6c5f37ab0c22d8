// Run-time dispatch of the per-ISA kernels (__builtin_cpu_supports, which also checks OS support of the vector
// state), the complex exp (Annex G specials; exp(re) from the chosen path's float64 kernel, sin/cos from libm), and
// the gradient kernels' entry points.
// Why a C target: Swift's -target-cpu applies to a whole module and has no run-time dispatch, and glibc libmvec
// passes vectors with a CPU-dependent ABI; target attributes + cpu_supports give one binary for every x86-64 CPU.
// Relies on: clang (target attribute pragmas, generic vectors), glibc libm sincos / exp.

// Floating-point mode for this translation unit, kept in the source (not in Package.swift's unsafeFlags, which
// SwiftPM refuses in a dependency pinned by version): no contraction of a * b + c into one fused operation, which
// the error analysis in kernel_types.h / scalar.c assumes (fused steps are written out with MADD or fma()).
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
#define _GNU_SOURCE
#include "internal.h"
#include <math.h>

int npyexp_available_paths(void) {
    int m = 1 << NPYEXP_PATH_BASELINE;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        m |= 1 << NPYEXP_PATH_AVX2;
    if ((m & (1 << NPYEXP_PATH_AVX2)) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        m |= 1 << NPYEXP_PATH_AVX512;
#endif
    return m;
}

#if defined(__x86_64__)
#define DISPATCH(name, ...)                                                                                \
    do {                                                                                                   \
        if (path == NPYEXP_PATH_AVX512) name##_avx512(__VA_ARGS__);                                        \
        else if (path == NPYEXP_PATH_AVX2) name##_avx2(__VA_ARGS__);                                       \
        else name##_baseline(__VA_ARGS__);                                                                 \
    } while (0)
#else
#define DISPATCH(name, ...) name##_baseline(__VA_ARGS__)
#endif

void npyexp_exp_f32(const float *x, float *y, size_t n, int path) { DISPATCH(npyexp_exp_f32, x, y, n); }
void npyexp_exp_f64(const double *x, double *y, size_t n, int path) { DISPATCH(npyexp_exp_f64, x, y, n); }
void npyexp_exp_f16(const uint16_t *x, uint16_t *y, size_t n, int path) { DISPATCH(npyexp_exp_f16, x, y, n); }
void npyexp_backward_f32(const float *r, const float *g, float *o, size_t n, int path) {
    DISPATCH(npyexp_backward_f32, r, g, o, n);
}
void npyexp_backward_f64(const double *r, const double *g, double *o, size_t n, int path) {
    DISPATCH(npyexp_backward_f64, r, g, o, n);
}
void npyexp_backward_f16(const uint16_t *r, const uint16_t *g, uint16_t *o, size_t n, int path) {
    DISPATCH(npyexp_backward_f16, r, g, o, n);
}

/// exp(a + ib) given ea = exp(a) (correct for every a, specials included), C99 Annex G special cases, with the
/// signs numpy produces where Annex G leaves them open.
static void cexp_one(double a, double b, double ea, double *re, double *im) {
    if (isfinite(b)) {
        if (b == 0) { *re = ea; *im = b; return; } // also NaN + i0 -> NaN + i0, +-inf + i0
        if (isnan(a)) { *re = NAN; *im = NAN; return; }
        double s, c;
        sincos(b, &s, &c);
        if (isinf(a)) {
            double m = a > 0 ? INFINITY : 0.0;
            *re = copysign(m, c);
            *im = copysign(m, s);
            return;
        }
        if (fabs(a) > 700.0) { // e^a over/underflows alone while e^a cos b may not: split e^a = t * t
            double t = exp(0.5 * a);
            *re = (c * t) * t;
            *im = (s * t) * t;
            return;
        }
        *re = ea * c;
        *im = ea * s;
        return;
    }
    // b is +-inf or NaN
    if (isinf(a)) {
        if (a > 0) { *re = INFINITY; *im = NAN; }
        else { *re = 0.0; *im = copysign(0.0, b); }
        return;
    }
    *re = NAN;
    *im = NAN;
}

void npyexp_cexp_one(double a, double b, double *out) { cexp_one(a, b, npyexp_exp_cr(a), &out[0], &out[1]); }

void npyexp_exp_c128(const double *x, double *y, size_t n, int path) { DISPATCH(npyexp_exp_c128, x, y, n / 2); }

/// complex64: the vector kernels evaluate e^a, cos b and sin b in double (b reduced mod pi/2 in double for |b| <=
/// 1e5) and round each product once to float: within 1 float ulp per component. Other lanes come here: e^a from the
/// correctly rounded double exp, sin/cos from libm, Annex G specials.
void npyexp_cexpf_one(float a, float b, float *out) {
    double re, im;
    cexp_one(a, b, npyexp_exp_cr(a), &re, &im);
    out[0] = (float)re;
    out[1] = (float)im;
}

void npyexp_exp_c64(const float *x, float *y, size_t n, int path) { DISPATCH(npyexp_exp_c64, x, y, n / 2); }

// grad * conj(result) = (gr rr + gi ri) + i (gi rr - gr ri); both parts read before either is written (aliasing).
void npyexp_backward_c64(const float *r, const float *g, float *o, size_t n, int path) {
    (void)path;
    for (size_t i = 0; i + 1 < n; i += 2) {
        float rr = r[i], ri = r[i + 1], gr = g[i], gi = g[i + 1];
        float re = gr * rr + gi * ri, im = gi * rr - gr * ri;
        o[i] = re;
        o[i + 1] = im;
    }
}
void npyexp_backward_c128(const double *r, const double *g, double *o, size_t n, int path) {
    (void)path;
    for (size_t i = 0; i + 1 < n; i += 2) {
        double rr = r[i], ri = r[i + 1], gr = g[i], gi = g[i + 1];
        double re = gr * rr + gi * ri, im = gi * rr - gr * ri;
        o[i] = re;
        o[i + 1] = im;
    }
}
