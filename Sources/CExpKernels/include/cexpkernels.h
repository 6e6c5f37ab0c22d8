// CExpKernels: element-wise exp kernels in C, one kernel body compiled per ISA (baseline / AVX2+FMA+F16C /
// AVX-512) with target attributes and picked at run time with __builtin_cpu_supports. The Swift module
// ExpKernels wraps these; the plain C entry points below are usable directly.
//
// Contracts (all entry points): single-threaded; x and y may be the same memory (in place) but must not otherwise
// overlap; n counts scalars (for complex: 2 * number of complex elements, interleaved re, im).
// Accuracy: float32 and float16 correctly rounded (round to nearest even) for every input; float64 < 0.52 ulp;
// complex within a few ulp per finite component (complex64: about 0.5 ulp) with C99 Annex G specials.
#ifndef NPYEXP_CEXPKERNELS_H
#define NPYEXP_CEXPKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Code path identifiers (match ExpKernels.Path).
enum {
    NPYEXP_PATH_BASELINE = 0,
    NPYEXP_PATH_AVX2 = 1,   // AVX2 + FMA + F16C
    NPYEXP_PATH_AVX512 = 2, // AVX-512 F/DQ/VL/BW
};

/// Bit mask (1 << path) of the paths this CPU (and this build) supports; baseline is always set.
int npyexp_available_paths(void);

void npyexp_exp_f32(const float *x, float *y, size_t n, int path);
void npyexp_exp_f64(const double *x, double *y, size_t n, int path);
/// binary16 as raw bits.
void npyexp_exp_f16(const uint16_t *x, uint16_t *y, size_t n, int path);
/// Interleaved (re, im); n = 2 * complex count.
void npyexp_exp_c64(const float *x, float *y, size_t n, int path);
void npyexp_exp_c128(const double *x, double *y, size_t n, int path);

/// out = grad * result (out may alias either input).
void npyexp_backward_f32(const float *result, const float *grad, float *out, size_t n, int path);
void npyexp_backward_f64(const double *result, const double *grad, double *out, size_t n, int path);
/// Half: the product of two halves is exact in float32, rounded once to half (so correctly rounded).
void npyexp_backward_f16(const uint16_t *result, const uint16_t *grad, uint16_t *out, size_t n, int path);
/// out = grad * conj(result), interleaved pairs; n = 2 * complex count.
void npyexp_backward_c64(const float *result, const float *grad, float *out, size_t n, int path);
void npyexp_backward_c128(const double *result, const double *grad, double *out, size_t n, int path);

/// Adds to counts[0], counts[1], counts[2] the number of NaN, +inf and zero (either sign) values among y[0..<n].
void npyexp_classify_f32(const float *y, size_t n, uint64_t counts[3]);
void npyexp_classify_f64(const double *y, size_t n, uint64_t counts[3]);
/// How many of x[0..<n] are >= threshold (NaN never is).
uint64_t npyexp_count_at_least_f32(const float *x, size_t n, float threshold);

/// Scalar, slow, correctly rounded exp (double-double evaluation, ~2^-100 relative, then one rounding).
/// These are the fallbacks of the vector kernels. The float64 one is correctly rounded except possibly for
/// inputs whose exp lies within ~2^-100 relative of a midpoint.
float npyexp_expf_cr(float x);
double npyexp_exp_cr(double x);
uint16_t npyexp_exph_cr(uint16_t x);

/// Exact binary16 <-> binary64 helpers (double -> half rounds to nearest even, once).
double npyexp_half_to_double(uint16_t h);
uint16_t npyexp_double_to_half(double d);

#ifdef __cplusplus
}
#endif
#endif
