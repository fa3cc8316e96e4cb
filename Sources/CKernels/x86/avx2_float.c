// AVX2 kernels for float rows, the activation quantizers and the element-wise and attention ops.
#if defined(__x86_64__)
#include "avx2.h"
#include <math.h>

// ---- float rows ----------------------------------------------------------------------------

EK_AVX2 static float vec_dot_f32(int64_t n, const void *restrict w, const void *restrict x) {
    const float *a = w, *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

EK_AVX2_INLINE __m256 load_f16x8(const ek_fp16 *p) { return _mm256_cvtph_ps(load128(p)); }

EK_AVX2_INLINE __m256 load_bf16x8(const ek_bf16 *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
}

EK_AVX2 static float dot_f16_rows(int64_t n, const ek_fp16 *a, const ek_fp16 *b) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(load_f16x8(a + i), load_f16x8(b + i), acc0);
        acc1 = _mm256_fmadd_ps(load_f16x8(a + i + 8), load_f16x8(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(load_f16x8(a + i + 16), load_f16x8(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(load_f16x8(a + i + 24), load_f16x8(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load_f16x8(a + i), load_f16x8(b + i), acc0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) sum += h2f(a[i]) * h2f(b[i]);
    return sum;
}

EK_AVX2 static float vec_dot_f16(int64_t n, const void *restrict w, const void *restrict x) {
    return dot_f16_rows(n, w, x);
}

EK_AVX2 static float vec_dot_bf16(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_bf16 *a = w, *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(load_bf16x8(a + i), load_bf16x8(b + i), acc0);
        acc1 = _mm256_fmadd_ps(load_bf16x8(a + i + 8), load_bf16x8(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(load_bf16x8(a + i + 16), load_bf16x8(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(load_bf16x8(a + i + 24), load_bf16x8(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load_bf16x8(a + i), load_bf16x8(b + i), acc0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) {
        float fa, fb;
        const uint32_t ua = (uint32_t)a[i] << 16, ub = (uint32_t)b[i] << 16;
        memcpy(&fa, &ua, 4); memcpy(&fb, &ub, 4);
        sum += fa * fb;
    }
    return sum;
}

// f32 -> f16 with the scalar twin's NaN (quiet, payload dropped); F16C keeps the payload.
EK_AVX2_INLINE __m128i f32x8_to_f16(__m256 v) {
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    const __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
    const __m128i canon = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16((short)0x8000)), _mm_set1_epi16(0x7e00));
    return _mm_blendv_epi8(h, canon, nan16);
}

EK_AVX2 static void f32_to_f16_row(const float *x, ek_fp16 *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm_storeu_si128((__m128i *)(y + i), f32x8_to_f16(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        ek_fp16 h[8];
        memcpy(t, x + i, sizeof(float) * (size_t)(n - i));
        _mm_storeu_si128((__m128i *)h, f32x8_to_f16(_mm256_loadu_ps(t)));
        memcpy(y + i, h, sizeof(ek_fp16) * (size_t)(n - i));
    }
}

EK_AVX2 static void f16_to_f32_row(const ek_fp16 *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
    for (; i < n; ++i) y[i] = h2f(x[i]);
}

EK_AVX2 static void quantize_row_f16(const float *restrict src, void *restrict dst, int64_t n) {
    f32_to_f16_row(src, dst, n);
}

// Round to nearest even on the dropped 16 bits; NaN stays quiet.
EK_AVX2_INLINE __m256i f32x8_to_bf16_lanes(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), odd), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

EK_AVX2 static void quantize_row_bf16(const float *restrict src, void *restrict dst, int64_t n) {
    ek_bf16 *y = dst;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i lo = f32x8_to_bf16_lanes(_mm256_loadu_ps(src + i));
        const __m256i hi = f32x8_to_bf16_lanes(_mm256_loadu_ps(src + i + 8));
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xd8);
        _mm256_storeu_si256((__m256i *)(y + i), packed);
    }
    for (; i < n; ++i) {
        const __m256i v = f32x8_to_bf16_lanes(_mm256_set1_ps(src[i]));
        y[i] = (ek_bf16)_mm256_extract_epi32(v, 0);
    }
}

// ---- activation quantizers -----------------------------------------------------------------

EK_AVX2_INLINE __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

EK_AVX2_INLINE float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// v * s rounded half to even, as int32 (the scalar twins' nearest_int of the same product).
EK_AVX2_INLINE __m256i round_mul(__m256 v, __m256 s) {
    return _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// Four vectors of 8 int32 (elements in order) to 32 int8; values already fit.
EK_AVX2_INLINE __m256i pack32(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// One block of 32: d = amax/127, values times 127/amax rounded half to even; returns sum(qs).
EK_AVX2_INLINE int32_t quantize_block_q8(const float *src, int8_t *qs, float *d) {
    const __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8);
    const __m256 v2 = _mm256_loadu_ps(src + 16), v3 = _mm256_loadu_ps(src + 24);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)), _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
    const float amax = hmax_ps(m);
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    const __m256i i0 = round_mul(v0, id), i1 = round_mul(v1, id), i2 = round_mul(v2, id), i3 = round_mul(v3, id);
    _mm256_storeu_si256((__m256i *)qs, pack32(i0, i1, i2, i3));
    *d = amax / 127.0f;
    return hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
}

EK_AVX2 static void quantize_row_q8_0(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_0 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_0; ++b, src += EK_QK8_0) {
        float d;
        quantize_block_q8(src, y[b].qs, &d);
        y[b].d = f2h(d);
    }
}

EK_AVX2 static void quantize_row_q8_1(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_1 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_1; ++b, src += EK_QK8_1) {
        float d;
        const int32_t sum = quantize_block_q8(src, y[b].qs, &d);
        y[b].d = f2h(d);
        y[b].s = f2h((float)sum * d);
    }
}

EK_AVX2 static void quantize_row_q8_K(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_K *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK_K; ++b, src += EK_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < EK_QK_K; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(src + j)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        // The first element of largest magnitude fixes the sign of d.
        const __m256 vmax = _mm256_set1_ps(amax);
        int first = 0;
        for (int j = 0; j < EK_QK_K; j += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(src + j)), vmax, _CMP_EQ_OQ));
            if (hit) { first = j + __builtin_ctz((unsigned)hit); break; }
        }
        const float iscale = -127.0f / src[first];
        const __m256 s = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int j = 0; j < EK_QK_K; j += 32) {
            const __m256i i0 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j), s), top);
            const __m256i i1 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j + 8), s), top);
            const __m256i i2 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j + 16), s), top);
            const __m256i i3 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j + 24), s), top);
            _mm256_storeu_si256((__m256i *)(y[b].qs + j), pack32(i0, i1, i2, i3));
            // Lanes 0 and 1 of the folded pair sums: the sums of elements j..j+15 and j+16..j+31.
            __m256i h = _mm256_hadd_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            h = _mm256_hadd_epi32(h, h);
            const __m128i g = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            y[b].bsums[j / 16] = (int16_t)_mm_cvtsi128_si32(g);
            y[b].bsums[j / 16 + 1] = (int16_t)_mm_extract_epi32(g, 1);
        }
        y[b].d = 1.0f / iscale;
    }
}


// ---- op kernels ----------------------------------------------------------------------------
// Bit-identical to the twins. exp_shift_sum and silu_mul, which call the engine's ek_expf, are
// in exp_avx2.c.

// Squares rounded to f32, then summed in f64 in element order as the twin does.
EK_AVX2 static double sum_squares(const float *x, int64_t n) {
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 sq = _mm256_mul_ps(v, v);
        double d[8];
        _mm256_storeu_pd(d, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        _mm256_storeu_pd(d + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
        for (int k = 0; k < 8; ++k) sum += d[k];
    }
    for (; i < n; i++) sum += (double)(x[i] * x[i]);
    return sum;
}

EK_AVX2 static void scale_mul(const float *x, float scale, const float *w, float *y, int64_t n) {
    const __m256 s = _mm256_set1_ps(scale);
    int64_t i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
        for (; i < n; ++i) y[i] = x[i] * scale * w[i];
    } else {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), s));
        for (; i < n; ++i) y[i] = x[i] * scale;
    }
}

// The twin keeps the first value that no later one exceeds; lanes do the same, and of equal lane
// maxima (only +0 and -0 can differ) the element that came first wins.
EK_AVX2 static float max_f32(const float *x, int64_t n) {
    __m256 acc = _mm256_set1_ps(-__builtin_inff());
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(_mm256_loadu_ps(x + i), acc);   // NaN in x keeps acc
    float max = hmax_ps(acc);
    if (max == 0.0f) {
        for (int64_t k = 0; k < i; ++k) if (x[k] == 0.0f) { max = x[k]; break; }
    }
    for (; i < n; ++i) if (x[i] > max) max = x[i];
    return max;
}

EK_AVX2 static void scale_f32(float *x, float s, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; ++i) x[i] *= s;
}

EK_AVX2 static void add_f32(const float *a, const float *b, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

// Products rounded separately, then subtracted/added, as the twin does.
EK_AVX2 static void rope(float *x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float *cs, const float *sn, bool neox) {
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        int64_t i = 0;
        if (neox) {
            for (; i + 8 <= pairs; i += 8) {
                const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + pairs);
                const __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_loadu_ps(sn + i);
                _mm256_storeu_ps(v + i, _mm256_sub_ps(_mm256_mul_ps(x0, c), _mm256_mul_ps(x1, s)));
                _mm256_storeu_ps(v + i + pairs, _mm256_add_ps(_mm256_mul_ps(x0, s), _mm256_mul_ps(x1, c)));
            }
            for (; i < pairs; i++) {
                const float x0 = v[i], x1 = v[i + pairs];
                v[i] = x0 * cs[i] - x1 * sn[i];
                v[i + pairs] = x0 * sn[i] + x1 * cs[i];
            }
        } else {
            const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
            for (; i + 4 <= pairs; i += 4) {
                const __m256 xv = _mm256_loadu_ps(v + 2 * i);
                const __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(cs + i)), dup);
                const __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(sn + i)), dup);
                const __m256 swapped = _mm256_permute_ps(xv, 0xb1);
                // even: x0 c - x1 s; odd: x1 c + x0 s (the twin's x0 s + x1 c: a sum of the same two products)
                _mm256_storeu_ps(v + 2 * i, _mm256_addsub_ps(_mm256_mul_ps(xv, c), _mm256_mul_ps(swapped, s)));
            }
            for (; i < pairs; i++) {
                const float x0 = v[2 * i], x1 = v[2 * i + 1];
                v[2 * i] = x0 * cs[i] - x1 * sn[i];
                v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}

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
                ms = expf(m - s);  // 0 on the first step
                m = s;
                const __m256 f = _mm256_set1_ps(ms);
                for (int64_t c = 0; c < d; c += 8) _mm256_store_ps(acc + c, round_f16x8(_mm256_mul_ps(_mm256_load_ps(acc + c), f)));
            } else {
                vs = expf(s - m);
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

// attend_f16_body for the g query heads of one KV head: each head runs exactly its own steps, but
// a value row is converted once for all of them, and the heads' accumulators, which each wait on
// the previous position, advance side by side.
EK_AVX2_INLINE void attend_f16_group_body(const int64_t d, const int g, const float *q, const ek_fp16 *k,
                                          const ek_fp16 *v, int64_t n_kv, int64_t kv_stride, float scale, float *out) {
    float qf[EK_ATTENTION_MAX_GROUP][EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float acc[EK_ATTENTION_MAX_GROUP][EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float vf[EK_ATTENTION_MAX_HEAD_DIM] __attribute__((aligned(32)));
    float m[EK_ATTENTION_MAX_GROUP], sum[EK_ATTENTION_MAX_GROUP];
    for (int h = 0; h < g; h++) {
        for (int64_t c = 0; c < d; c += 8) {
            _mm256_store_ps(qf[h] + c, round_f16x8(_mm256_loadu_ps(q + h * d + c)));
            _mm256_store_ps(acc[h] + c, _mm256_setzero_ps());
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
        float sc[EK_ATTENTION_MAX_GROUP][8];
        for (int h = 0; h < g; h++) {
            _mm256_storeu_ps(sc[h], _mm256_mul_ps(scores8(d, qf[h], k + t0 * kv_stride, kv_stride, n), _mm256_set1_ps(scale)));
        }
        for (int p = 0; p < n; p++) {
            const ek_fp16 *vr = v + (t0 + p) * kv_stride;
            for (int64_t c = 0; c < d; c += 8) _mm256_store_ps(vf + c, load_f16x8(vr + c));
            for (int h = 0; h < g; h++) {
                const float s = sc[h][p];
                float ms = 1.0f, vs = 1.0f;
                if (s > m[h]) {
                    ms = expf(m[h] - s);  // 0 on the first step
                    m[h] = s;
                    const __m256 f = _mm256_set1_ps(ms);
                    for (int64_t c = 0; c < d; c += 8) _mm256_store_ps(acc[h] + c, round_f16x8(_mm256_mul_ps(_mm256_load_ps(acc[h] + c), f)));
                } else {
                    vs = expf(s - m[h]);
                }
                const __m256 w = _mm256_set1_ps(vs);
                for (int64_t c = 0; c < d; c += 8) {
                    _mm256_store_ps(acc[h] + c, round_f16x8(_mm256_add_ps(_mm256_load_ps(acc[h] + c),
                                                                          _mm256_mul_ps(_mm256_load_ps(vf + c), w))));
                }
                sum[h] = sum[h] * ms + vs;
            }
        }
    }
    for (int h = 0; h < g; h++) {
        const __m256 inv = _mm256_set1_ps(sum[h] == 0.0f ? 0.0f : 1.0f / sum[h]);
        for (int64_t c = 0; c < d; c += 8) _mm256_storeu_ps(out + h * d + c, _mm256_mul_ps(_mm256_load_ps(acc[h] + c), inv));
    }
}

// Head sizes that are multiples of 8; the common ones get copies whose loops unroll.
EK_AVX2 static void attend_f16(int64_t d, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                               int64_t kv_stride, float scale, float *out) {
    if (d == 64) attend_f16_body(64, q, k, v, n_kv, kv_stride, scale, out);
    else if (d == 128) attend_f16_body(128, q, k, v, n_kv, kv_stride, scale, out);
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


void ek_patch_avx2_float(ek_type_traits *types, ek_op_kernels *ops) {
    types[EK_F32].vec_dot = vec_dot_f32;
    types[EK_F16].vec_dot = vec_dot_f16;
    types[EK_F16].from_float = quantize_row_f16;
    types[EK_BF16].vec_dot = vec_dot_bf16;
    types[EK_BF16].from_float = quantize_row_bf16;
    types[EK_Q8_0].from_float = quantize_row_q8_0;
    types[EK_Q8_1].from_float = quantize_row_q8_1;
    types[EK_Q8_K].from_float = quantize_row_q8_K;
    ops->sum_squares = sum_squares;
    ops->scale_mul = scale_mul;
    ops->max = max_f32;
    ops->scale = scale_f32;
    ops->add = add_f32;
    ops->rope = rope;
    ops->attend_f16 = attend_f16;
    ops->attend_f16_group = attend_f16_group;
    ops->dot_f32_f16 = dot_f32_f16;
    ops->mad_f32_f16 = mad_f32_f16;
    ops->f32_to_f16 = f32_to_f16_row;
    ops->f16_to_f32 = f16_to_f32_row;
    ops->exp_shift_sum = ek_exp_shift_sum_avx2;
    ops->silu_mul = ek_silu_mul_avx2;
}
#endif
