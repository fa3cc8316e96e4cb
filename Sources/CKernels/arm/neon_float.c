// NEON kernels for float rows, the activation quantizers and the element-wise and attention ops.
#if defined(__aarch64__)
#include "neon.h"
#include "../exp.h"

// ---- float dot products (the one place where the order of the sum may differ) ---------------

static float ek_vec_dot_f32_neon(int64_t n, const void *restrict w, const void *restrict x) {
    const float *restrict a = w;
    const float *restrict b = x;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

// f16 and bf16 rows: widen eight values at a time, four f32 accumulators, scalar tail.
#define EK_NEON_HALF_DOT(name, T, load8, to_f32)                                              \
    static float name(int64_t n, const void *restrict w, const void *restrict x) {           \
        const T *restrict a = w;                                                             \
        const T *restrict b = x;                                                             \
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;                        \
        int64_t i = 0;                                                                       \
        for (; i + 16 <= n; i += 16) {                                                       \
            float32x4_t a0, a1, a2, a3, b0, b1, b2, b3;                                      \
            load8(a + i, &a0, &a1);                                                          \
            load8(a + i + 8, &a2, &a3);                                                      \
            load8(b + i, &b0, &b1);                                                          \
            load8(b + i + 8, &b2, &b3);                                                      \
            s0 = vfmaq_f32(s0, a0, b0);                                                      \
            s1 = vfmaq_f32(s1, a1, b1);                                                      \
            s2 = vfmaq_f32(s2, a2, b2);                                                      \
            s3 = vfmaq_f32(s3, a3, b3);                                                      \
        }                                                                                    \
        for (; i + 8 <= n; i += 8) {                                                         \
            float32x4_t a0, a1, b0, b1;                                                      \
            load8(a + i, &a0, &a1);                                                          \
            load8(b + i, &b0, &b1);                                                          \
            s0 = vfmaq_f32(s0, a0, b0);                                                      \
            s1 = vfmaq_f32(s1, a1, b1);                                                      \
        }                                                                                    \
        float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));             \
        for (; i < n; ++i) sum += to_f32(a[i]) * to_f32(b[i]);                               \
        return sum;                                                                          \
    }

static inline float ek_neon_b2f(ek_bf16 h) { return ek_bits_f32((uint32_t)h << 16); }

EK_NEON_HALF_DOT(ek_vec_dot_f16_neon, ek_fp16, ek_neon_load_h8, ek_neon_h2f)
EK_NEON_HALF_DOT(ek_vec_dot_bf16_neon, ek_bf16, ek_neon_load_b8, ek_neon_b2f)

// ---- activation quantizers ------------------------------------------------------------------

// One 32-element block as the scalar twin does it: d = amax/127, values times 127/amax rounded to
// nearest even (FCVTNS). Returns the sum of the quantized values.
EK_NEON_INLINE int32_t ek_neon_quantize_block_q8(const float *restrict src, int8_t *restrict qs, float *restrict d) {
    float32x4_t v[8];
    for (int k = 0; k < 8; ++k) v[k] = vld1q_f32(src + 4 * k);
    const float32x4_t m01 = vmaxq_f32(vabsq_f32(v[0]), vabsq_f32(v[1]));
    const float32x4_t m23 = vmaxq_f32(vabsq_f32(v[2]), vabsq_f32(v[3]));
    const float32x4_t m45 = vmaxq_f32(vabsq_f32(v[4]), vabsq_f32(v[5]));
    const float32x4_t m67 = vmaxq_f32(vabsq_f32(v[6]), vabsq_f32(v[7]));
    const float amax = vmaxvq_f32(vmaxq_f32(vmaxq_f32(m01, m23), vmaxq_f32(m45, m67)));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int32x4_t q[8];
    for (int k = 0; k < 8; ++k) q[k] = vcvtnq_s32_f32(vmulq_n_f32(v[k], id));
    const int16x8_t h0 = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
    const int16x8_t h1 = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
    const int16x8_t h2 = vcombine_s16(vqmovn_s32(q[4]), vqmovn_s32(q[5]));
    const int16x8_t h3 = vcombine_s16(vqmovn_s32(q[6]), vqmovn_s32(q[7]));
    vst1q_s8(qs, vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)));
    vst1q_s8(qs + 16, vcombine_s8(vqmovn_s16(h2), vqmovn_s16(h3)));
    *d = amax / 127.0f;
    return vaddvq_s32(vaddq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])),
                                vaddq_s32(vaddq_s32(q[4], q[5]), vaddq_s32(q[6], q[7]))));
}

static void ek_quantize_row_q8_0_neon(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_0 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_0; ++b, src += EK_QK8_0) {
        float d;
        ek_neon_quantize_block_q8(src, y[b].qs, &d);
        y[b].d = ek_neon_f2h(d);
    }
}

static void ek_quantize_row_q8_1_neon(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_1 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_1; ++b, src += EK_QK8_1) {
        float d;
        const int32_t sum = ek_neon_quantize_block_q8(src, y[b].qs, &d);
        y[b].d = ek_neon_f2h(d);
        y[b].s = ek_neon_f2h((float)sum * d);
    }
}

// Q8_K: d = max / -127 where max is the first value of largest magnitude; values times -127/max
// rounded to nearest even, capped at 127; bsums hold the sums of 16.
static void ek_quantize_row_q8_K_neon(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_K *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK_K; ++b, src += EK_QK_K) {
        // FMAXNM passes over NaN as the twin's `ax > amax` does, so amax is some element's |x|.
        float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0, m2 = m0, m3 = m0;
        for (int j = 0; j < EK_QK_K; j += 16) {
            m0 = vmaxnmq_f32(m0, vabsq_f32(vld1q_f32(src + j)));
            m1 = vmaxnmq_f32(m1, vabsq_f32(vld1q_f32(src + j + 4)));
            m2 = vmaxnmq_f32(m2, vabsq_f32(vld1q_f32(src + j + 8)));
            m3 = vmaxnmq_f32(m3, vabsq_f32(vld1q_f32(src + j + 12)));
        }
        const float amax = vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(m0, m1), vmaxnmq_f32(m2, m3)));
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        // The first element of that magnitude fixes the sign: find its run of 16, then the element.
        const float32x4_t va = vdupq_n_f32(amax);
        int j = 0;
        for (; j < EK_QK_K - 16; j += 16) {
            const uint32x4_t e = vorrq_u32(vorrq_u32(vceqq_f32(vabsq_f32(vld1q_f32(src + j)), va),
                                                     vceqq_f32(vabsq_f32(vld1q_f32(src + j + 4)), va)),
                                           vorrq_u32(vceqq_f32(vabsq_f32(vld1q_f32(src + j + 8)), va),
                                                     vceqq_f32(vabsq_f32(vld1q_f32(src + j + 12)), va)));
            if (vmaxvq_u32(e) != 0) break;
        }
        while (fabsf(src[j]) != amax) ++j;
        const float iscale = -127.0f / src[j];
        for (int g = 0; g < EK_QK_K / 16; ++g) {
            const float *s = src + 16 * g;
            const int32x4_t q0 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(s), iscale));
            const int32x4_t q1 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(s + 4), iscale));
            const int32x4_t q2 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(s + 8), iscale));
            const int32x4_t q3 = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(s + 12), iscale));
            // Saturating narrows cap at 127; nothing rounds below -127.
            const int8x16_t q = vcombine_s8(vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))),
                                            vqmovn_s16(vcombine_s16(vqmovn_s32(q2), vqmovn_s32(q3))));
            vst1q_s8(y[b].qs + 16 * g, q);
            y[b].bsums[g] = vaddlvq_s8(q);
        }
        y[b].d = 1.0f / iscale;
    }
}

// ---- element-wise ops -----------------------------------------------------------------------
// exp_shift_sum and silu_mul, which call the engine's ek_expf, are in exp_neon.c.

// Squares rounded to f32, then summed in f64 in element order as the twin does.
static double ek_sum_squares_neon(const float *x, int64_t n) {
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float32x4_t p = vmulq_f32(v, v);
        const float64x2_t lo = vcvt_f64_f32(vget_low_f32(p)), hi = vcvt_high_f64_f32(p);
        sum += vgetq_lane_f64(lo, 0);
        sum += vgetq_lane_f64(lo, 1);
        sum += vgetq_lane_f64(hi, 0);
        sum += vgetq_lane_f64(hi, 1);
    }
    for (; i < n; ++i) sum += (double)(x[i] * x[i]);
    return sum;
}

static void ek_scale_mul_neon(const float *x, float scale, const float *w, float *y, int64_t n) {
    int64_t i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8) {
            vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(w + i)));
            vst1q_f32(y + i + 4, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i + 4), scale), vld1q_f32(w + i + 4)));
        }
        for (; i < n; ++i) y[i] = x[i] * scale * w[i];
    } else {
        for (; i + 8 <= n; i += 8) {
            vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), scale));
            vst1q_f32(y + i + 4, vmulq_n_f32(vld1q_f32(x + i + 4), scale));
        }
        for (; i < n; ++i) y[i] = x[i] * scale;
    }
}

// FMAXNM skips NaN as the twin's `x > max` does.
static float ek_max_neon(const float *x, int64_t n) {
    float max = -INFINITY;
    int64_t i = 0;
    if (n >= 8) {
        float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
        for (; i + 8 <= n; i += 8) {
            m0 = vmaxnmq_f32(m0, vld1q_f32(x + i));
            m1 = vmaxnmq_f32(m1, vld1q_f32(x + i + 4));
        }
        max = vmaxnmvq_f32(vmaxnmq_f32(m0, m1));
    }
    for (; i < n; ++i) if (x[i] > max) max = x[i];
    return max;
}

static void ek_scale_neon(float *x, float s, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), s));
        vst1q_f32(x + i + 4, vmulq_n_f32(vld1q_f32(x + i + 4), s));
    }
    for (; i < n; ++i) x[i] *= s;
}

static void ek_add_neon(const float *a, const float *b, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(out + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
        vst1q_f32(out + i + 4, vaddq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4)));
    }
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

// Products rounded separately, then subtracted/added, as the twin does.
static void ek_rope_neon(float *x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float *cs, const float *sn, bool neox) {
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        int64_t i = 0;
        if (neox) {
            float *u = v + pairs;
            for (; i + 4 <= pairs; i += 4) {
                const float32x4_t x0 = vld1q_f32(v + i), x1 = vld1q_f32(u + i);
                const float32x4_t c = vld1q_f32(cs + i), s = vld1q_f32(sn + i);
                vst1q_f32(v + i, vsubq_f32(vmulq_f32(x0, c), vmulq_f32(x1, s)));
                vst1q_f32(u + i, vaddq_f32(vmulq_f32(x0, s), vmulq_f32(x1, c)));
            }
            for (; i < pairs; i++) {
                const float x0 = v[i], x1 = u[i];
                v[i] = x0 * cs[i] - x1 * sn[i];
                u[i] = x0 * sn[i] + x1 * cs[i];
            }
        } else {
            for (; i + 4 <= pairs; i += 4) {
                const float32x4x2_t p = vld2q_f32(v + 2 * i);
                const float32x4_t c = vld1q_f32(cs + i), s = vld1q_f32(sn + i);
                float32x4x2_t r;
                r.val[0] = vsubq_f32(vmulq_f32(p.val[0], c), vmulq_f32(p.val[1], s));
                r.val[1] = vaddq_f32(vmulq_f32(p.val[0], s), vmulq_f32(p.val[1], c));
                vst2q_f32(v + 2 * i, r);
            }
            for (; i < pairs; i++) {
                const float x0 = v[2 * i], x1 = v[2 * i + 1];
                v[2 * i] = x0 * cs[i] - x1 * sn[i];
                v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}

// Short-batch attention with the twin's numerics (ops.c): products summed in element order, the
// accumulator kept as f32 values rounded to f16 after each step.
EK_NEON_INLINE float32x4_t ek_neon_round_f16(float32x4_t x) { return vcvt_f32_f16(vreinterpret_f16_u16(ek_neon_f2h4(x))); }

static void ek_attend_f16_neon(int64_t d, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                               int64_t kv_stride, float scale, float *out) {
    if (d % 8 != 0 || d > EK_ATTENTION_MAX_HEAD_DIM) { ek_generic_ops.attend_f16(d, q, k, v, n_kv, kv_stride, scale, out); return; }
    float qf[EK_ATTENTION_MAX_HEAD_DIM], acc[EK_ATTENTION_MAX_HEAD_DIM];
    for (int64_t c = 0; c < d; c += 4) {
        vst1q_f32(qf + c, ek_neon_round_f16(vld1q_f32(q + c)));
        vst1q_f32(acc + c, vdupq_n_f32(0.0f));
    }
    float m = -INFINITY, sum = 0.0f;
    for (int64_t t = 0; t < n_kv; t++) {
        const ek_fp16 *kr = k + t * kv_stride, *vr = v + t * kv_stride;
        float dot = 0.0f;
        for (int64_t c = 0; c < d; c += 8) {
            float32x4_t k0, k1;
            ek_neon_load_h8(kr + c, &k0, &k1);
            dot = ek_neon_add_lanes(dot, vmulq_f32(vld1q_f32(qf + c), k0));
            dot = ek_neon_add_lanes(dot, vmulq_f32(vld1q_f32(qf + c + 4), k1));
        }
        const float s = dot * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) {
            ms = ek_expf(m - s);  // 0 on the first step
            m = s;
            for (int64_t c = 0; c < d; c += 4) vst1q_f32(acc + c, ek_neon_round_f16(vmulq_n_f32(vld1q_f32(acc + c), ms)));
        } else {
            vs = ek_expf(s - m);
        }
        for (int64_t c = 0; c < d; c += 8) {
            float32x4_t v0, v1;
            ek_neon_load_h8(vr + c, &v0, &v1);
            vst1q_f32(acc + c, ek_neon_round_f16(vaddq_f32(vld1q_f32(acc + c), vmulq_n_f32(v0, vs))));
            vst1q_f32(acc + c + 4, ek_neon_round_f16(vaddq_f32(vld1q_f32(acc + c + 4), vmulq_n_f32(v1, vs))));
        }
        sum = sum * ms + vs;
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int64_t c = 0; c < d; c += 4) vst1q_f32(out + c, vmulq_n_f32(vld1q_f32(acc + c), inv));
}

static void ek_attend_f16_group_neon(int64_t d, int g, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                                     int64_t kv_stride, float scale, float *out) {
    for (int h = 0; h < g; h++) ek_attend_f16_neon(d, q + h * d, k, v, n_kv, kv_stride, scale, out + h * d);
}

// Long prompts: the canonical layout, 16 FMA lanes (four vectors) folded pairwise 8, 4, 2, 1,
// then the tail fused in one element at a time.
static float ek_dot_f32_f16_neon(int64_t n, const float *a, const ek_fp16 *b) {
    float32x4_t l0 = vdupq_n_f32(0.0f), l1 = l0, l2 = l0, l3 = l0;   // lanes 0-3, 4-7, 8-11, 12-15
    const int64_t body = n - n % EK_CANONICAL_LANES;
    for (int64_t i = 0; i < body; i += EK_CANONICAL_LANES) {
        float32x4_t b0, b1, b2, b3;
        ek_neon_load_h8(b + i, &b0, &b1);
        ek_neon_load_h8(b + i + 8, &b2, &b3);
        l0 = vfmaq_f32(l0, vld1q_f32(a + i), b0);
        l1 = vfmaq_f32(l1, vld1q_f32(a + i + 4), b1);
        l2 = vfmaq_f32(l2, vld1q_f32(a + i + 8), b2);
        l3 = vfmaq_f32(l3, vld1q_f32(a + i + 12), b3);
    }
    l0 = vaddq_f32(vaddq_f32(l0, l2), vaddq_f32(l1, l3));            // w = 8, then w = 4
    const float32x2_t l01 = vadd_f32(vget_low_f32(l0), vget_high_f32(l0));   // w = 2
    float s = vget_lane_f32(l01, 0) + vget_lane_f32(l01, 1);                 // w = 1
    for (int64_t i = body; i < n; i++) s = fmaf(a[i], ek_half_to_float(b[i]), s);
    return s;
}

// acc = fma(v, s, acc), as the twin.
static void ek_mad_f32_f16_neon(int64_t n, float *acc, const ek_fp16 *v, float s) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t v0, v1;
        ek_neon_load_h8(v + i, &v0, &v1);
        vst1q_f32(acc + i, vfmaq_n_f32(vld1q_f32(acc + i), v0, s));
        vst1q_f32(acc + i + 4, vfmaq_n_f32(vld1q_f32(acc + i + 4), v1, s));
    }
    for (; i < n; ++i) acc[i] = fmaf(ek_half_to_float(v[i]), s, acc[i]);
}

static void ek_f32_to_f16_neon(const float *x, ek_fp16 *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_u16(y + i, vcombine_u16(ek_neon_f2h4(vld1q_f32(x + i)), ek_neon_f2h4(vld1q_f32(x + i + 4))));
    }
    for (; i < n; ++i) y[i] = ek_float_to_half(x[i]);
}

static void ek_f16_to_f32_neon(const ek_fp16 *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t lo, hi;
        ek_neon_load_h8(x + i, &lo, &hi);
        vst1q_f32(y + i, lo);
        vst1q_f32(y + i + 4, hi);
    }
    for (; i < n; ++i) y[i] = ek_half_to_float(x[i]);
}

static void ek_quantize_row_f16_neon(const float *restrict src, void *restrict dst, int64_t n) {
    ek_f32_to_f16_neon(src, dst, n);
}

static void ek_dequantize_row_f16_neon(const void *restrict src, float *restrict dst, int64_t n) {
    ek_f16_to_f32_neon(src, dst, n);
}


void ek_patch_neon_float(ek_type_traits *types, ek_op_kernels *ops) {
    types[EK_F32].vec_dot = ek_vec_dot_f32_neon;
    types[EK_F16].vec_dot = ek_vec_dot_f16_neon;
    types[EK_F16].to_float = ek_dequantize_row_f16_neon;
    types[EK_F16].from_float = ek_quantize_row_f16_neon;
    types[EK_BF16].vec_dot = ek_vec_dot_bf16_neon;
    types[EK_Q8_0].from_float = ek_quantize_row_q8_0_neon;
    types[EK_Q8_1].from_float = ek_quantize_row_q8_1_neon;
    types[EK_Q8_K].from_float = ek_quantize_row_q8_K_neon;
    ops->sum_squares = ek_sum_squares_neon;
    ops->scale_mul = ek_scale_mul_neon;
    ops->max = ek_max_neon;
    ops->scale = ek_scale_neon;
    ops->add = ek_add_neon;
    ops->rope = ek_rope_neon;
    ops->attend_f16 = ek_attend_f16_neon;
    ops->attend_f16_group = ek_attend_f16_group_neon;
    ops->dot_f32_f16 = ek_dot_f32_f16_neon;
    ops->mad_f32_f16 = ek_mad_f32_f16_neon;
    ops->f32_to_f16 = ek_f32_to_f16_neon;
    ops->f16_to_f32 = ek_f16_to_f32_neon;
    ops->exp_shift_sum = ek_exp_shift_sum_neon;
    ops->silu_mul = ek_silu_mul_neon;
}
#endif
