// AVX2 attention kernels: the short-batch op (f16 query and accumulator, online softmax) for one
// query head and for the query heads of one KV head, and the long-prompt f32 dot and update.
// Bit-identical to the twins in ops.c.
#if defined(__x86_64__)
#include "exp_avx2.h"
#include <math.h>

// Short-batch attention with the twin's numerics (ops.c), the accumulator kept as f32 values
// rounded to f16 after each step (NaN payloads aside: F16C keeps them, the twin does not, and
// either way the output is NaN).
EK_AVX2_INLINE __m256 round_f16x8(__m256 x) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

EK_AVX2_INLINE void transpose8(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// The scores of eight positions, lane p for position p (positions past n repeat the first): the
// products of eight elements of every position, transposed so that each lane adds its position's
// products one after the other, in element order.
EK_AVX2_INLINE __m256 scores8(const int64_t d, const float *qf, const ek_fp16 *k, int64_t kv_stride, int n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t c = 0; c < d; c += 8) {
        const __m256 qv = _mm256_load_ps(qf + c);
        __m256 p[8];
        EK_UNROLL for (int j = 0; j < 8; j++) p[j] = _mm256_mul_ps(qv, load_f16x8(k + (j < n ? j : 0) * kv_stride + c));
        transpose8(p);
        EK_UNROLL for (int e = 0; e < 8; e++) acc = _mm256_add_ps(acc, p[e]);
    }
    return acc;
}

// Scores are computed eight positions at a time (the positions' sums run side by side in the
// lanes); the softmax then walks them in order.
EK_AVX2_INLINE void attend_f16_body(const int64_t d, const float *q, const ek_fp16 *k, const ek_fp16 *v,
                                    int64_t n_kv, int64_t kv_stride, float scale, float *out) {
    float qf[EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float acc[EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    for (int64_t c = 0; c < d; c += 8) {
        _mm256_store_ps(qf + c, round_f16x8(_mm256_loadu_ps(q + c)));
        _mm256_store_ps(acc + c, _mm256_setzero_ps());
    }
    float m = -INFINITY, sum = 0.0f;
    for (int64_t t0 = 0; t0 < n_kv; t0 += 8) {
        const int n = n_kv - t0 < 8 ? (int)(n_kv - t0) : 8;
        for (int p = 0; p < n; p++) {   // the values' rows are fetched while the scores are computed
            const char *vr = (const char *)(v + (t0 + p) * kv_stride);
            for (int64_t b = 0; b < 2 * d; b += 64) _mm_prefetch(vr + b, _MM_HINT_T0);
        }
        const __m256 h = scores8(d, qf, k + t0 * kv_stride, kv_stride, n);
        float sc[8];
        _mm256_storeu_ps(sc, _mm256_mul_ps(h, _mm256_set1_ps(scale)));
        for (int p = 0; p < n; p++) {
            const float s = sc[p];
            float ms = 1.0f, vs = 1.0f;
            if (s > m) {
                ms = ek_expf(m - s);  // 0 on the first step
                m = s;
                const __m256 f = _mm256_set1_ps(ms);
                for (int64_t c = 0; c < d; c += 8) _mm256_store_ps(acc + c, round_f16x8(_mm256_mul_ps(_mm256_load_ps(acc + c), f)));
            } else {
                vs = ek_expf(s - m);
            }
            const ek_fp16 *vr = v + (t0 + p) * kv_stride;
            const __m256 w = _mm256_set1_ps(vs);
            for (int64_t c = 0; c < d; c += 8)
                _mm256_store_ps(acc + c, round_f16x8(_mm256_add_ps(_mm256_load_ps(acc + c), _mm256_mul_ps(load_f16x8(vr + c), w))));
            sum = sum * ms + vs;
        }
    }
    const __m256 inv = _mm256_set1_ps(sum == 0.0f ? 0.0f : 1.0f / sum);
    for (int64_t c = 0; c < d; c += 8) _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_load_ps(acc + c), inv));
}

// The group's accumulators live as f16 in memory (the twin rounds them to f16 at every step anyway):
// on Zen 3 widening from memory issues at about twice the rate of widening a register, whose pipe
// the rounding shares (measured: 44-47 -> 36-37 ns per position, d = 64, 3 heads). The asm pins
// both forms: compilers otherwise fold the store into vcvtps2ph's memory form (half the rate of
// the register form) and hoist the loads into register widenings.
EK_AVX2_INLINE void store_f16x8(ek_fp16 *p, __m256 x) {
    __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __asm__("" : "+x"(h));
    _mm_store_si128((__m128i *)p, h);
}

EK_AVX2_INLINE __m256 load_acc_f16x8(const ek_fp16 *p) {
    __m256 r;
    __asm__("vcvtph2ps %1, %0" : "=x"(r) : "m"(*(const __m128i *)p));
    return r;
}

// Eight positions' keys, elements c..c+7, transposed and widened: kt[e] lane p holds element c + e
// of position p (positions past n repeat the first).
EK_AVX2_INLINE void key_columns8(const ek_fp16 *k, int64_t kv_stride, int n, int64_t c, __m256 kt[8]) {
    __m128i r[8];
    EK_UNROLL for (int j = 0; j < 8; j++) r[j] = load128(k + (j < n ? j : 0) * kv_stride + c);
    __m128i a[8], b[8];
    EK_UNROLL for (int j = 0; j < 4; j++) {
        a[2 * j] = _mm_unpacklo_epi16(r[2 * j], r[2 * j + 1]);
        a[2 * j + 1] = _mm_unpackhi_epi16(r[2 * j], r[2 * j + 1]);
    }
    b[0] = _mm_unpacklo_epi32(a[0], a[2]); b[1] = _mm_unpackhi_epi32(a[0], a[2]);
    b[2] = _mm_unpacklo_epi32(a[1], a[3]); b[3] = _mm_unpackhi_epi32(a[1], a[3]);
    b[4] = _mm_unpacklo_epi32(a[4], a[6]); b[5] = _mm_unpackhi_epi32(a[4], a[6]);
    b[6] = _mm_unpacklo_epi32(a[5], a[7]); b[7] = _mm_unpackhi_epi32(a[5], a[7]);
    EK_UNROLL for (int j = 0; j < 4; j++) {
        kt[2 * j] = _mm256_cvtph_ps(_mm_unpacklo_epi64(b[j], b[j + 4]));
        kt[2 * j + 1] = _mm256_cvtph_ps(_mm_unpackhi_epi64(b[j], b[j + 4]));
    }
}

// attend_f16_body for the g query heads of one KV head, each head exactly as alone. Per eight
// positions: the keys are transposed once for the group, so each head's scores are one multiply
// and one add per element with the positions side by side in the lanes (the twin's element
// order); the softmax's exponents for the eight steps are taken at once, their arguments known
// from the running maximum (m - s where a step raises it, s - m where it does not); a value row
// is widened once for all heads.
EK_AVX2_INLINE void attend_f16_group_body(const int64_t d, const int g, const float *q, const ek_fp16 *k,
                                          const ek_fp16 *v, int64_t n_kv, int64_t kv_stride, float scale, float *out) {
    float qf[EK_ATTENTION_MAX_GROUP][EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    ek_fp16 acc[EK_ATTENTION_MAX_GROUP][EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float vf[EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float m[EK_ATTENTION_MAX_GROUP], sum[EK_ATTENTION_MAX_GROUP];
    for (int h = 0; h < g; h++) {
        for (int64_t c = 0; c < d; c += 8) {
            _mm256_store_ps(qf[h] + c, round_f16x8(_mm256_loadu_ps(q + h * d + c)));
            _mm_store_si128((__m128i *)(acc[h] + c), _mm_setzero_si128());
        }
        m[h] = -INFINITY;
        sum[h] = 0.0f;
    }
    for (int64_t t0 = 0; t0 < n_kv; t0 += 8) {
        const int n = n_kv - t0 < 8 ? (int)(n_kv - t0) : 8;
        for (int p = 0; p < n; p++) {
            const char *vr = (const char *)(v + (t0 + p) * kv_stride);
            for (int64_t b = 0; b < 2 * d; b += 64) _mm_prefetch(vr + b, _MM_HINT_T0);
        }
        __m256 sc[EK_ATTENTION_MAX_GROUP];
        for (int h = 0; h < g; h++) sc[h] = _mm256_setzero_ps();
        for (int64_t c = 0; c < d; c += 8) {
            __m256 kt[8];
            key_columns8(k + t0 * kv_stride, kv_stride, n, c, kt);
            for (int h = 0; h < g; h++) {
                __m256 a = sc[h];
                EK_UNROLL for (int e = 0; e < 8; e++) a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_broadcast_ss(qf[h] + c + e), kt[e]));
                sc[h] = a;
            }
        }
        float ex[EK_ATTENTION_MAX_GROUP][8];
        unsigned grew[EK_ATTENTION_MAX_GROUP];
        for (int h = 0; h < g; h++) {
            float s[8], arg[8];
            _mm256_storeu_ps(s, _mm256_mul_ps(sc[h], _mm256_set1_ps(scale)));
            unsigned mask = 0;
            float mm = m[h];
            EK_UNROLL for (int p = 0; p < 8; p++) {
                if (p >= n) { arg[p] = 0.0f; continue; }
                if (s[p] > mm) {
                    arg[p] = mm - s[p];   // -inf on the first step: exp gives 0
                    mm = s[p];
                    mask |= 1u << p;
                } else {
                    arg[p] = s[p] - mm;
                }
            }
            m[h] = mm;
            grew[h] = mask;
            _mm256_storeu_ps(ex[h], exp8(_mm256_loadu_ps(arg)));
        }
        for (int p = 0; p < n; p++) {
            const ek_fp16 *vr = v + (t0 + p) * kv_stride;
            for (int64_t c = 0; c < d; c += 8) _mm256_store_ps(vf + c, load_f16x8(vr + c));
            for (int h = 0; h < g; h++) {
                float ms = 1.0f, vs = 1.0f;
                if (grew[h] >> p & 1) {
                    ms = ex[h][p];
                    const __m256 f = _mm256_set1_ps(ms);
                    for (int64_t c = 0; c < d; c += 8) store_f16x8(acc[h] + c, _mm256_mul_ps(load_acc_f16x8(acc[h] + c), f));
                } else {
                    vs = ex[h][p];
                }
                const __m256 w = _mm256_set1_ps(vs);
                for (int64_t c = 0; c < d; c += 8) {
                    store_f16x8(acc[h] + c, _mm256_add_ps(load_acc_f16x8(acc[h] + c), _mm256_mul_ps(_mm256_load_ps(vf + c), w)));
                }
                sum[h] = sum[h] * ms + vs;
            }
        }
    }
    for (int h = 0; h < g; h++) {
        const __m256 inv = _mm256_set1_ps(sum[h] == 0.0f ? 0.0f : 1.0f / sum[h]);
        for (int64_t c = 0; c < d; c += 8) _mm256_storeu_ps(out + h * d + c, _mm256_mul_ps(load_acc_f16x8(acc[h] + c), inv));
    }
}

// Head sizes that are multiples of 8; the common ones get copies whose loops unroll.
EK_AVX2 static void attend_f16(int64_t d, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                               int64_t kv_stride, float scale, float *out) {
    if (d == 64) attend_f16_group_body(64, 1, q, k, v, n_kv, kv_stride, scale, out);
    else if (d == 128) attend_f16_group_body(128, 1, q, k, v, n_kv, kv_stride, scale, out);
    else if (d % 8 == 0 && d <= 128) attend_f16_group_body(d, 1, q, k, v, n_kv, kv_stride, scale, out);
    else if (d % 8 == 0 && d <= EK_ATTENTION_MAX_HEAD_DIM) attend_f16_body(d, q, k, v, n_kv, kv_stride, scale, out);
    else ek_generic_ops.attend_f16(d, q, k, v, n_kv, kv_stride, scale, out);
}

// The group's working set (queries, accumulators) is kept to head sizes up to 128.
EK_AVX2 static void attend_f16_group(int64_t d, int g, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                                     int64_t kv_stride, float scale, float *out) {
    if (d % 8 != 0 || d > 128) {
        for (int h = 0; h < g; h++) attend_f16(d, q + h * d, k, v, n_kv, kv_stride, scale, out + h * d);
        return;
    }
    for (int h0 = 0; h0 < g; h0 += EK_ATTENTION_MAX_GROUP) {
        const int n = g - h0 < EK_ATTENTION_MAX_GROUP ? g - h0 : EK_ATTENTION_MAX_GROUP;
        if (d == 64) attend_f16_group_body(64, n, q + h0 * d, k, v, n_kv, kv_stride, scale, out + h0 * d);
        else attend_f16_group_body(d, n, q + h0 * d, k, v, n_kv, kv_stride, scale, out + h0 * d);
    }
}

// Long prompts: the canonical layout, 16 FMA lanes (two vectors) folded pairwise 8, 4, 2, 1, then
// the tail fused in one element at a time.
EK_AVX2 static float dot_f32_f16(int64_t n, const float *a, const ek_fp16 *b) {
    _Static_assert(EK_CANONICAL_LANES == 16, "two vectors of lanes");
    __m256 l0 = _mm256_setzero_ps(), l1 = _mm256_setzero_ps();
    const int64_t body = n - n % EK_CANONICAL_LANES;
    for (int64_t i = 0; i < body; i += 16) {
        l0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16x8(b + i), l0);
        l1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load_f16x8(b + i + 8), l1);
    }
    const __m256 f8 = _mm256_add_ps(l0, l1);
    const __m128 f4 = _mm_add_ps(_mm256_castps256_ps128(f8), _mm256_extractf128_ps(f8, 1));
    const __m128 f2 = _mm_add_ps(f4, _mm_movehl_ps(f4, f4));
    __m128 f1 = _mm_add_ss(f2, _mm_movehdup_ps(f2));
    for (int64_t i = body; i < n; i++) f1 = _mm_fmadd_ss(_mm_set_ss(a[i]), _mm_set_ss(h2f(b[i])), f1);
    return _mm_cvtss_f32(f1);
}

// acc = fma(v, s, acc), as the twin.
EK_AVX2 static void mad_f32_f16(int64_t n, float *acc, const ek_fp16 *v, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(load_f16x8(v + i), vs, _mm256_loadu_ps(acc + i)));
    for (; i < n; ++i) acc[i] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(h2f(v[i])), _mm_set_ss(s), _mm_set_ss(acc[i])));
}

void ek_patch_avx2_attention(ek_op_kernels *ops) {
    ops->attend_f16 = attend_f16;
    ops->attend_f16_group = attend_f16_group;
    ops->dot_f32_f16 = dot_f32_f16;
    ops->mad_f32_f16 = mad_f32_f16;
}
#endif
