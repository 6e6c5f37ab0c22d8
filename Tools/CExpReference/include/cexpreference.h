// CExpReference: an exp reference for the kernel tests and the tools (exp-accuracy), kept out of the shipped
// kernels (CExpKernels) so the library product carries no test code. It shares no code with the kernels: libm expl
// in long double, rounded once to the target format by its own routine.
// Relies on: glibc expl (a few long double ulps), long double wider than double (x87 on x86-64, binary128 on arm64).
#ifndef NPYEXP_CEXPREFERENCE_H
#define NPYEXP_CEXPREFERENCE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Independent reference for tests and exp-accuracy: libm expl (x87 80-bit long double on x86-64, binary128 on
/// arm64 Linux), rounded once to the target format. *ambiguous is set when the long double result lies within
/// 16 of its own ulps of a rounding boundary (then the reference cannot decide; resolve elsewhere).
/// *err_ulps (if non-null) receives |candidate - expl(x)| in ulps of the target format at the candidate.
float npyexp_ref_expf(float x, int *ambiguous, float candidate, double *err_ulps);
double npyexp_ref_exp(double x, double candidate, double *err_ulps);
uint16_t npyexp_ref_exph(uint16_t x, int *ambiguous);
/// How close exp(x) (by expl) lies to a float32 rounding midpoint, in float32 ulps: 0 on a midpoint, 0.5 on a
/// float. The hardest inputs to round correctly have the smallest distances.
double npyexp_ref_expf_tie_distance(float x);
/// Number of mantissa bits of long double on this platform (64 on x86-64).
int npyexp_ref_long_double_mant_bits(void);

#ifdef __cplusplus
}
#endif
#endif
