// AVX-512 (F, BW, VL, VNNI) kernels. Compiled into every x86-64 build with function-level target
// attributes; only run when cpuid reports the features. Entries not specialised here fall back
// to the AVX2 ones.
//
// Every result is bit-identical to the scalar twin's. The integer sums are exact whatever their
// order, so they are taken 64 bytes at a time; the float work then repeats the twin's operations
// in the twin's order, unfused:
//  - 32-element blocks: VPDPBUSD (unsigned x signed bytes, four products per int32 lane) on two
//    blocks per vector, each block's lanes summed, eight blocks' float terms computed lane-wise with
//    the twin's expression, then added to the row sum one block after the other.
//  - K types: the twins keep eight integer lanes (element index mod 8) per super-block. Weights and
//    activations are shuffled alike so that each byte pair holds elements e and e+8; VPMADDUBSW
//    sums the pairs, and interleaving two such vectors before VPDPWSSD (which multiplies by the
//    sub-block scales) keeps every int32 lane within one residue class.
// Signed codes are read as unsigned codes plus an offset; the offset times the activations is
// subtracted in the integers. vec_dot, the token tile and the row tile of a type run the same code
// (each side's blocks decoded once per group), so they agree bit for bit.
#if defined(__x86_64__)
#include "../dispatch.h"
#include <immintrin.h>
#include <string.h>

// A build that emulates the intrinsics on a CPU without AVX-512 (to check these kernels there)
// defines EK_AVX512 away.
#ifndef EK_AVX512
#define EK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#endif
#define EK512_INLINE static inline __attribute__((always_inline)) EK_AVX512

// ---- helpers -------------------------------------------------------------------------------

EK512_INLINE uint32_t ek512_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

// A product rounded on its own before it is added: the scalar twins never fuse, and with FMA
// enabled here a compiler allowed to contract (-ffp-contract=fast, GCC's default) would.
EK512_INLINE __m256 ek512_rounded(__m256 v) { __asm__("" : "+x"(v)); return v; }
EK512_INLINE float ek512_rounded_ss(float v) { __asm__("" : "+x"(v)); return v; }

EK512_INLINE float ek512_h2f(ek_fp16 h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

EK512_INLINE int32_t ek512_hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

// Two 32-byte runs as one vector.
EK512_INLINE __m512i ek512_load_pair(const void *p0, const void *p1) {
    const __m256i lo = _mm256_loadu_si256((const __m256i *)p0);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256((const __m256i *)p1), 1);
}

// The 4-bit codes of two 32-element blocks (16 bytes each: low nibbles are elements 0..15, high
// nibbles 16..31) as 64 bytes in element order.
EK512_INLINE __m512i ek512_nibbles_pair(const uint8_t *q0, const uint8_t *q1) {
    const __m128i a = _mm_loadu_si128((const __m128i *)q0), b = _mm_loadu_si128((const __m128i *)q1);
    __m512i v = _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1));
    v = _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(1, 1, 0, 0));     // a a b b
    v = _mm512_mask_srli_epi16(v, 0xff00ff00u, v, 4);             // high nibbles down in the copies
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0f));
}

// The first 32-bit word of eight blocks `stride` bytes apart (block indices j[0..7]): the block's
// f16 scale in the low half, the field after it in the high half.
EK512_INLINE __m256i ek512_heads8(const void *base, size_t stride, const int j[8]) {
    const uint8_t *p = base;
    return _mm256_setr_epi32((int)ek512_u32(p + (size_t)j[0] * stride), (int)ek512_u32(p + (size_t)j[1] * stride),
                             (int)ek512_u32(p + (size_t)j[2] * stride), (int)ek512_u32(p + (size_t)j[3] * stride),
                             (int)ek512_u32(p + (size_t)j[4] * stride), (int)ek512_u32(p + (size_t)j[5] * stride),
                             (int)ek512_u32(p + (size_t)j[6] * stride), (int)ek512_u32(p + (size_t)j[7] * stride));
}
EK512_INLINE __m256 ek512_head_lo(__m256i h) { return _mm256_cvtph_ps(_mm256_cvtepi32_epi16(h)); }
EK512_INLINE __m256 ek512_head_hi(__m256i h) {
    return _mm256_cvtph_ps(_mm256_cvtepi32_epi16(_mm256_srli_epi32(h, 16)));
}

// Sums of the eight int32 lanes of each of eight blocks, in block order, as floats (exact: every
// sum is below 2^24). v[k] holds block 2k in lanes 0..7 and block 2k+1 in lanes 8..15.
EK512_INLINE __m256 ek512_block_sums8(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
    // Per 128-bit lane: a = [v0 0+2, v1 0+2, v0 1+3, v1 1+3], likewise b for v2, v3.
    const __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    // Per 128-bit lane: the lane's sum of v0, v1, v2, v3.
    const __m512i c = _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
    // 128-bit lanes 0 and 2: blocks 0 2 4 6 and 1 3 5 7.
    const __m512i d = _mm512_add_epi32(c, _mm512_shuffle_i64x2(c, c, _MM_SHUFFLE(2, 3, 0, 1)));
    const __m512i order = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm256_cvtepi32_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi32(order, d)));
}

// ---- 32-element blocks: Q4_0, Q4_1, Q5_0, Q8_0 ---------------------------------------------

// Eight weight blocks decoded once for every token or row they meet: unsigned codes in element
// order, two blocks per vector; the scales d (and Q4_1's offsets m).
typedef struct { __m512i c0, c1, c2, c3; __m256 d, m; } ek512_w32;
// Eight activation blocks: the bytes, two blocks per vector; the codes' offset times them (per
// int32 lane); the scales d (and Q8_1's s).
typedef struct { __m512i x0, x1, x2, x3, o0, o1, o2, o3; __m256 d, s; } ek512_x32;

EK512_INLINE size_t ek512_wsize32(int type) {
    return type == EK_Q4_0 ? sizeof(ek_block_q4_0) : type == EK_Q4_1 ? sizeof(ek_block_q4_1)
         : type == EK_Q5_0 ? sizeof(ek_block_q5_0) : sizeof(ek_block_q8_0);
}

EK512_INLINE size_t ek512_xsize32(int type) { return type == EK_Q4_1 ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0); }

// What the unsigned codes exceed the signed values by.
EK512_INLINE int ek512_offset32(int type) {
    return type == EK_Q4_0 ? 8 : type == EK_Q5_0 ? 16 : type == EK_Q8_0 ? 128 : 0;
}

EK512_INLINE __m512i ek512_codes_pair(int type, const void *w, int j0, int j1) {
    if (type == EK_Q4_0) {
        const ek_block_q4_0 *a = w;
        return ek512_nibbles_pair(a[j0].qs, a[j1].qs);
    }
    if (type == EK_Q4_1) {
        const ek_block_q4_1 *a = w;
        return ek512_nibbles_pair(a[j0].qs, a[j1].qs);
    }
    if (type == EK_Q5_0) {
        const ek_block_q5_0 *a = w;
        const __mmask64 high = (__mmask64)ek512_u32(a[j0].qh) | (__mmask64)ek512_u32(a[j1].qh) << 32;
        const __m512i q = ek512_nibbles_pair(a[j0].qs, a[j1].qs);
        return _mm512_mask_add_epi8(q, high, q, _mm512_set1_epi8(16));   // bit 4 of element e = qh bit e
    }
    const ek_block_q8_0 *a = w;
    return _mm512_xor_si512(ek512_load_pair(a[j0].qs, a[j1].qs), _mm512_set1_epi8((char)0x80));   // w + 128
}

// Blocks j[0..7] of the weights starting at w.
EK512_INLINE ek512_w32 ek512_load_w32(int type, const void *w, const int j[8]) {
    ek512_w32 g;
    g.c0 = ek512_codes_pair(type, w, j[0], j[1]);
    g.c1 = ek512_codes_pair(type, w, j[2], j[3]);
    g.c2 = ek512_codes_pair(type, w, j[4], j[5]);
    g.c3 = ek512_codes_pair(type, w, j[6], j[7]);
    const __m256i heads = ek512_heads8(w, ek512_wsize32(type), j);
    g.d = ek512_head_lo(heads);
    g.m = type == EK_Q4_1 ? ek512_head_hi(heads) : _mm256_setzero_ps();
    return g;
}

// Blocks j[0..7] of the activations starting at x.
EK512_INLINE ek512_x32 ek512_load_x32(int type, const void *x, const int j[8]) {
    const size_t size = ek512_xsize32(type);
    const size_t qs_at = type == EK_Q4_1 ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const uint8_t *qs = (const uint8_t *)x + qs_at;
    ek512_x32 a;
    a.x0 = ek512_load_pair(qs + (size_t)j[0] * size, qs + (size_t)j[1] * size);
    a.x1 = ek512_load_pair(qs + (size_t)j[2] * size, qs + (size_t)j[3] * size);
    a.x2 = ek512_load_pair(qs + (size_t)j[4] * size, qs + (size_t)j[5] * size);
    a.x3 = ek512_load_pair(qs + (size_t)j[6] * size, qs + (size_t)j[7] * size);
    const __m512i zero = _mm512_setzero_si512(), off = _mm512_set1_epi8((char)ek512_offset32(type));
    const bool offset = ek512_offset32(type) != 0;
    a.o0 = offset ? _mm512_dpbusd_epi32(zero, off, a.x0) : zero;
    a.o1 = offset ? _mm512_dpbusd_epi32(zero, off, a.x1) : zero;
    a.o2 = offset ? _mm512_dpbusd_epi32(zero, off, a.x2) : zero;
    a.o3 = offset ? _mm512_dpbusd_epi32(zero, off, a.x3) : zero;
    const __m256i heads = ek512_heads8(x, size, j);
    a.d = ek512_head_lo(heads);
    a.s = type == EK_Q4_1 ? ek512_head_hi(heads) : _mm256_setzero_ps();
    return a;
}

// Per int32 lane: sum of (code - offset) * x over its four bytes, exactly.
EK512_INLINE __m512i ek512_lanes32(int type, __m512i codes, __m512i x, __m512i offset_dot) {
    const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, x);
    return ek512_offset32(type) != 0 ? _mm512_sub_epi32(dot, offset_dot) : dot;
}

// The float terms the scalar twin adds to its sum for eight blocks, each computed with the twin's
// expression.
EK512_INLINE __m256 ek512_terms32(int type, const ek512_w32 *w, const ek512_x32 *x) {
    const __m256 isum = ek512_block_sums8(ek512_lanes32(type, w->c0, x->x0, x->o0),
                                          ek512_lanes32(type, w->c1, x->x1, x->o1),
                                          ek512_lanes32(type, w->c2, x->x2, x->o2),
                                          ek512_lanes32(type, w->c3, x->x3, x->o3));
    switch (type) {
    case EK_Q4_0: return _mm256_mul_ps(_mm256_mul_ps(isum, w->d), x->d);                   // (isum * dw) * dx
    case EK_Q5_0: return _mm256_mul_ps(_mm256_mul_ps(w->d, x->d), isum);                   // (dw * dx) * isum
    case EK_Q4_1:                                                                           // (dw * dx) * isum + m * s
        return _mm256_add_ps(ek512_rounded(_mm256_mul_ps(_mm256_mul_ps(w->d, x->d), isum)),
                             ek512_rounded(_mm256_mul_ps(w->m, x->s)));
    default: return _mm256_mul_ps(isum, _mm256_mul_ps(w->d, x->d));                        // isum * (dw * dx)
    }
}

// One group of eight blocks (block indices j within the group; the first r count) for one weight
// row and nx activation rows, or nw weight rows and one activation row: every row sum adds its
// group's terms block after block.
EK512_INLINE void ek512_group32(int type, const uint8_t *w, size_t w_stride, int nw, const uint8_t *x, size_t x_stride,
                                int nx, const int j[8], int r, float sum[4]) {
    float t[4][8];
    int count;
    if (nw == 1) {
        const ek512_w32 wg = ek512_load_w32(type, w, j);
        for (int k = 0; k < nx; ++k) {
            const ek512_x32 xg = ek512_load_x32(type, x + (size_t)k * x_stride, j);
            _mm256_storeu_ps(t[k], ek512_terms32(type, &wg, &xg));
        }
        count = nx;
    } else {
        const ek512_x32 xg = ek512_load_x32(type, x, j);
        for (int k = 0; k < nw; ++k) {
            const ek512_w32 wg = ek512_load_w32(type, w + (size_t)k * w_stride, j);
            _mm256_storeu_ps(t[k], ek512_terms32(type, &wg, &xg));
        }
        count = nw;
    }
    float s0 = sum[0], s1 = sum[1], s2 = sum[2], s3 = sum[3];
    for (int k = 0; k < r; ++k) {   // the independent row sums interleave
        s0 += t[0][k];
        if (count > 1) s1 += t[1][k];
        if (count > 2) s2 += t[2][k];
        if (count > 3) s3 += t[3][k];
    }
    sum[0] = s0; sum[1] = s1; sum[2] = s2; sum[3] = s3;
}

// Dot products of nw weight rows (w_stride apart) with nx activation rows (x_stride apart), one
// of nw, nx being 1, into s[0..<nw*nx].
EK512_INLINE void ek512_dot32(int type, int64_t n, const void *restrict w, size_t w_stride, int nw,
                              const void *restrict x, size_t x_stride, int nx, float *restrict s) {
    static const int whole[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    const size_t wsize = ek512_wsize32(type), xsize = ek512_xsize32(type);
    const int64_t nb = n / 32;
    const uint8_t *wp = w, *xp = x;
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        ek512_group32(type, wp + i * wsize, w_stride, nw, xp + i * xsize, x_stride, nx, whole, 8, sum);
    }
    if (i < nb) {
        // The last blocks: past the row's end the last block stands in (its terms are not added).
        const int r = (int)(nb - i);
        int j[8];
        for (int k = 0; k < 8; ++k) j[k] = k < r ? k : r - 1;
        ek512_group32(type, wp + i * wsize, w_stride, nw, xp + i * xsize, x_stride, nx, j, r, sum);
    }
    const int count = nw == 1 ? nx : nw;
    s[0] = sum[0];
    if (count > 1) s[1] = sum[1];
    if (count > 2) s[2] = sum[2];
    if (count > 3) s[3] = sum[3];
}

#define EK512_DOT32(name, type)                                                                    \
    static EK_AVX512 float ek512_vec_dot_##name(int64_t n, const void *restrict w, const void *restrict x) { \
        float s;                                                                                   \
        ek512_dot32(type, n, w, 0, 1, x, 0, 1, &s);                                                \
        return s;                                                                                  \
    }                                                                                              \
    static EK_AVX512 void ek512_vec_dot_tile_##name(int64_t n, const void *restrict w, const void *restrict x, \
                                                    size_t x_stride, int nx, float *restrict s) {   \
        ek512_dot32(type, n, w, 0, 1, x, x_stride, nx, s);                                         \
    }                                                                                              \
    static EK_AVX512 void ek512_vec_dot_rows_##name(int64_t n, const void *restrict w, size_t w_stride, int nw, \
                                                    const void *restrict x, float *restrict s) {    \
        ek512_dot32(type, n, w, w_stride, nw, x, 0, 1, s);                                         \
    }

EK512_DOT32(q4_0_q8_0, EK_Q4_0)
EK512_DOT32(q4_1_q8_1, EK_Q4_1)
EK512_DOT32(q5_0_q8_0, EK_Q5_0)
EK512_DOT32(q8_0_q8_0, EK_Q8_0)

// ---- K types: Q4_K, Q6_K -------------------------------------------------------------------

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

// A Q8_K activation block: its bytes paired by residue; for Q6_K also 32 times their pair sums.
typedef struct { __m512i x0, x1, x2, x3, o0, o1, o2, o3; float d; const int16_t *bsums; } ek512_x256;

EK512_INLINE ek512_x256 ek512_load_q8_K(const ek_block_q8_K *b, bool offsets) {
    ek512_x256 a;
    a.x0 = ek512_pair_residues(_mm512_loadu_si512(b->qs));
    a.x1 = ek512_pair_residues(_mm512_loadu_si512(b->qs + 64));
    a.x2 = ek512_pair_residues(_mm512_loadu_si512(b->qs + 128));
    a.x3 = ek512_pair_residues(_mm512_loadu_si512(b->qs + 192));
    const __m512i zero = _mm512_setzero_si512(), off = _mm512_set1_epi8(32);
    a.o0 = offsets ? _mm512_maddubs_epi16(off, a.x0) : zero;
    a.o1 = offsets ? _mm512_maddubs_epi16(off, a.x1) : zero;
    a.o2 = offsets ? _mm512_maddubs_epi16(off, a.x2) : zero;
    a.o3 = offsets ? _mm512_maddubs_epi16(off, a.x3) : zero;
    a.d = b->d;
    a.bsums = b->bsums;
    return a;
}

// A Q4_K super-block, decoded once for every token or row it meets.
typedef struct { __m512i q0, q1, q2, q3, s01, s23; __m256i mins; float d, dmin; } ek512_q4_K_w;

EK512_INLINE ek512_q4_K_w ek512_load_q4_K(const ek_block_q4_K *a) {
    ek512_q4_K_w k;
    // The eight 6-bit scales and mins, as bytes sc[0..7] mn[0..7].
    const uint32_t u0 = ek512_u32(a->scales), u1 = ek512_u32(a->scales + 4), u2 = ek512_u32(a->scales + 8);
    const uint32_t sc_lo = u0 & 0x3f3f3f3fu, mn_lo = u1 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | ((u0 >> 2) & 0x30303030u);
    const uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 2) & 0x30303030u);
    const __m128i scmn = _mm_set_epi32((int)mn_hi, (int)mn_lo, (int)sc_hi, (int)sc_lo);
    const __m512i scales = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(scmn));   // int16 lanes 0..7 used
    // Vector c holds elements 64c..64c+63: its 128-bit lane L lies in sub-block 2c + L/2.
    const __m512i index01 = _mm512_set_epi16(3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1,    // int16 31..16
                                             2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0);  // int16 15..0
    k.s01 = _mm512_permutexvar_epi16(index01, scales);
    k.s23 = _mm512_permutexvar_epi16(_mm512_add_epi16(index01, _mm512_set1_epi16(4)), scales);
    k.mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scmn, scmn));   // mn0 mn0 mn1 mn1 ... (per bsum)
    __m512i q[4];
    for (int c = 0; c < 4; ++c) {   // each 32-byte run: low nibbles, then high nibbles
        const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a->qs + 32 * c)));
        const __m512i nibbles = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xffff0000u, v, 4), _mm512_set1_epi8(0x0f));
        q[c] = ek512_pair_residues(nibbles);
    }
    k.q0 = q[0]; k.q1 = q[1]; k.q2 = q[2]; k.q3 = q[3];
    k.d = ek512_h2f(a->d);
    k.dmin = ek512_h2f(a->dmin);
    return k;
}

// One super-block of one row sum: sums[l] += d * lanes[l]; sum -= dmin * summs.
EK512_INLINE void ek512_q4_K_dot(const ek512_q4_K_w *k, const ek512_x256 *x, __m256 *sums, float *sum) {
    // |pair sums| <= 2 * 15 * 128: VPMADDUBSW never saturates.
    const __m256i lanes = ek512_residue_lanes(_mm512_maddubs_epi16(k->q0, x->x0), _mm512_maddubs_epi16(k->q1, x->x1),
                                              _mm512_maddubs_epi16(k->q2, x->x2), _mm512_maddubs_epi16(k->q3, x->x3),
                                              k->s01, k->s23);
    const int32_t summs = ek512_hsum_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->bsums), k->mins));
    *sums = ek512_add_lanes(*sums, k->d * x->d, lanes);
    *sum -= ek512_rounded_ss((k->dmin * x->d) * (float)summs);
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
EK512_INLINE void ek512_dot_K(int type, int64_t n, const void *restrict w, size_t w_stride, int nw,
                              const void *restrict x, size_t x_stride, int nx, float *restrict s) {
    const size_t wsize = type == EK_Q4_K ? sizeof(ek_block_q4_K) : sizeof(ek_block_q6_K);
    const uint8_t *wp = w, *xp = x;
    const int count = nw == 1 ? nx : nw;
    __m256 sums[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    float sum[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const uint8_t *wi = wp + (size_t)i * wsize;
        if (nw == 1) {   // one row's super-block with each token's
            const ek512_q4_K_w w4 = type == EK_Q4_K ? ek512_load_q4_K((const ek_block_q4_K *)wi) : (ek512_q4_K_w){0};
            const ek512_q6_K_w w6 = type == EK_Q6_K ? ek512_load_q6_K((const ek_block_q6_K *)wi) : (ek512_q6_K_w){0};
            for (int k = 0; k < nx; ++k) {
                const ek_block_q8_K *xk = (const ek_block_q8_K *)(xp + (size_t)k * x_stride) + i;
                const ek512_x256 xa = ek512_load_q8_K(xk, type == EK_Q6_K);
                if (type == EK_Q4_K) ek512_q4_K_dot(&w4, &xa, &sums[k], &sum[k]);
                else sums[k] = ek512_q6_K_dot(&w6, &xa, sums[k]);
            }
        } else {         // each row's super-block with the token's
            const ek512_x256 xa = ek512_load_q8_K((const ek_block_q8_K *)xp + i, type == EK_Q6_K);
            for (int k = 0; k < nw; ++k) {
                if (type == EK_Q4_K) {
                    const ek512_q4_K_w w4 = ek512_load_q4_K((const ek_block_q4_K *)(wi + (size_t)k * w_stride));
                    ek512_q4_K_dot(&w4, &xa, &sums[k], &sum[k]);
                } else {
                    const ek512_q6_K_w w6 = ek512_load_q6_K((const ek_block_q6_K *)(wi + (size_t)k * w_stride));
                    sums[k] = ek512_q6_K_dot(&w6, &xa, sums[k]);
                }
            }
        }
    }
    for (int k = 0; k < count; ++k) s[k] = ek512_add_sums(sum[k], sums[k]);
}

#define EK512_DOT_K(name, type)                                                                    \
    static EK_AVX512 float ek512_vec_dot_##name(int64_t n, const void *restrict w, const void *restrict x) { \
        float s;                                                                                   \
        ek512_dot_K(type, n, w, 0, 1, x, 0, 1, &s);                                                \
        return s;                                                                                  \
    }                                                                                              \
    static EK_AVX512 void ek512_vec_dot_tile_##name(int64_t n, const void *restrict w, const void *restrict x, \
                                                    size_t x_stride, int nx, float *restrict s) {   \
        ek512_dot_K(type, n, w, 0, 1, x, x_stride, nx, s);                                         \
    }                                                                                              \
    static EK_AVX512 void ek512_vec_dot_rows_##name(int64_t n, const void *restrict w, size_t w_stride, int nw, \
                                                    const void *restrict x, float *restrict s) {    \
        ek512_dot_K(type, n, w, w_stride, nw, x, 0, 1, s);                                         \
    }

EK512_DOT_K(q4_K_q8_K, EK_Q4_K)
EK512_DOT_K(q6_K_q8_K, EK_Q6_K)

// ---- patch ---------------------------------------------------------------------------------

#define EK512_SET(type, name)                                                                      \
    (types[type].vec_dot = ek512_vec_dot_##name, types[type].vec_dot_tile = ek512_vec_dot_tile_##name, \
     types[type].vec_dot_rows = ek512_vec_dot_rows_##name)

const char *ek_patch_avx512(ek_type_traits *types, ek_op_kernels *ops) {
    ek_patch_avx2(types, ops);
    EK512_SET(EK_Q4_0, q4_0_q8_0);
    EK512_SET(EK_Q4_1, q4_1_q8_1);
    EK512_SET(EK_Q5_0, q5_0_q8_0);
    EK512_SET(EK_Q8_0, q8_0_q8_0);
    EK512_SET(EK_Q4_K, q4_K_q8_K);
    EK512_SET(EK_Q6_K, q6_K_q8_K);
    return "avx512";
}
#endif
