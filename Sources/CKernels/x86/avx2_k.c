// AVX2 kernels for the 256-element super-block types (Q2_K...Q6_K): vec_dot and token tiles.
#if defined(__x86_64__)
#include "avx2_k.h"

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

void ek_patch_avx2_k(ek_type_traits *types) {
#define EK_SET(type, name) types[type].vec_dot = vec_dot_##name, types[type].vec_dot_tile = vec_dot_tile_##name
    EK_SET(EK_Q2_K, q2_K_q8_K);
    EK_SET(EK_Q3_K, q3_K_q8_K);
    EK_SET(EK_Q4_K, q4_K_q8_K);
    EK_SET(EK_Q5_K, q5_K_q8_K);
    EK_SET(EK_Q6_K, q6_K_q8_K);
#undef EK_SET
    ek_patch_avx2_k_rows(types);
}
#endif
