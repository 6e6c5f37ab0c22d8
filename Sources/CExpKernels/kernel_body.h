// The vector kernel bodies, written once; included after kernel_types.h and the TU's ISA helper macros.
// See kernel_types.h for the contract and the error analysis.

#define SHIFT 0x1.8p52 // adding it rounds to an integer kept in the low mantissa bits

AI VU f32_core(VD x, VD *y_out) {
    VD kd = x * NPYEXP_INVLN2_32 + SHIFT;
    VU ki = (VU)kd;
    kd = kd - SHIFT;
    VD r = (x - kd * NPYEXP_LN2_32_HI) - kd * NPYEXP_LN2_32_LO; // first product exact, difference exact
    VU sbits = GATHER_U(npyexp_t32, ki & 31) + (ki << 47);
    VD p = MADD(r, (VD){} + 1.0 / 120, (VD){} + 1.0 / 24);
    p = MADD(p, r, (VD){} + 1.0 / 6);
    p = MADD(p, r, (VD){} + 0.5);
    p = MADD(p, r, (VD){} + 1.0);
    p = MADD(p, r, (VD){} + 1.0);
    VD y = (VD)sbits * p;
    *y_out = y;
    VU low = ((VU)y & 0x1fffffff) - (0x10000000 - 1024); // wraps to large when below the window
    VL amb = (VL)(low <= 2048);
    VL out = (VL)(x < -87.33) | (VL)(x > 88.72) | (VL)(x != x);
    return (VU)(amb | out);
}

AI int any_lane(VU m) {
    VU acc = m;
    uint64_t r = 0;
    for (int i = 0; i < W; i++) r |= acc[i];
    return r != 0;
}

AI void f32_block(const float *xp, float *yp) {
    VF xf;
    memcpy(&xf, xp, sizeof xf);
    VD y;
    VU bad = f32_core(__builtin_convertvector(xf, VD), &y);
    VF yf = __builtin_convertvector(y, VF);
    memcpy(yp, &yf, sizeof yf);
    if (__builtin_expect(any_lane(bad), 0)) {
        for (int i = 0; i < W; i++)
            if (bad[i]) yp[i] = npyexp_expf_cr(xf[i]); // xf, not xp: in place, xp was overwritten
    }
}

void FN(npyexp_exp_f32)(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + W <= n; i += W) f32_block(x + i, y + i);
    if (i < n) {
        float bx[W] = { 0 }, by[W];
        memcpy(bx, x + i, (n - i) * sizeof(float));
        f32_block(bx, by);
        memcpy(y + i, by, (n - i) * sizeof(float));
    }
}

/// exp in double for x in [-708, 708]; other lanes give garbage (callers route them elsewhere).
AI VD f64_core(VD x) {
    VD kd = x * NPYEXP_INVLN2_128 + SHIFT;
    VU ki = (VU)kd;
    kd = kd - SHIFT;
    VD r = (x - kd * NPYEXP_LN2_128_HI) - kd * NPYEXP_LN2_128_LO; // product exact, difference exact (Sterbenz)
    VU j = ki & 127;
    VD tail = (VD)GATHER_U((const uint64_t *)npyexp_t128_tail, j);
    VU sbits = GATHER_U(npyexp_t128_bits, j) + (ki << 45);
    VD r2 = r * r;
    VD pa = MADD(r, (VD){} + 1.0 / 6, (VD){} + 0.5);
    VD pb = MADD(r, (VD){} + 1.0 / 120, (VD){} + 1.0 / 24);
    VD tmp = MADD(r2 * r2, pb, MADD(r2, pa, tail + r));
    VD s = (VD)sbits;
    return MADD(s, tmp, s);
}

AI void f64_block(const double *xp, double *yp) {
    VD x;
    memcpy(&x, xp, sizeof x);
    VD y = f64_core(x);
    // Below -700 s * tmp would be subnormal and lose bits (up to 0.25 ulp): those lanes take the scalar path.
    VL bad = (VL)(x < -700.0) | (VL)(x > 708.0) | (VL)(x != x);
    memcpy(yp, &y, sizeof y);
    if (__builtin_expect(any_lane((VU)bad), 0)) {
        for (int i = 0; i < W; i++)
            if (bad[i]) yp[i] = npyexp_exp_cr(x[i]);
    }
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

AI void f16_block(const uint16_t *xp, uint16_t *yp) {
    VH h;
    memcpy(&h, xp, sizeof h);
    VD x = __builtin_convertvector(H2F(h), VD);
    VD y = f64_core(x);
    VU b = (VU)y;
    // Normal half results only (x >= -9.70 gives y >= 2^-14; x <= 11.08 gives y < 65504).
    VL bad = (VL)(x < -9.70) | (VL)(x > 11.08) | (VL)(x != x);
    VU low = (b & 0x3ffffffffffULL) - (0x20000000000ULL - 16);
    bad |= (VL)(low <= 32);
    VU rb = b + 0x1ffffffffffULL + ((b >> 42) & 1);
    VU hb = (rb >> 42) - ((uint64_t)(1023 - 15) << 10);
    VH out = __builtin_convertvector(hb, VH);
    memcpy(yp, &out, sizeof out);
    if (__builtin_expect(any_lane((VU)bad), 0)) {
        for (int i = 0; i < W; i++)
            if (bad[i]) yp[i] = npyexp_exph_cr(h[i]);
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
