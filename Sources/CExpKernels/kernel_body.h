// The vector kernel bodies, written once; included after kernel_types.h and the TU's ISA helper macros.
// See kernel_types.h for the contract and the error analysis.

#ifndef TESTN32
#define TESTN32(v, m) ((VI)(((v) & (m)) == 0)) // lanes of v with no bit of m set
#endif
#define SHIFT 0x1.8p52 // adding it rounds to an integer kept in the low mantissa bits

/// k = round(x * scale) as a double, and in *ki its bit pattern with k (mod 2^51) in the low mantissa bits.
AI VD nearest_k(VD x, double scale, VU *ki) {
    VD kd = MADD(x, (VD){} + scale, (VD){} + SHIFT);
    *ki = (VU)kd;
    return kd - SHIFT;
}

/// e^x in double, table-free (see kernel_types.h), for float x with |x| <= 700: relative error < 2^-45.8. x = k ln2
/// + r, |r| <= ln2/2, exp(r) by a degree-9 minimax polynomial split into even and odd parts (two independent Horner
/// chains in r^2 halve the latency), then 2^k is added to the exponent field. The float32 kernel's form where there
/// is no table in registers (baseline), its second stage where there is (f32_scalar_fix), and complex64's e^a.
AI VD f32_eval_free(VD x) {
    VU ki;
    VD kd = nearest_k(x, NPYEXP_INVLN2, &ki);
    // kd * LN2_HI40 is exact (|k| < 2^11, 40-bit constant) and so is x - kd * LN2_HI40 (x is a float: both are
    // multiples of 2^-40 or x's ulp, and the difference is below ln2): r carries one rounding, from the LN2_LO40 term.
    VD r = MADD(-kd, (VD){} + NPYEXP_LN2_HI40, x);
    r = MADD(-kd, (VD){} + NPYEXP_LN2_LO40, r);
    VD r2 = r * r;
    VD pe = MADD(r2, (VD){} + NPYEXP_EXPF_C8, (VD){} + NPYEXP_EXPF_C6);
    VD po = MADD(r2, (VD){} + NPYEXP_EXPF_C9, (VD){} + NPYEXP_EXPF_C7);
    pe = MADD(pe, r2, (VD){} + NPYEXP_EXPF_C4);
    po = MADD(po, r2, (VD){} + NPYEXP_EXPF_C5);
    pe = MADD(pe, r2, (VD){} + NPYEXP_EXPF_C2);
    po = MADD(po, r2, (VD){} + NPYEXP_EXPF_C3);
    pe = MADD(pe, r2, (VD){} + NPYEXP_EXPF_C0);
    po = MADD(po, r2, (VD){} + NPYEXP_EXPF_C1);
    VD p = MADD(po, r, pe);
    return (VD)((VU)p + (ki << 52)); // p in [0.7, 1.42]: a normal double, exact scaling while 2^k p is normal
}

// The float32 kernel's rounding test flags lanes within 2^F32_NEAR_BITS double ulps of a float midpoint (f32_near)
// and subnormal results within F32_SUB_TOL of a midpoint of their grid (f32_sub_near); both windows are set by the
// error bound of the form's f32_eval (kernel_types.h).
#define FREE_NEAR_BITS 10 // f32_eval_free: y within 2^7.2 double ulps of exp(x)
#define FREE_SUB_TOL 0x1p-21
#if defined(LOOKUP16) || defined(LOOKUP8)
// Table forms (see kernel_types.h): x = (k/N) ln2 + r, |r| <= ln2/2N, 2^(j/N) looked up from registers (no gather),
// exp(r) by a short minimax polynomial, evaluated by Estrin's scheme (independent pairs joined by r^2: a shorter
// chain than Horner's, which kept too many blocks waiting in the out-of-order window on AVX2). Fewer operations per
// lane than the table-free form, and less accurate: the rounding test's windows are wider (they flag about 1 lane in
// 2^15 on AVX2, 2^12 on AVX-512, against 2^18), and f32_scalar_fix evaluates the lanes they flag again by the
// table-free form before any goes to the scalar path.
#define F32_RECHECK 1
#if defined(LOOKUP16) // N = 16 on AVX-512 (two registers, vpermt2q), degree 4
#define F32_NEAR_BITS 16 // y within 2^14.5 double ulps of exp(x)
#define F32_SUB_TOL 0x1p-13
#define F32_LOOKUP(ki) LOOKUP16(npyexp_t16_bits, ki)
#define F32_TSHIFT 48
#define F32_INVLN2 NPYEXP_INVLN2_16
#define F32_LN2 NPYEXP_LN2_16
#define F32_C(i) NPYEXP_EXPF16_C##i
#else                // N = 8 on AVX2 (two vpermd and a blend per 4 lanes), degree 5
#define F32_NEAR_BITS 13 // y within 2^11.4 double ulps of exp(x)
#define F32_SUB_TOL 0x1p-16
#define F32_LOOKUP(ki) LOOKUP8(npyexp_t8_bits, ki)
#define F32_TSHIFT 49
#define F32_INVLN2 NPYEXP_INVLN2_8
#define F32_LN2 NPYEXP_LN2_8
#define F32_C(i) NPYEXP_EXPF8_C##i
#endif
/// Lanes outside [-104, 89] give garbage (caller).
AI VD f32_eval(VF xf) {
    VD x = __builtin_convertvector(xf, VD);
    VU ki;
    VD kd = nearest_k(x, F32_INVLN2, &ki);
    VD r = MADD(-kd, (VD){} + F32_LN2, x);
    VD r2 = r * r;
    VD a = MADD(r, (VD){} + F32_C(1), (VD){} + F32_C(0));
    VD b = MADD(r, (VD){} + F32_C(3), (VD){} + F32_C(2));
#if defined(LOOKUP16)
    VD p = MADD(MADD(r2, (VD){} + F32_C(4), b), r2, a);
#else
    VD p = MADD(MADD(MADD(r, (VD){} + F32_C(5), (VD){} + F32_C(4)), r2, b), r2, a);
#endif
    // The table holds bits(2^(j/N)) - (j << TSHIFT) and j = k mod N is the lookup index's low bits, so adding
    // k << TSHIFT (mod 2^64) adds floor(k/N) to the exponent: s = 2^(j/N) 2^floor(k/N), exact (normal double).
    VD s = (VD)(F32_LOOKUP(ki) + (ki << F32_TSHIFT));
    return s * p;
}
#else
#define F32_NEAR_BITS FREE_NEAR_BITS
#define F32_SUB_TOL FREE_SUB_TOL
AI VD f32_eval(VF xf) { return f32_eval_free(__builtin_convertvector(xf, VD)); }
#endif

/// Lanes within the error bound of a float rounding boundary (normal results): a test on the low 32 bits of each
/// double, which hold the 29 bits below float precision. With d = y - m in double ulps, m the nearest float midpoint
/// (those 29 bits = 2^28), the lanes with -2^B <= d < 2^B are flagged (B = F32_NEAR_BITS for f32_eval): they and
/// only they have bits B+1 to 28 of lo + 2^B - 2^28 all clear (one and-test, a single vptestnmd on AVX-512).
AI VI f32_near_within(VD y, int B) {
    VUI lo = ROUNDBITS((VUI2)y);
    return TESTN32(lo + ((1u << B) - 0x10000000u), 0x1fffffffu & ~((2u << B) - 1));
}
#define f32_near(y) f32_near_within(y, F32_NEAR_BITS)

/// Fast form: W lanes in double from x as it is. *near: f32_near. The rare lanes are found per pair of blocks
/// (f32_rare_either) and exactly in f32_slow.
AI VD f32_core(VF xf, VI *near) {
    VD y = f32_eval(xf);
    *near = f32_near(y);
    return y;
}

/// Lanes outside [-87.33, 88.72] or NaN: subnormal / zero / overflowing results and specials.
AI VI f32_rare(VF xf) { return ~(VI)(xf >= -87.33f) | (VI)(xf > 88.72f); } // ~(x >= a) also flags NaN

/// Lanes where |a| or |b| is above 87.33 or NaN (a superset of either block's rare lanes, for the fast form's branch):
/// the larger of the two magnitudes as integers (a NaN's bits are above every number's), compared once. Four
/// operations for two blocks instead of six.
AI VI f32_rare_either(VF a, VF b) {
    VUI ua = (VUI)a & 0x7fffffffu, ub = (VUI)b & 0x7fffffffu;
    VUI m = (VUI)((VI)(ua > ub) & (VI)ua) | (VUI)(~(VI)(ua > ub) & (VI)ub);
    return (VI)(m > 0x42aea8f6u); // bits of 87.33f
}

/// W doubles rounded once to float and stored, each half on its own: no lane insert to join the halves (AVX-512: two
/// 256-bit stores instead of vinserti64x4 and one 512-bit store).
AI void store_f(float *p, VD d) {
    VFH a = __builtin_convertvector(__builtin_shufflevector(d, d, LO_HALF), VFH);
    VFH b = __builtin_convertvector(__builtin_shufflevector(d, d, HI_HALF), VFH);
    memcpy(p, &a, sizeof a);
    memcpy(p + W / 2, &b, sizeof b);
}

AI VF select_f(VI m, VF a, VF b) { return (VF)(((VI)a & m) | ((VI)b & ~m)); }

/// Clamped form, for data where rare lanes are common: x clamped to [-104, 89] first (NaN kept: the compares are
/// false for it, so it flows through as NaN); e^-104 < 2^-150 converts to +0 and e^89 > FLT_MAX to inf, so -inf,
/// +inf and the underflowing and overflowing lanes need no fix-up. *sub: lanes in [-104, -87.33), whose results are
/// subnormal or near 2^-126 (f32_slow_clamped). Two more operations per block than the fast form.
AI VD f32_core_clamped(VF xf, VI *near, VI *sub) {
    VF xc = select_f((VI)(xf < -104.0f), (VF){} - 104.0f, xf);
    xc = select_f((VI)(xc > 89.0f), (VF){} + 89.0f, xc);
    VD y = f32_eval(xc);
    *near = f32_near(y);
    *sub = (VI)(xf < -87.33f) & (VI)(xf >= -104.0f);
    return y;
}

/// Subnormal results: y (a normal double, same relative error bound E) is rounded once to the 2^-149 grid by the
/// conversion; that is correct unless y lies near a midpoint of that grid. u = y 2^149 (exact) is below 2^24, so its
/// error is below 2^24 E: 2^-21.8 for the table-free form (E = 2^-45.8), 2^-17.6 and 2^-14.5 for the 8- and 16-entry
/// table forms. u - round(u) is exact, and lanes with ||u - round(u)| - 1/2| <= tol are flagged: tol = 2^-21, 2^-16,
/// 2^-13. The same grid holds for [2^-126, 2^-125), so lanes in [-87.34, -87.33] pass too.
AI VI f32_sub_near_within(VD y, double tol) {
    VD u = y * 0x1p149;
    VD d = u - ((u + SHIFT) - SHIFT);
    VD a = (VD)((VU)d & 0x7fffffffffffffffULL) - 0.5;
    return __builtin_convertvector((VL)(a <= tol) & (VL)(a >= -tol), VI);
}
#define f32_sub_near(y) f32_sub_near_within(y, F32_SUB_TOL)

/// The lanes near a rounding boundary (all in [-104, 89]), one by one in the scalar path (about 800 ns a lane); with a
/// table form (F32_RECHECK), first evaluated again by the table-free form: its result, rounded once, replaces the
/// first one in those lanes, and only the lanes within its own, tighter windows go on to the scalar path.
AI void f32_scalar_fix(VF xf, VI near, float *yp) {
    if (ANY32(near)) {
#ifdef F32_RECHECK
        VD y2 = f32_eval_free(__builtin_convertvector(xf, VD)); // other lanes: garbage, not stored
        VF f2 = __builtin_convertvector(y2, VF);
        for (int i = 0; i < W; i++)
            if (near[i]) yp[i] = f2[i];
        VI sub = (VI)(xf >= -104.0f) & (VI)(xf < -87.33f);
        near &= (f32_near_within(y2, FREE_NEAR_BITS) & ~sub) | (f32_sub_near_within(y2, FREE_SUB_TOL) & sub);
#endif
        for (int i = 0; i < W; i++)
            if (near[i]) yp[i] = npyexp_expf_cr(xf[i]); // xf, not the input pointer: in place, it was overwritten
    }
}

/// The lanes f32_core flagged: the rare ones in vector form (NaN -> x + x, x < -104 -> +0, x > 89 -> inf, the rest
/// rounded once by the conversion, subnormal results tested by f32_sub_near), then the near ones.
AI void f32_slow(VF xf, VD y, VI near, float *yp) {
    VI rare = f32_rare(xf);
    if (ANY32(rare)) {
        VI sub = (VI)(xf >= -104.0f) & (VI)(xf < -87.33f);
        VI over = (VI)(xf > 88.72f) & (VI)(xf <= 89.0f); // y is valid: the conversion overflows correctly
        near = (near & (~rare | over)) | (f32_sub_near(y) & sub);
        VF f = __builtin_convertvector(y, VF);
        f = select_f((VI)(xf > 89.0f), (VF){} + __builtin_inff(), f);
        f = select_f((VI)(xf < -104.0f), (VF){}, f); // exp(x) < 2^-150: +0
        f = select_f((VI)(xf != xf), xf + xf, f);
        memcpy(yp, &f, sizeof f);
    }
    f32_scalar_fix(xf, near, yp);
}

/// The lanes f32_core_clamped flagged.
AI void f32_slow_clamped(VF xf, VD y, VI near, VI sub, float *yp) {
    if (ANY32(sub)) near = (near & ~sub) | (f32_sub_near(y) & sub);
    f32_scalar_fix(xf, near, yp);
}

/// Pairs of blocks from x + i to x + end (a multiple of 2W lanes) in one form; returns how many pairs took the slow
/// branch. Two blocks per iteration: independent chains for the out-of-order core, one branch for both.
AI size_t f32_pairs(const float *x, float *y, size_t i, size_t end, int clamped) {
    size_t taken = 0;
    for (; i < end; i += 2 * W) {
        VF xa, xb;
        memcpy(&xa, x + i, sizeof xa);
        memcpy(&xb, x + i + W, sizeof xb);
        VI na, nb, fa, fb = {};
        VD da, db;
        if (clamped) {
            da = f32_core_clamped(xa, &na, &fa);
            db = f32_core_clamped(xb, &nb, &fb);
        } else {
            da = f32_core(xa, &na);
            db = f32_core(xb, &nb);
            fa = f32_rare_either(xa, xb);
        }
        store_f(y + i, da);
        store_f(y + i + W, db);
        // Separate tests, not one test of their or: on AVX-512 the masks stay in mask registers (an or of the
        // vectors made clang expand each compare mask into a vector first, two operations more per block).
        if (__builtin_expect(ANY32(na) | ANY32(nb) | ANY32(fa) | ANY32(fb), 0)) {
            taken++;
            if (clamped) {
                f32_slow_clamped(xa, da, na, fa, y + i);
                f32_slow_clamped(xb, db, nb, fb, y + i + W);
            } else {
                f32_slow(xa, da, na, y + i);
                f32_slow(xb, db, nb, y + i + W);
            }
        }
    }
    return taken;
}

/// Chunks of 64 pairs: the first 4 in the fast form; when 2 or more of them took the slow branch (rare lanes are
/// common: with 8% of them, as in exp-bench's default mix, 9 pairs in 10 do), the other 60 in the clamped form,
/// whose only branch is for subnormal results; otherwise in the fast form (clean data: 2 fewer operations a block).
void FN(npyexp_exp_f32)(const float *x, float *y, size_t n) {
    size_t i = 0, pairs = n / (2 * W) * (2 * W);
    while (i < pairs) {
        size_t probe = i + 8 * W < pairs ? i + 8 * W : pairs, end = i + 128 * W < pairs ? i + 128 * W : pairs;
        if (f32_pairs(x, y, i, probe, 0) >= 2) f32_pairs(x, y, probe, end, 1);
        else f32_pairs(x, y, probe, end, 0);
        i = end;
    }
    for (; i < n; i += W) {
        float bx[W] = { 0 }, by[W];
        size_t m = n - i < W ? n - i : W;
        memcpy(bx, x + i, m * sizeof(float));
        VF xa;
        memcpy(&xa, bx, sizeof xa);
        VI na;
        VD da = f32_core(xa, &na);
        store_f(by, da);
        f32_slow(xa, da, na, by);
        memcpy(y + i, by, m * sizeof(float));
    }
}

AI int any_lane(VU m) {
    VU acc = m;
    uint64_t r = 0;
    for (int i = 0; i < W; i++) r |= acc[i];
    return r != 0;
}

#ifdef LOOKUP32
/// exp in double for x in [-708, 708]; other lanes give garbage (callers route them elsewhere). AVX-512: 2^(j/32)
/// and its tail from registers (two permutes and a blend each; gathers cost more than the whole evaluation on Zen 4),
/// x = (k/32) ln2 + r. r1 = x - k C1 is exact (k C1 and x are multiples of 2^-58 or coarser wherever k != 0, and
/// |r1| < 2^-6); r = r1 - k C2 rounded once feeds only the r^2 term, while the linear term keeps r1 exact and moves
/// -k C2 into the small sum: y = s + s (r1 + (tail - k C2 + r^2 P(r))). Error: 0.5 ulp (last fma) + 0.011 ulp (the
/// one rounding of r1 + small, |tmp| < 0.0109) + 2^-62 relative (P) + smaller terms: < 0.515 ulp.
AI VD f64_eval(VD x, VU *sbits) {
    VU ki;
    VD kd = nearest_k(x, NPYEXP_INVLN2_32, &ki);
    VD r1 = MADD(-kd, (VD){} + NPYEXP_LN2_32_C1, x);
    VD r = MADD(-kd, (VD){} + NPYEXP_LN2_32_C2, r1);
    VD tail = (VD)LOOKUP32((const uint64_t *)npyexp_t32_tail, ki);
    *sbits = LOOKUP32(npyexp_t32_bits, ki) + (ki << 47);
    VD r2 = r * r;
    VD p = MADD(r, (VD){} + NPYEXP_EXP32_P4, (VD){} + NPYEXP_EXP32_P3);
    p = MADD(p, r, (VD){} + NPYEXP_EXP32_P2);
    p = MADD(p, r, (VD){} + NPYEXP_EXP32_P1);
    p = MADD(p, r, (VD){} + NPYEXP_EXP32_P0);
    VD small = MADD(r2, p, MADD(-kd, (VD){} + NPYEXP_LN2_32_C2, tail));
    return r1 + small;
}
#else
/// exp in double for x in [-708, 708]; other lanes give garbage (callers route them elsewhere).
AI VD f64_eval(VD x, VU *sbits) {
    VU ki;
    VD kd = nearest_k(x, NPYEXP_INVLN2_128, &ki);
    // kd * HI exact (35-bit constant), x - kd * HI exact (Sterbenz): fused or not, one rounding, from the LO term.
    VD r = MADD(-kd, (VD){} + NPYEXP_LN2_128_LO, MADD(-kd, (VD){} + NPYEXP_LN2_128_HI, x));
    VU j = ki & 127;
    VD tail;
    PAIRS128(j, sbits, &tail);
    *sbits += ki << 45;
    VD r2 = r * r;
    VD pa = MADD(r, (VD){} + 1.0 / 6, (VD){} + 0.5);
    VD pb = MADD(r, (VD){} + 1.0 / 120, (VD){} + 1.0 / 24);
    return MADD(r2 * r2, pb, MADD(r2, pa, tail + r));
}
#endif

/// exp in double for x in [-708, 708]: y = s + s tmp, rounded once.
AI VD f64_core(VD x) {
    VU sbits;
    VD tmp = f64_eval(x, &sbits);
    return MADD((VD)sbits, tmp, (VD)sbits);
}

AI VD select_d(VL m, VD a, VD b) { return (VD)(((VL)a & m) | ((VL)b & ~m)); }

/// Lanes outside [-700, 708] or NaN, in vector form. s (its bit pattern wrapped mod 2^64 where 2^k leaves the
/// exponent range) is rescaled by an integer add, exact once back in range. (708, 709.79]: y/2 = s/2 + (s/2) tmp, one
/// rounding, times 2 (exact, or the correct overflow). [-745.14, -700): Y = s 2^1022 + s 2^1022 tmp rounded, its
/// rounding error L recovered (s 2^1022 - Y is exact, Sterbenz), then Y + L rounded once on the grid of 1 + Y, whose
/// quantum 2^-52 is the subnormal quantum 2^-1074 once scaled back by 2^-1022 (exact): a single rounding to the
/// subnormal result, error 0.5 ulp + the f64_eval error (< 0.02 ulp). Y >= 1 is a normal result: Y 2^-1022, exact.
/// Beyond: +inf above 709.79 (ln DBL_MAX = 709.7827), +0 below -745.14 (ln 2^-1075 = -745.1332), NaN -> x + x.
AI VD f64_slow(VD x, VU sbits, VD tmp, VD y) {
    VD sh = (VD)(sbits - (1ULL << 52)); // s / 2
    VD yo = MADD(sh, tmp, sh) * 2.0;
    VD sl = (VD)(sbits + (1022ULL << 52)); // s 2^1022
    VD big = MADD(sl, tmp, sl);
    VD lo = MADD(sl, tmp, sl - big);
    VD h = 1.0 + big;
    VD l = ((1.0 - h) + big) + lo;
    VD ys = select_d((VL)(big < 1.0), (h + l) - 1.0, big) * 0x1p-1022;
    y = select_d((VL)(x > 708.0), yo, y);
    y = select_d((VL)(x < -700.0), ys, y);
    y = select_d((VL)(x > 709.79), (VD){} + __builtin_inf(), y);
    y = select_d((VL)(x < -745.14), (VD){}, y);
    return select_d((VL)(x != x), x + x, y);
}

AI void f64_block(const double *xp, double *yp) {
    VD x;
    memcpy(&x, xp, sizeof x);
    VU sbits;
    VD tmp = f64_eval(x, &sbits);
    VD y = MADD((VD)sbits, tmp, (VD)sbits);
    VL rare = ~(VL)(x >= -700.0) | (VL)(x > 708.0); // ~(x >= a) also flags NaN
    if (__builtin_expect(any_lane((VU)rare), 0)) y = f64_slow(x, sbits, tmp, y);
    memcpy(yp, &y, sizeof y);
}

void FN(npyexp_exp_f64)(const double *x, double *y, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) f64_block(x + i, y + i);
    if (i < n) {
        double bx[W] = { 0 }, by[W];
        memcpy(bx, x + i, (n - i) * sizeof(double));
        f64_block(bx, by);
        memcpy(y + i, by, (n - i) * sizeof(double));
    }
}

/// Lanes outside [-9.70, 11.09] or NaN, in vector form: subnormal half results are y rounded once to the 2^-24 grid
/// (u = y 2^24 exact, u < 2^10.1, so y's error, < 2^-52 relative, is below 2^-41.9 in u; lanes with
/// ||u - round(u)| - 1/2| <= 2^-30 are flagged for the scalar path); round(u) = 1024 encodes 2^-14. +inf above 11.09
/// (exp(11.09375) > 65520), +0 below -17.33 (ln 2^-25 = -17.3287), NaN quietened as npyexp_exph_cr does.
AI VU f16_slow(VD x, VH h, VD y, VU hb, VL *near) {
    VD u = y * 0x1p24;
    VD t = (u + SHIFT) - SHIFT;
    VD a = (VD)((VU)(u - t) & 0x7fffffffffffffffULL) - 0.5;
    VL sub = (VL)(x < -9.70) & (VL)(x >= -17.33);
    *near = (*near & ~sub & (VL)(x >= -9.70) & (VL)(x <= 11.09)) | (sub & (VL)(a <= 0x1p-30) & (VL)(a >= -0x1p-30));
    hb = ((VU)sub & (VU)__builtin_convertvector(t, VL)) | (~(VU)sub & hb);
    hb = ((VU)(VL)(x > 11.09) & 0x7c00) | (~(VU)(VL)(x > 11.09) & hb);
    hb &= ~(VU)(VL)(x < -17.33);
    VL nan = (VL)(x != x);
    return ((VU)nan & __builtin_convertvector(h | 0x0200, VU)) | (~(VU)nan & hb);
}

AI void f16_block(const uint16_t *xp, uint16_t *yp) {
    VH h;
    memcpy(&h, xp, sizeof h);
    VD x = __builtin_convertvector(H2F(h), VD);
    VD y = f64_core(x);
    VU b = (VU)y;
    // Normal half results (x >= -9.70 gives y >= 2^-14; x <= 11.09 gives y < 65520 or the correct carry to inf):
    // one rounding of y in integer arithmetic, unless y lies within 16 double ulps of a half midpoint.
    VL rare = ~(VL)(x >= -9.70) | (VL)(x > 11.09); // ~(x >= a) also flags NaN
    VU low = (b & 0x3ffffffffffULL) - (0x20000000000ULL - 16);
    VL near = (VL)(low <= 32);
    VU rb = b + 0x1ffffffffffULL + ((b >> 42) & 1);
    VU hb = (rb >> 42) - ((uint64_t)(1023 - 15) << 10);
    if (__builtin_expect(any_lane((VU)rare), 0)) hb = f16_slow(x, h, y, hb, &near);
    VH out = __builtin_convertvector(hb, VH);
    memcpy(yp, &out, sizeof out);
    if (__builtin_expect(any_lane((VU)near), 0)) {
        for (int i = 0; i < W; i++)
            if (near[i]) yp[i] = npyexp_exph_cr(h[i]);
    }
}

void FN(npyexp_exp_f16)(const uint16_t *x, uint16_t *y, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) f16_block(x + i, y + i);
    if (i < n) {
        uint16_t bx[W] = { 0 }, by[W];
        memcpy(bx, x + i, (n - i) * sizeof(uint16_t));
        f16_block(bx, by);
        memcpy(y + i, by, (n - i) * sizeof(uint16_t));
    }
}

void FN(npyexp_backward_f32)(const float *r, const float *g, float *o, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = g[i] * r[i];
}

void FN(npyexp_backward_f64)(const double *r, const double *g, double *o, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = g[i] * r[i];
}

void FN(npyexp_backward_f16)(const uint16_t *r, const uint16_t *g, uint16_t *o, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) {
        VH a, b;
        memcpy(&a, r + i, sizeof a);
        memcpy(&b, g + i, sizeof b);
        VH p = F2H(H2F(b) * H2F(a)); // exact product in float, rounded once
        memcpy(o + i, &p, sizeof p);
    }
    for (; i < n; i++)
        o[i] = npyexp_double_to_half((double)((float)npyexp_half_to_double(g[i]) *
                                              (float)npyexp_half_to_double(r[i])));
}

// complex64: exp(a + ib) = e^a (cos b + i sin b) in double, rounded once to float per component (see kernel_types.h).
#if W == 8
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#define ZIP_LANES 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15
#elif W == 16
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define ZIP_LANES 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23, \
    8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#endif
typedef float VF2 __attribute__((vector_size(W * 8))); // W interleaved complex64 values

/// cos b and sin b in double for float b with |b| <= 1e5: k = round(b 2/pi), r = b - k pi/2 with r relative
/// error ~2^-52 even next to a multiple of pi/2 (b - k P1 exact, one rounding for P2, P3 below it), Taylor
/// polynomials to r^11 / r^12 (relative error < 2^-36 on |r| <= pi/4), then the quadrant's swap and signs.
AI void sincos_d(VD b, VD *c_out, VD *s_out) {
    VD kd = MADD(b, (VD){} + NPYEXP_INV_PIO2, (VD){} + SHIFT);
    VU ki = (VU)kd;
    kd = kd - SHIFT;
    VD r = MADD(-kd, (VD){} + NPYEXP_PIO2_P1, b);
    r = MADD(-kd, (VD){} + NPYEXP_PIO2_P2, r); // without FMA: the product is exact (36 + 17 bits), one rounding
    r = r - kd * NPYEXP_PIO2_P3;
    VD z = r * r;
    VD s = MADD(z, (VD){} + 1.0 / 39916800 * -1, (VD){} + 1.0 / 362880);
    s = MADD(s, z, (VD){} - 1.0 / 5040);
    s = MADD(s, z, (VD){} + 1.0 / 120);
    s = MADD(s, z, (VD){} - 1.0 / 6);
    s = MADD(s * z, r, r);
    // sin r has the sign of r on |r| <= pi/4; r = -0 would otherwise give +0 (sin(-0) must be -0, Annex G).
    VU sign = (VU){} + 0x8000000000000000ULL;
    s = (VD)(((VU)s & ~sign) | ((VU)r & sign));
    VD c = MADD(z, (VD){} + 1.0 / 479001600, (VD){} - 1.0 / 3628800);
    c = MADD(c, z, (VD){} + 1.0 / 40320);
    c = MADD(c, z, (VD){} - 1.0 / 720);
    c = MADD(c, z, (VD){} + 1.0 / 24);
    c = MADD(c, z, (VD){} - 0.5);
    c = MADD(c, z, (VD){} + 1.0);
    // quadrant k mod 4: (cos, sin) = (c, s), (-s, c), (-c, -s), (s, -c)
    VL swap = (VL)((ki & 1) != 0);
    VU cs = ((ki + 1) & 2) << 62, ss = (ki & 2) << 62;
    VD cc = (VD)(((VU)swap & (VU)s) | (~(VU)swap & (VU)c));
    VD sc = (VD)(((VU)swap & (VU)c) | (~(VU)swap & (VU)s));
    *c_out = (VD)((VU)cc ^ cs);
    *s_out = (VD)((VU)sc ^ ss);
}

AI VI c64_core(VF2 z, VF2 *out) {
    VF a = __builtin_shufflevector(z, z, EVEN_LANES), b = __builtin_shufflevector(z, z, ODD_LANES);
    VD ad = __builtin_convertvector(a, VD), bd = __builtin_convertvector(b, VD);
    VD ea = f32_eval_free(ad), c, s;
    sincos_d(bd, &c, &s);
    VF re = __builtin_convertvector(ea * c, VF), im = __builtin_convertvector(ea * s, VF);
    *out = __builtin_shufflevector(re, im, ZIP_LANES);
    // Slow lanes: |a| > 700 or NaN (e^a alone out of the double path's range), |b| > 1e5, inf or NaN.
    VF fa = (VF)((VUI)a & 0x7fffffffu), fb = (VF)((VUI)b & 0x7fffffffu);
    return ~(VI)(fa <= 700.0f) | ~(VI)(fb <= 1e5f);
}

AI void c64_fix(const float *z, VI bad, float *yp) {
    for (int i = 0; i < W; i++)
        if (bad[i]) npyexp_cexpf_one(z[2 * i], z[2 * i + 1], &yp[2 * i]);
}

/// n counts complex values.
void FN(npyexp_exp_c64)(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) {
        VF2 z, o;
        memcpy(&z, x + 2 * i, sizeof z);
        VI bad = c64_core(z, &o);
        memcpy(y + 2 * i, &o, sizeof o);
        if (__builtin_expect(ANY32(bad), 0)) {
            float zs[2 * W];
            memcpy(zs, &z, sizeof zs); // the input may have been overwritten (in place)
            c64_fix(zs, bad, y + 2 * i);
        }
    }
    if (i < n) {
        float bx[2 * W] = { 0 }, by[2 * W];
        memcpy(bx, x + 2 * i, (n - i) * 2 * sizeof(float));
        VF2 z, o;
        memcpy(&z, bx, sizeof z);
        VI bad = c64_core(z, &o);
        memcpy(by, &o, sizeof o);
        c64_fix(bx, bad, by);
        memcpy(y + 2 * i, by, (n - i) * 2 * sizeof(float));
    }
}

// complex128: e^a by the float64 kernel (< 0.52 ulp), cos b and sin b in double after a 4-part Cody-Waite reduction
// mod pi/2 (see kernel_types.h), each product rounded once: within about 2 ulp per component.
typedef double VD2 __attribute__((vector_size(W * 16))); // W interleaved complex128 values

/// cos b and sin b to about 0.7 ulp for |b| <= 1e5 (and |b - k pi/2| >= 2^-40; the caller routes the rest elsewhere).
/// The reduced argument is kept as rh + rl, good to ~2^-100 relative: b - k Q1 is exact (|k| < 2^17, 33-bit Q1);
/// its difference with the exact k Q2 is split exactly (TwoSum); the k Q3 and k Q4 terms (below 2^-50) join the
/// error term, whose own rounding (~2^-104 absolute) is far below rh. Taylor polynomials to r^17 / r^16 on
/// |r| <= pi/4 (truncation < 0.02 ulp), with rl entering to first order.
AI void sincos_dd(VD b, VD *c_out, VD *s_out, VL *tiny) {
    VD kd = MADD(b, (VD){} + NPYEXP_INV_PIO2, (VD){} + SHIFT);
    VU ki = (VU)kd;
    kd = kd - SHIFT;
    VD r1 = MADD(-kd, (VD){} + NPYEXP_PIO2_Q1, b);
    VD q2 = -kd * NPYEXP_PIO2_Q2;
    VD r2 = r1 + q2, bb = r2 - r1;
    VD e2 = (r1 - (r2 - bb)) + (q2 - bb);
    VD t = MADD(-kd, (VD){} + NPYEXP_PIO2_Q3, e2);
    t = MADD(-kd, (VD){} + NPYEXP_PIO2_Q4, t);
    VD r = r2 + t;
    VD rl = t - (r - r2);
    VL knz = (VL)(kd != 0);
    r = (VD)(((VU)knz & (VU)r) | (~(VU)knz & (VU)b)); // k = 0: r = b exactly, also -0 (the sums above give +0)
    VD ar = (VD)((VU)r & 0x7fffffffffffffffULL);
    *tiny = (VL)(ar < 0x1p-40) & knz;
    VD z = r * r;
    VD s = MADD(z, (VD){} + 1.0 / 355687428096000.0, (VD){} - 1.0 / 1307674368000.0);
    s = MADD(s, z, (VD){} + 1.0 / 6227020800.0);
    s = MADD(s, z, (VD){} - 1.0 / 39916800);
    s = MADD(s, z, (VD){} + 1.0 / 362880);
    s = MADD(s, z, (VD){} - 1.0 / 5040);
    s = MADD(s, z, (VD){} + 1.0 / 120);
    s = MADD(s, z, (VD){} - 1.0 / 6);
    s = r + MADD(s * z, r, rl); // sin(rh + rl) = sin rh + rl cos rh, to first order
    VU sign = (VU){} + 0x8000000000000000ULL;
    s = (VD)(((VU)s & ~sign) | ((VU)r & sign)); // sin(-0) = -0
    VD c = MADD(z, (VD){} + 1.0 / 20922789888000.0, (VD){} - 1.0 / 87178291200.0);
    c = MADD(c, z, (VD){} + 1.0 / 479001600);
    c = MADD(c, z, (VD){} - 1.0 / 3628800);
    c = MADD(c, z, (VD){} + 1.0 / 40320);
    c = MADD(c, z, (VD){} - 1.0 / 720);
    c = MADD(c, z, (VD){} + 1.0 / 24);
    // cos = w + ((1 - w) - z/2 + z^2 C(z) - rl r), with w = 1 - z/2: the big rounding happens once, on w, whose
    // error (1 - w) - z/2 is recovered exactly; rl enters to first order (cos(rh + rl) = cos rh - rl sin rh).
    VD hz = 0.5 * z, w = 1.0 - hz;
    c = w + (((1.0 - w) - hz) + MADD(z * z, c, -r * rl));
    VL swap = (VL)((ki & 1) != 0);
    VU cs = ((ki + 1) & 2) << 62, ss = (ki & 2) << 62;
    VD cc = (VD)(((VU)swap & (VU)s) | (~(VU)swap & (VU)c));
    VD sc = (VD)(((VU)swap & (VU)c) | (~(VU)swap & (VU)s));
    *c_out = (VD)((VU)cc ^ cs);
    *s_out = (VD)((VU)sc ^ ss);
}

AI VL c128_core(VD2 z, VD2 *out) {
    VD a = __builtin_shufflevector(z, z, EVEN_LANES), b = __builtin_shufflevector(z, z, ODD_LANES);
    VD ea = f64_core(a), c, s;
    VL tiny;
    sincos_dd(b, &c, &s, &tiny);
    VD re = ea * c, im = ea * s;
    *out = __builtin_shufflevector(re, im, ZIP_LANES);
    VD fa = (VD)((VU)a & 0x7fffffffffffffffULL), fb = (VD)((VU)b & 0x7fffffffffffffffULL);
    return ~(VL)(fa <= 700.0) | ~(VL)(fb <= 1e5) | tiny;
}

/// n counts complex values.
void FN(npyexp_exp_c128)(const double *x, double *y, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) {
        VD2 z, o;
        memcpy(&z, x + 2 * i, sizeof z);
        VL bad = c128_core(z, &o);
        memcpy(y + 2 * i, &o, sizeof o);
        if (__builtin_expect(any_lane((VU)bad), 0)) {
            for (int j = 0; j < W; j++)
                if (bad[j]) npyexp_cexp_one(z[2 * j], z[2 * j + 1], &y[2 * (i + j)]); // z: the input, even in place
        }
    }
    if (i < n) {
        double bx[2 * W] = { 0 }, by[2 * W];
        memcpy(bx, x + 2 * i, (n - i) * 2 * sizeof(double));
        VD2 z, o;
        memcpy(&z, bx, sizeof z);
        VL bad = c128_core(z, &o);
        memcpy(by, &o, sizeof o);
        for (int j = 0; j < W; j++)
            if (bad[j]) npyexp_cexp_one(bx[2 * j], bx[2 * j + 1], &by[2 * j]);
        memcpy(y + 2 * i, by, (n - i) * 2 * sizeof(double));
    }
}
