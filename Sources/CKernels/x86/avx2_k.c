// AVX2 kernels for the 256-element super-block types (Q2_K...Q6_K): vec_dot, token tiles and
// row tiles.
#if defined(__x86_64__)
#include "avx2.h"

// ---- 256-element super-block (K) types -----------------------------------------------------
//
// Q3_K..Q6_K: the twins accumulate a super-block's products into eight integer lanes (element index
// mod 8), each product scaled by its group's scale, and add d * lane to eight float sums. maddubs
// sums adjacent bytes, so both codes and activations are first shuffled to pair element e with
// e + 8 of each 16-byte half (same lane); a word then holds lane j of its half. Words of two
// vectors are interleaved and multiplied by their groups' scales with madd, giving int32 lanes
// 0..3 (and 4..7) in both halves, folded once per super-block.

// Pairs bytes e and e + 8 of each 16-byte half.
EK_AVX2_INLINE __m256i lane_pairs(__m256i v) {
    const __m128i p = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(p));
}

// Lane words of two vectors a, b (int16, one lane per word of each half) times their halves'
// scales, added to the int32 lane accumulators: *lo gets lanes 0..3, *hi lanes 4..7, in both halves.
// scales: per half, words [s_a s_b s_a s_b ...].
EK_AVX2_INLINE void lanes_acc(__m256i a, __m256i b, __m256i scales, __m256i *lo, __m256i *hi) {
    *lo = _mm256_add_epi32(*lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), scales));
    *hi = _mm256_add_epi32(*hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), scales));
}

// The eight int32 lanes in order from the two accumulators.
EK_AVX2_INLINE __m256i lanes_fold(__m256i lo, __m256i hi) {
    return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// sums += d * lanes, per lane (the twins' `sums[l] += d * (float)lanes[l]`, unfused).
EK_AVX2_INLINE __m256 lanes_scale(__m256 sums, __m256i lanes, float d) {
    return _mm256_add_ps(sums, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes)));
}

// start + sums[0] + ... + sums[7], left to right.
EK_AVX2_INLINE float fold_sums(float start, __m256 sums) {
    return add_lanes(add_lanes(start, _mm256_castps256_ps128(sums)), _mm256_extractf128_ps(sums, 1));
}

EK_AVX2_INLINE const ek_block_q8_K *q8K_row(const void *x, size_t stride, int t) {
    return (const ek_block_q8_K *)((const uint8_t *)x + (size_t)t * stride);
}

// 16 int8 scales as int16: scales 0..7 in both halves (*lo), and 8..15 in both halves (*hi).
EK_AVX2_INLINE void scales16(__m128i s8, __m256i *lo, __m256i *hi) {
    const __m256i s = _mm256_cvtepi8_epi16(s8);
    *lo = _mm256_permute2x128_si256(s, s, 0x00);
    *hi = _mm256_permute2x128_si256(s, s, 0x11);
}

// Scale words for vectors k and k + 1 of a 128-element half with 16-element groups (vector k: group
// 2k in its low half, 2k + 1 in its high half), from that half's eight scales.
EK_AVX2_INLINE __m256i scales_g16(__m256i sc, int k) {
    const __m128i lo = _mm_set1_epi32((4 * k + 5) << 24 | (4 * k + 4) << 16 | (4 * k + 1) << 8 | (4 * k));
    const __m128i hi = _mm_set1_epi32((4 * k + 7) << 24 | (4 * k + 6) << 16 | (4 * k + 3) << 8 | (4 * k + 2));
    return _mm256_shuffle_epi8(sc, _mm256_set_m128i(hi, lo));
}

// Scale words for groups 2c and 2c + 1 of 32 elements (both halves), from the eight scales.
EK_AVX2_INLINE __m256i scales_g32(__m256i sc, int c) {
    return _mm256_shuffle_epi8(sc, _mm256_set1_epi32((4 * c + 3) << 24 | (4 * c + 2) << 16 | (4 * c + 1) << 8 | (4 * c)));
}

// Q2_K: the twin needs only the integer totals of scale * products and of min * bsums.
EK_AVX2_INLINE void dot_q2_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride, const int nx,
                             float *restrict s) {
    const ek_block_q2_K *restrict a = w;
    const __m256i m3 = _mm256_set1_epi8(3);
    float sum[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) sum[t] = 0.0f;
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_prefetch(&a[i], 2);
        const __m128i packed = load128(a[i].scales);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
        __m256i slo, shi;
        scales16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), &slo, &shi);
        __m256i q[8];
        EK_UNROLL for (int h = 0; h < 2; ++h) {
            const __m256i raw = load256(a[i].qs + 32 * h);
            EK_UNROLL for (int k = 0; k < 4; ++k) q[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * k), m3);
        }
        const float dw = h2f(a[i].d), mw = h2f(a[i].dmin);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            __m256i acc = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                const __m256i sc = h ? shi : slo;
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    // word pairs of one 16-element group: scale 2k in the low half, 2k + 1 in the high
                    const __m256i sk = _mm256_shuffle_epi8(sc, _mm256_set_m128i(_mm_set1_epi16((short)((4 * k + 3) << 8 | (4 * k + 2))),
                                                                                _mm_set1_epi16((short)((4 * k + 1) << 8 | (4 * k)))));
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[4 * h + k], load256(y->qs + 128 * h + 32 * k)), sk));
                }
            }
            const int32_t isum = hsum_epi32(acc);
            const int32_t summs = hsum_epi32(_mm256_madd_epi16(load256(y->bsums), mins));
            const float dall = y->d * dw, dmin = y->d * mw;
            sum[t] += dall * (float)isum - dmin * (float)summs;
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = sum[t];
}

// Q3_K's 16 six-bit scales (low nibbles in bytes 0..7, top two bits in bytes 8..11), minus 32.
EK_AVX2_INLINE __m128i q3_K_scales(const uint8_t *s) {
    const uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), hi = load_u32(s + 8);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const uint32_t s0 = (u0 & m4) | ((hi & m2) << 4);
    const uint32_t s1 = (u1 & m4) | (((hi >> 2) & m2) << 4);
    const uint32_t s2 = ((u0 >> 4) & m4) | (((hi >> 4) & m2) << 4);
    const uint32_t s3 = ((u1 >> 4) & m4) | (((hi >> 6) & m2) << 4);
    return _mm_sub_epi8(_mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3), _mm_set1_epi8(32));
}

// Q3_K: codes = 2 low bits (32-byte runs of qs, shifts 0/2/4/6) - 4 unless the hmask bit is set;
// as products: lo * y - 4 * y where the bit is clear.
EK_AVX2_INLINE void dot_q3_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride, const int nx,
                             float *restrict s) {
    const ek_block_q3_K *restrict a = w;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 sums[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) sums[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_prefetch(&a[i], 2);
        __m256i sc[2];
        scales16(q3_K_scales(a[i].scales), &sc[0], &sc[1]);
        const __m256i nh = _mm256_xor_si256(lane_pairs(load256(a[i].hmask)), _mm256_set1_epi8(-1));
        __m256i lo[8], h4[8];
        EK_UNROLL for (int h = 0; h < 2; ++h) {
            const __m256i q = lane_pairs(load256(a[i].qs + 32 * h));
            EK_UNROLL for (int k = 0; k < 4; ++k) {
                const int bit = 4 * h + k;
                lo[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
                const __m256i hb = bit >= 2 ? _mm256_srli_epi16(nh, bit - 2) : _mm256_slli_epi16(nh, 2 - bit);
                h4[4 * h + k] = _mm256_and_si256(hb, four);
            }
        }
        const float dw = h2f(a[i].d);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                __m256i p[4];
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const __m256i yv = lane_pairs(load256(y->qs + 128 * h + 32 * k));
                    p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(lo[4 * h + k], yv), _mm256_maddubs_epi16(h4[4 * h + k], yv));
                }
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[t] = lanes_scale(sums[t], lanes_fold(acc_lo, acc_hi), dw * y->d);
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = fold_sums(0.0f, sums[t]);
}

// Q4_K/Q5_K scales and mins as 8 bytes each: [scales | mins] in one 128-bit value.
EK_AVX2_INLINE __m128i k4_scales_mins(const uint8_t *q) {
    const uint32_t u0 = load_u32(q), u1 = load_u32(q + 4), u2 = load_u32(q + 8);
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const uint32_t sc_lo = u0 & m6, mn_lo = u1 & m6;
    const uint32_t sc_hi = (u2 & m4) | (((u0 >> 6) & m2) << 4);
    const uint32_t mn_hi = ((u2 >> 4) & m4) | (((u1 >> 6) & m2) << 4);
    return _mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)mn_lo, (int)mn_hi);
}

// Q4_K/Q5_K: eight groups of 32 with 6-bit scales and mins; qs chunk c holds group 2c in its low
// nibbles and 2c + 1 in its high nibbles. Q5_K's fifth bits: bit 2c of qh[l] for the low nibble,
// 2c + 1 for the high one. The twins subtract dmin * mins from the row's sum block by block and add
// the eight lane sums at the end.
EK_AVX2_INLINE void dot_q45_K(const bool five, int64_t n, const void *restrict w, const void *restrict x, size_t stride,
                              const int nx, float *restrict s) {
    const size_t bs = five ? sizeof(ek_block_q5_K) : sizeof(ek_block_q4_K);
    const __m256i m4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    __m256 sums[EK_TILE_TOKENS];
    float msum[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) { sums[t] = _mm256_setzero_ps(); msum[t] = 0.0f; }
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)i * bs;
        ek_prefetch(blk, 3);
        const ek_block_q4_K *b4 = (const ek_block_q4_K *)blk;   // d, dmin, scales: same offsets in Q5_K
        const uint8_t *qs = five ? ((const ek_block_q5_K *)blk)->qs : b4->qs;
        const __m128i sm = k4_scales_mins(b4->scales);
        const __m128i sc16 = _mm_cvtepu8_epi16(sm);
        const __m256i sc = _mm256_set_m128i(sc16, sc16);
        const __m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
        const __m256i qh = five ? lane_pairs(load256(((const ek_block_q5_K *)blk)->qh)) : _mm256_setzero_si256();
        __m256i q[8];
        EK_UNROLL for (int c = 0; c < 4; ++c) {
            const __m256i raw = lane_pairs(load256(qs + 32 * c));
            q[2 * c] = _mm256_and_si256(raw, m4);
            q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (five) {
                // bits 2c and 2c + 1 moved to bit 4 (16-bit shifts stay within bytes once masked)
                const int s0 = 2 * c, s1 = 2 * c + 1;
                const __m256i h0 = s0 <= 4 ? _mm256_slli_epi16(qh, 4 - s0) : _mm256_srli_epi16(qh, s0 - 4);
                const __m256i h1 = s1 <= 4 ? _mm256_slli_epi16(qh, 4 - s1) : _mm256_srli_epi16(qh, s1 - 4);
                q[2 * c] = _mm256_or_si256(q[2 * c], _mm256_and_si256(h0, bit4));
                q[2 * c + 1] = _mm256_or_si256(q[2 * c + 1], _mm256_and_si256(h1, bit4));
            }
        }
        const float dw = h2f(b4->d), mw = h2f(b4->dmin);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            // min term: sum over groups of 32 of min * (sum of the group's activations), exact
            const __m128i pairs = _mm_hadd_epi16(load128(y->bsums), load128(y->bsums + 8));
            const __m128i m = _mm_madd_epi16(mins, pairs);
            const int32_t summs = _mm_cvtsi128_si32(_mm_hadd_epi32(_mm_hadd_epi32(m, m), _mm_hadd_epi32(m, m)));
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int c = 0; c < 4; ++c) {
                const __m256i p0 = _mm256_maddubs_epi16(q[2 * c], lane_pairs(load256(y->qs + 64 * c)));
                const __m256i p1 = _mm256_maddubs_epi16(q[2 * c + 1], lane_pairs(load256(y->qs + 64 * c + 32)));
                lanes_acc(p0, p1, scales_g32(sc, c), &acc_lo, &acc_hi);
            }
            sums[t] = lanes_scale(sums[t], lanes_fold(acc_lo, acc_hi), dw * y->d);
            msum[t] -= (mw * y->d) * (float)summs;
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = fold_sums(msum[t], sums[t]);
}

// Q6_K: 16 groups of 16 with int8 scales; codes = 6 bits - 32, as products q y - 32 y. Per
// 128-element half, ql holds the low nibbles (elements l and 32 + l in the low nibbles, 64 + l and
// 96 + l in the high ones) and qh the top two bits at shifts 0/2/4/6.
EK_AVX2_INLINE void dot_q6_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride, const int nx,
                             float *restrict s) {
    const ek_block_q6_K *restrict a = w;
    const __m256i m4 = _mm256_set1_epi8(0x0f), mhi = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    __m256 sums[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) sums[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_prefetch(&a[i], 4);
        __m256i sc[2];
        scales16(load128(a[i].scales), &sc[0], &sc[1]);
        __m256i q[8];
        EK_UNROLL for (int h = 0; h < 2; ++h) {
            const __m256i l0 = lane_pairs(load256(a[i].ql + 64 * h)), l1 = lane_pairs(load256(a[i].ql + 64 * h + 32));
            const __m256i hb = lane_pairs(load256(a[i].qh + 32 * h));
            q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), mhi));
            q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), mhi));
            q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, mhi));
            q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), mhi));
        }
        const float dw = h2f(a[i].d);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                __m256i p[4];
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const __m256i yv = lane_pairs(load256(y->qs + 128 * h + 32 * k));
                    p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(q[4 * h + k], yv), _mm256_maddubs_epi16(k32, yv));
                }
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[t] = lanes_scale(sums[t], lanes_fold(acc_lo, acc_hi), dw * y->d);
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = fold_sums(0.0f, sums[t]);
}

#define EK_Q4_K(n, w, x, stride, nx, s) dot_q45_K(false, n, w, x, stride, nx, s)
#define EK_Q5_K(n, w, x, stride, nx, s) dot_q45_K(true, n, w, x, stride, nx, s)

#define EK_K_ENTRIES(name, fn)                                                                              \
    EK_AVX2 static float vec_dot_##name(int64_t n, const void *restrict w, const void *restrict x) {         \
        float s;                                                                                            \
        fn(n, w, x, 0, 1, &s);                                                                              \
        return s;                                                                                           \
    }                                                                                                       \
    EK_AVX2 static void vec_dot_tile_##name(int64_t n, const void *restrict w, const void *restrict x,       \
                                            size_t stride, int nx, float *restrict s) {                     \
        if (nx == EK_TILE_TOKENS) fn(n, w, x, stride, EK_TILE_TOKENS, s);                                   \
        else fn(n, w, x, stride, nx, s);                                                                    \
    }

EK_K_ENTRIES(q2_K_q8_K, dot_q2_K)
EK_K_ENTRIES(q3_K_q8_K, dot_q3_K)
EK_K_ENTRIES(q4_K_q8_K, EK_Q4_K)
EK_K_ENTRIES(q5_K_q8_K, EK_Q5_K)
EK_K_ENTRIES(q6_K_q8_K, dot_q6_K)

// ---- K types: row tiles --------------------------------------------------------------------
//
// Per super-block the activation's element pairs (and Q6_K's products with the codes' offset 32)
// are prepared once for the tile's rows; each row then does its vec_dot's integer and float work
// (eight lane sums, folded at the end). Q4_K/Q5_K's min terms are taken for the rows together.

// The f16 at rw[r] + o for the four rows, widened.
EK_AVX2_INLINE __m128 h2f_rows4(const uint8_t *const rw[EK_TILE_ROWS], size_t o) {
    const uint64_t h = (uint64_t)load_u16(rw[0] + o) | (uint64_t)load_u16(rw[1] + o) << 16
                     | (uint64_t)load_u16(rw[2] + o) << 32 | (uint64_t)load_u16(rw[3] + o) << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h));
}

// The totals of four vectors' four int32 each, as [a b c d].
EK_AVX2_INLINE __m128i sum4x4_epi32_128(__m128i a, __m128i b, __m128i c, __m128i d) {
    const __m128i ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
    const __m128i cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
    return _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
}

EK_AVX2_INLINE void rows_q45_K(const bool five, int64_t n, const void *restrict w, size_t w_stride, const int nw,
                               const void *restrict x, float *restrict s) {
    const size_t bs = five ? sizeof(ek_block_q5_K) : sizeof(ek_block_q4_K);
    const int64_t nb = n / EK_QK_K;
    const size_t row_bytes = (size_t)nb * bs;
    const __m256i m4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m256 sums[EK_TILE_ROWS];
    __m128 msum = _mm_setzero_ps();   // lane r: row r's min terms
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        __m256i yv[8];
        EK_UNROLL for (int k = 0; k < 8; ++k) yv[k] = lane_pairs(load256(y[i].qs + 32 * k));
        const __m128i pairs = _mm_hadd_epi16(load128(y[i].bsums), load128(y[i].bsums + 8));
        const float dx = y[i].d;
        __m128i mm[EK_TILE_ROWS];   // per row: mins times the groups' activation sums, four partial totals
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) mm[r] = _mm_setzero_si128();
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        EK_UNROLL for (int r = 0; r < nw; ++r) {
            const uint8_t *blk = rw[r] + pos;
            const ek_block_q4_K *b4 = (const ek_block_q4_K *)blk;   // d, dmin, scales: same offsets in Q5_K
            const uint8_t *qs = five ? ((const ek_block_q5_K *)blk)->qs : b4->qs;
            const __m128i sm = k4_scales_mins(b4->scales);
            const __m128i sc16 = _mm_cvtepu8_epi16(sm);
            const __m256i sc = _mm256_set_m128i(sc16, sc16);
            mm[r] = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm)), pairs);
            const __m256i qh = five ? lane_pairs(load256(((const ek_block_q5_K *)blk)->qh)) : _mm256_setzero_si256();
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int c = 0; c < 4; ++c) {
                const __m256i raw = lane_pairs(load256(qs + 32 * c));
                __m256i q0 = _mm256_and_si256(raw, m4), q1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                if (five) {   // as dot_q45_K
                    const int s0 = 2 * c, s1 = 2 * c + 1;
                    const __m256i h0 = s0 <= 4 ? _mm256_slli_epi16(qh, 4 - s0) : _mm256_srli_epi16(qh, s0 - 4);
                    const __m256i h1 = s1 <= 4 ? _mm256_slli_epi16(qh, 4 - s1) : _mm256_srli_epi16(qh, s1 - 4);
                    q0 = _mm256_or_si256(q0, _mm256_and_si256(h0, bit4));
                    q1 = _mm256_or_si256(q1, _mm256_and_si256(h1, bit4));
                }
                lanes_acc(_mm256_maddubs_epi16(q0, yv[2 * c]), _mm256_maddubs_epi16(q1, yv[2 * c + 1]), scales_g32(sc, c),
                          &acc_lo, &acc_hi);
            }
            sums[r] = lanes_scale(sums[r], lanes_fold(acc_lo, acc_hi), h2f(b4->d) * dx);
        }
        // the rows' min terms at once: msum -= (dmin * dx) * summs, each lane as vec_dot's scalar
        const __m128 summs = _mm_cvtepi32_ps(sum4x4_epi32_128(mm[0], mm[1], mm[2], mm[3]));
        const __m128 mw = h2f_rows4(rw, pos + offsetof(ek_block_q4_K, dmin));
        msum = _mm_sub_ps(msum, _mm_mul_ps(_mm_mul_ps(mw, _mm_set1_ps(dx)), summs));
    }
    float m[EK_TILE_ROWS], out[EK_TILE_ROWS];
    _mm_storeu_ps(m, msum);
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) out[r] = fold_sums(m[r], sums[r]);
    store_rows(s, out, nw);
}

EK_AVX2_INLINE void rows_q6_K(int64_t n, const void *restrict w, size_t w_stride, const int nw, const void *restrict x,
                              float *restrict s) {
    const int64_t nb = n / EK_QK_K;
    const size_t bs = sizeof(ek_block_q6_K), row_bytes = (size_t)nb * bs;
    const __m256i m4 = _mm256_set1_epi8(0x0f), mhi = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m256 sums[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        __m256i yv[8], y32[8];
        EK_UNROLL for (int k = 0; k < 8; ++k) {
            yv[k] = lane_pairs(load256(y[i].qs + 32 * k));
            y32[k] = _mm256_maddubs_epi16(k32, yv[k]);
        }
        const float dx = y[i].d;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        EK_UNROLL for (int r = 0; r < nw; ++r) {
            const ek_block_q6_K *a = (const ek_block_q6_K *)(rw[r] + pos);
            __m256i sc[2];
            scales16(load128(a->scales), &sc[0], &sc[1]);
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {   // codes as dot_q6_K
                const __m256i l0 = lane_pairs(load256(a->ql + 64 * h)), l1 = lane_pairs(load256(a->ql + 64 * h + 32));
                const __m256i hb = lane_pairs(load256(a->qh + 32 * h));
                __m256i q[4], p[4];
                q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), mhi));
                q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), mhi));
                q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, mhi));
                q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), mhi));
                EK_UNROLL for (int k = 0; k < 4; ++k) p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], yv[4 * h + k]), y32[4 * h + k]);
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[r] = lanes_scale(sums[r], lanes_fold(acc_lo, acc_hi), h2f(a->d) * dx);
        }
    }
    float out[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) out[r] = fold_sums(0.0f, sums[r]);
    store_rows(s, out, nw);
}

// Q2_K: the rows' integer totals and min totals are reduced together, and their float terms added
// lane by lane, each lane as vec_dot's scalar sum += dall * isum - dmin * summs.
EK_AVX2_INLINE void rows_q2_K(int64_t n, const void *restrict w, size_t w_stride, const int nw, const void *restrict x,
                              float *restrict s) {
    const int64_t nb = n / EK_QK_K;
    const size_t bs = sizeof(ek_block_q2_K), row_bytes = (size_t)nb * bs;
    const __m256i m3 = _mm256_set1_epi8(3);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m128 sum = _mm_setzero_ps();   // lane r: row r's sum
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        const __m256i bsums = load256(y[i].bsums);
        __m256i acc[EK_TILE_ROWS], macc[EK_TILE_ROWS];
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) acc[r] = macc[r] = _mm256_setzero_si256();
        EK_UNROLL for (int r = 0; r < nw; ++r) {   // as dot_q2_K
            const ek_block_q2_K *a = (const ek_block_q2_K *)(rw[r] + pos);
            const __m128i packed = load128(a->scales);
            macc[r] = _mm256_madd_epi16(bsums, _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f))));
            __m256i slo, shi;
            scales16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), &slo, &shi);
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                const __m256i raw = load256(a->qs + 32 * h), sc = h ? shi : slo;
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const __m256i q = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * k), m3);
                    const __m256i sk = _mm256_shuffle_epi8(sc, _mm256_set_m128i(_mm_set1_epi16((short)((4 * k + 3) << 8 | (4 * k + 2))),
                                                                                _mm_set1_epi16((short)((4 * k + 1) << 8 | (4 * k)))));
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(y[i].qs + 128 * h + 32 * k)), sk));
                }
            }
        }
        const __m256i ti = sum4x4_epi32(acc[0], acc[1], acc[2], acc[3]), tm = sum4x4_epi32(macc[0], macc[1], macc[2], macc[3]);
        const __m128 isum = _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(ti), _mm256_extracti128_si256(ti, 1)));
        const __m128 summs = _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(tm), _mm256_extracti128_si256(tm, 1)));
        const __m128 dx = _mm_set1_ps(y[i].d);
        const __m128 dall = _mm_mul_ps(dx, h2f_rows4(rw, pos + offsetof(ek_block_q2_K, d)));
        const __m128 dmin = _mm_mul_ps(dx, h2f_rows4(rw, pos + offsetof(ek_block_q2_K, dmin)));
        sum = _mm_add_ps(sum, _mm_sub_ps(_mm_mul_ps(dall, isum), _mm_mul_ps(dmin, summs)));
    }
    float out[EK_TILE_ROWS];
    _mm_storeu_ps(out, sum);
    store_rows(s, out, nw);
}

EK_AVX2_INLINE void rows_q3_K(int64_t n, const void *restrict w, size_t w_stride, const int nw, const void *restrict x,
                              float *restrict s) {
    const int64_t nb = n / EK_QK_K;
    const size_t bs = sizeof(ek_block_q3_K), row_bytes = (size_t)nb * bs;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m256 sums[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        __m256i yv[8];
        EK_UNROLL for (int k = 0; k < 8; ++k) yv[k] = lane_pairs(load256(y[i].qs + 32 * k));
        const float dx = y[i].d;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        EK_UNROLL for (int r = 0; r < nw; ++r) {   // as dot_q3_K
            const ek_block_q3_K *a = (const ek_block_q3_K *)(rw[r] + pos);
            __m256i sc[2];
            scales16(q3_K_scales(a->scales), &sc[0], &sc[1]);
            const __m256i nh = _mm256_xor_si256(lane_pairs(load256(a->hmask)), _mm256_set1_epi8(-1));
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                const __m256i q = lane_pairs(load256(a->qs + 32 * h));
                __m256i p[4];
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const int bit = 4 * h + k;
                    const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
                    const __m256i hb = bit >= 2 ? _mm256_srli_epi16(nh, bit - 2) : _mm256_slli_epi16(nh, 2 - bit);
                    const __m256i h4 = _mm256_and_si256(hb, four);
                    p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, yv[4 * h + k]), _mm256_maddubs_epi16(h4, yv[4 * h + k]));
                }
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[r] = lanes_scale(sums[r], lanes_fold(acc_lo, acc_hi), h2f(a->d) * dx);
        }
    }
    float out[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) out[r] = fold_sums(0.0f, sums[r]);
    store_rows(s, out, nw);
}

#define EK_Q4_K_ROWS(n, w, stride, nw, x, s) rows_q45_K(false, n, w, stride, nw, x, s)
#define EK_Q5_K_ROWS(n, w, stride, nw, x, s) rows_q45_K(true, n, w, stride, nw, x, s)

// Full tiles get their own copy, whose row loops unroll.
#define EK_K_ROWS(name, fn)                                                                                 \
    EK_AVX2 static void vec_dot_rows_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,      \
                                            const void *restrict x, float *restrict s) {                    \
        if (nw == EK_TILE_ROWS) fn(n, w, w_stride, EK_TILE_ROWS, x, s);                                     \
        else fn(n, w, w_stride, nw, x, s);                                                                  \
    }

EK_K_ROWS(q2_K_q8_K, rows_q2_K)
EK_K_ROWS(q3_K_q8_K, rows_q3_K)
EK_K_ROWS(q4_K_q8_K, EK_Q4_K_ROWS)
EK_K_ROWS(q5_K_q8_K, EK_Q5_K_ROWS)
EK_K_ROWS(q6_K_q8_K, rows_q6_K)


void ek_patch_avx2_k(ek_type_traits *types) {
#define EK_SET(type, name)                                                                          \
    types[type].vec_dot = vec_dot_##name, types[type].vec_dot_tile = vec_dot_tile_##name,           \
    types[type].vec_dot_rows = vec_dot_rows_##name
    EK_SET(EK_Q2_K, q2_K_q8_K);
    EK_SET(EK_Q3_K, q3_K_q8_K);
    EK_SET(EK_Q4_K, q4_K_q8_K);
    EK_SET(EK_Q5_K, q5_K_q8_K);
    EK_SET(EK_Q6_K, q6_K_q8_K);
#undef EK_SET
}
#endif
