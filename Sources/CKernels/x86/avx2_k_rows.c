// AVX2 row tiles for the 256-element super-block types (Q2_K...Q6_K): decode steps.
#if defined(__x86_64__)
#include "avx2_k.h"

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

void ek_patch_avx2_k_rows(ek_type_traits *types) {
    types[EK_Q2_K].vec_dot_rows = vec_dot_rows_q2_K_q8_K;
    types[EK_Q3_K].vec_dot_rows = vec_dot_rows_q3_K_q8_K;
    types[EK_Q4_K].vec_dot_rows = vec_dot_rows_q4_K_q8_K;
    types[EK_Q5_K].vec_dot_rows = vec_dot_rows_q5_K_q8_K;
    types[EK_Q6_K].vec_dot_rows = vec_dot_rows_q6_K_q8_K;
}
#endif
