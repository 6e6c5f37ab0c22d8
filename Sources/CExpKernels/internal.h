// Internal declarations shared by the per-ISA kernel translation units (not part of the public header).
// Relies on: cexpkernels.h for the public scalar fallbacks.
#ifndef NPYEXP_INTERNAL_H
#define NPYEXP_INTERNAL_H
// The error analysis needs IEEE semantics: no reassociation, no flush of subnormals, NaN and inf kept.
#if defined(__FAST_MATH__) || defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
#error "CExpKernels must not be compiled with -ffast-math or -ffinite-math-only"
#endif
#include "cexpkernels.h"
#include <stddef.h>
#include <stdint.h>

#define NPYEXP_DECLARE_PATH(SUF)                                                                       \
    void npyexp_exp_f32_##SUF(const float *x, float *y, size_t n);                                     \
    void npyexp_exp_f64_##SUF(const double *x, double *y, size_t n);                                   \
    void npyexp_exp_f16_##SUF(const uint16_t *x, uint16_t *y, size_t n);                               \
    void npyexp_backward_f32_##SUF(const float *r, const float *g, float *o, size_t n);                \
    void npyexp_backward_f64_##SUF(const double *r, const double *g, double *o, size_t n);             \
    void npyexp_backward_f16_##SUF(const uint16_t *r, const uint16_t *g, uint16_t *o, size_t n);               \
    void npyexp_exp_c64_##SUF(const float *x, float *y, size_t n);                                     \
    void npyexp_exp_c128_##SUF(const double *x, double *y, size_t n);

/// One complex64 exp, every case (Annex G specials, huge |b|): the vector kernels' slow lanes. out = (re, im).
void npyexp_cexpf_one(float a, float b, float *out);
/// The same for complex128.
void npyexp_cexp_one(double a, double b, double *out);

NPYEXP_DECLARE_PATH(baseline)
#if defined(__x86_64__)
NPYEXP_DECLARE_PATH(avx2)
NPYEXP_DECLARE_PATH(avx512)
#endif

#endif
