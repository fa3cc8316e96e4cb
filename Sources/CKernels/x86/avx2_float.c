// AVX2 kernels for float rows, the activation quantizers and the element-wise ops.
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
    ops->f32_to_f16 = f32_to_f16_row;
    ops->f16_to_f32 = f16_to_f32_row;
    ops->exp_shift_sum = ek_exp_shift_sum_avx2;
    ops->silu_mul = ek_silu_mul_avx2;
    ek_patch_avx2_attention(ops);
}
#endif
