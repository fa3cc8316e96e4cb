// AVX-512 (F, BW, VL, VNNI) kernels. Compiled into every x86-64 build with function-level target
// attributes; only run when cpuid reports the features. Entries not specialised here fall back
// to the AVX2 ones.
//
// Every result is bit-identical to the scalar twin's. The integer sums are exact whatever their
// order; the float work then repeats the twin's operations in the twin's order, unfused.
//  - 32-element blocks: the AVX2 decode-span and prompt kernels rebuilt with VPDPBUSD
//    (avx512_b32_block.c). Their vec_dot and row tiles stay AVX2: 64-byte versions of them measured
//    1.2-1.5x slower on Zen 4 (two blocks per vector need more folding, and they lacked the row
//    tiles' prefetch and lane-layout sums), as did a 64-byte Q4_K.
//  - Q6_K: the twins keep eight integer lanes (element index mod 8) per super-block. Weights and
//    activations are shuffled alike so that each byte pair holds elements e and e+8; VPMADDUBSW
//    sums the pairs, and interleaving two such vectors before VPDPWSSD (which multiplies by the
//    sub-block scales) keeps every int32 lane within one residue class. The codes are read as
//    unsigned codes plus an offset of 32, whose products with the activations are subtracted in the
//    integers. vec_dot, the token tile and the row tile run the same code (each side's blocks
//    decoded once per group), so they agree bit for bit.
#if defined(__x86_64__)
#include "../dispatch.h"
#include <immintrin.h>
#include <string.h>

#define EK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define EK512_INLINE static inline __attribute__((always_inline)) EK_AVX512

// ---- helpers -------------------------------------------------------------------------------

// A product rounded on its own before it is added: the scalar twins never fuse, and with FMA
// enabled here a compiler allowed to contract (-ffp-contract=fast, GCC's default) would.
EK512_INLINE __m256 ek512_rounded(__m256 v) { __asm__("" : "+x"(v)); return v; }

EK512_INLINE float ek512_h2f(ek_fp16 h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

// ---- Q6_K ----------------------------------------------------------------------------------

// Within every 128-bit lane, byte pair i takes elements i and i + 8 (the same residue mod 8).
EK512_INLINE __m512i ek512_pair_residues(__m512i v) {
    const __m512i order = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
    return _mm512_shuffle_epi8(v, order);
}

// Integer lanes of a super-block as the twins define them: lane l sums scale * q * x over the
// elements with index mod 8 == l. m0..m3 are VPMADDUBSW pair sums of residue-paired vectors (int16
// i of every 128-bit lane holds residue i); s01 and s23 the scales of m0/m1 and m2/m3, interleaved
// like the pairs (even int16: m0 or m2, odd: m1 or m3).
EK512_INLINE __m256i ek512_residue_lanes(__m512i m0, __m512i m1, __m512i m2, __m512i m3, __m512i s01, __m512i s23) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i lo = _mm512_dpwssd_epi32(zero, _mm512_unpacklo_epi16(m0, m1), s01);   // residues 0..3
    __m512i hi = _mm512_dpwssd_epi32(zero, _mm512_unpackhi_epi16(m0, m1), s01);   // residues 4..7
    lo = _mm512_dpwssd_epi32(lo, _mm512_unpacklo_epi16(m2, m3), s23);
    hi = _mm512_dpwssd_epi32(hi, _mm512_unpackhi_epi16(m2, m3), s23);
    const __m256i l = _mm256_add_epi32(_mm512_castsi512_si256(lo), _mm512_extracti64x4_epi64(lo, 1));
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(hi), _mm512_extracti64x4_epi64(hi, 1));
    return _mm256_add_epi32(_mm256_permute2x128_si256(l, h, 0x20), _mm256_permute2x128_si256(l, h, 0x31));
}

// sums[l] += d * lanes[l], unfused, as the twins do.
EK512_INLINE __m256 ek512_add_lanes(__m256 sums, float d, __m256i lanes) {
    return _mm256_add_ps(sums, ek512_rounded(_mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes))));
}

// The twins' final sum: the running sum plus lane 0, lane 1, ... lane 7.
EK512_INLINE float ek512_add_sums(float sum, __m256 sums) {
    float l[8];
    _mm256_storeu_ps(l, sums);
    for (int k = 0; k < 8; ++k) sum += l[k];
    return sum;
}

// A Q8_K activation block: its bytes paired by residue, and 32 times their pair sums (the codes'
// offset).
typedef struct { __m512i x0, x1, x2, x3, o0, o1, o2, o3; float d; } ek512_x256;

EK512_INLINE ek512_x256 ek512_load_q8_K(const ek_block_q8_K *b) {
    ek512_x256 a;
    a.x0 = ek512_pair_residues(_mm512_loadu_si512(b->qs));
    a.x1 = ek512_pair_residues(_mm512_loadu_si512(b->qs + 64));
    a.x2 = ek512_pair_residues(_mm512_loadu_si512(b->qs + 128));
    a.x3 = ek512_pair_residues(_mm512_loadu_si512(b->qs + 192));
    const __m512i off = _mm512_set1_epi8(32);
    a.o0 = _mm512_maddubs_epi16(off, a.x0);
    a.o1 = _mm512_maddubs_epi16(off, a.x1);
    a.o2 = _mm512_maddubs_epi16(off, a.x2);
    a.o3 = _mm512_maddubs_epi16(off, a.x3);
    a.d = b->d;
    return a;
}

// A Q6_K super-block, decoded once for every token or row it meets.
typedef struct { __m512i q0, q1, q2, q3, s01, s23; float d; } ek512_q6_K_w;

EK512_INLINE ek512_q6_K_w ek512_load_q6_K(const ek_block_q6_K *a) {
    ek512_q6_K_w k;
    const __m512i scales = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales)));
    // Vector v holds elements 64v..64v+63: its 128-bit lane L is sub-block 4v + L.
    const __m512i index01 = _mm512_set_epi16(7, 3, 7, 3, 7, 3, 7, 3, 6, 2, 6, 2, 6, 2, 6, 2,    // int16 31..16
                                             5, 1, 5, 1, 5, 1, 5, 1, 4, 0, 4, 0, 4, 0, 4, 0);  // int16 15..0
    k.s01 = _mm512_permutexvar_epi16(index01, scales);
    k.s23 = _mm512_permutexvar_epi16(_mm512_add_epi16(index01, _mm512_set1_epi16(8)), scales);
    const __m512i low4 = _mm512_set1_epi8(0x0f), top2 = _mm512_set1_epi8(0x30);
    __m512i q[4];
    for (int h = 0; h < 2; ++h) {
        // Elements 128h + 0..63: low nibbles of ql with bits 0-1 (first 32) and 2-3 (next 32) of qh;
        // elements 128h + 64..127: high nibbles of ql with bits 4-5 and 6-7.
        const __m512i ql = _mm512_loadu_si512(a->ql + 64 * h);
        __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a->qh + 32 * h)));
        qh = _mm512_mask_srli_epi16(qh, 0xffff0000u, qh, 2);   // qh, qh >> 2
        q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, low4), _mm512_and_si512(_mm512_slli_epi16(qh, 4), top2));
        q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), _mm512_and_si512(qh, top2));
    }
    k.q0 = ek512_pair_residues(q[0]); k.q1 = ek512_pair_residues(q[1]);
    k.q2 = ek512_pair_residues(q[2]); k.q3 = ek512_pair_residues(q[3]);
    k.d = ek512_h2f(a->d);
    return k;
}

// One super-block of one row sum: sums[l] += d * lanes[l]. Pair sums of (q - 32) * x: |sum| <=
// 2 * 32 * 128 (2 * 63 * 128 before the offset) fit int16.
EK512_INLINE __m256 ek512_q6_K_dot(const ek512_q6_K_w *k, const ek512_x256 *x, __m256 sums) {
    const __m256i lanes = ek512_residue_lanes(_mm512_sub_epi16(_mm512_maddubs_epi16(k->q0, x->x0), x->o0),
                                              _mm512_sub_epi16(_mm512_maddubs_epi16(k->q1, x->x1), x->o1),
                                              _mm512_sub_epi16(_mm512_maddubs_epi16(k->q2, x->x2), x->o2),
                                              _mm512_sub_epi16(_mm512_maddubs_epi16(k->q3, x->x3), x->o3),
                                              k->s01, k->s23);
    return ek512_add_lanes(sums, k->d * x->d, lanes);
}

// Dot products of nw weight rows with nx activation rows (one of them 1), into s[0..<nw*nx]; the
// super-blocks of each side are decoded once.
EK512_INLINE void ek512_dot_q6_K(int64_t n, const void *restrict w, size_t w_stride, int nw,
                                 const void *restrict x, size_t x_stride, int nx, float *restrict s) {
    const uint8_t *wp = w, *xp = x;
    const int count = nw == 1 ? nx : nw;
    __m256 sums[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const uint8_t *wi = wp + (size_t)i * sizeof(ek_block_q6_K);
        if (nw == 1) {   // one row's super-block with each token's
            const ek512_q6_K_w w6 = ek512_load_q6_K((const ek_block_q6_K *)wi);
            for (int k = 0; k < nx; ++k) {
                const ek512_x256 xa = ek512_load_q8_K((const ek_block_q8_K *)(xp + (size_t)k * x_stride) + i);
                sums[k] = ek512_q6_K_dot(&w6, &xa, sums[k]);
            }
        } else {         // each row's super-block with the token's
            const ek512_x256 xa = ek512_load_q8_K((const ek_block_q8_K *)xp + i);
            for (int k = 0; k < nw; ++k) {
                const ek512_q6_K_w w6 = ek512_load_q6_K((const ek_block_q6_K *)(wi + (size_t)k * w_stride));
                sums[k] = ek512_q6_K_dot(&w6, &xa, sums[k]);
            }
        }
    }
    for (int k = 0; k < count; ++k) s[k] = ek512_add_sums(0.0f, sums[k]);
}

static EK_AVX512 float ek512_vec_dot_q6_K_q8_K(int64_t n, const void *restrict w, const void *restrict x) {
    float s;
    ek512_dot_q6_K(n, w, 0, 1, x, 0, 1, &s);
    return s;
}

static EK_AVX512 void ek512_vec_dot_tile_q6_K_q8_K(int64_t n, const void *restrict w, const void *restrict x,
                                                   size_t x_stride, int nx, float *restrict s) {
    ek512_dot_q6_K(n, w, 0, 1, x, x_stride, nx, s);
}

static EK_AVX512 void ek512_vec_dot_rows_q6_K_q8_K(int64_t n, const void *restrict w, size_t w_stride, int nw,
                                                   const void *restrict x, float *restrict s) {
    ek512_dot_q6_K(n, w, w_stride, nw, x, 0, 1, s);
}

// ---- patch ---------------------------------------------------------------------------------

const char *ek_patch_avx512(ek_type_traits *types, ek_op_kernels *ops) {
    ek_patch_avx2(types, ops);
    ek_patch_avx512_b32_block(types);
    ek_patch_avx512_b32_span(types);
    types[EK_Q6_K].vec_dot = ek512_vec_dot_q6_K_q8_K;
    types[EK_Q6_K].vec_dot_tile = ek512_vec_dot_tile_q6_K_q8_K;
    types[EK_Q6_K].vec_dot_rows = ek512_vec_dot_rows_q6_K_q8_K;
    return "avx512";
}
#endif
