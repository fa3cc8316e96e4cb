// Q3_K: super-block of 256 = 16 sub-blocks of 16 with signed 6-bit scales (stored biased by 32).
// q = 2 low bits from qs (32-byte runs, shifts 0/2/4/6) minus 4 unless the element's hmask bit is
// set; value = d * (scale - 32) * q.
#include "generic.h"

static inline void ek_q3_K_codes(const ek_block_q3_K *restrict x, int8_t a[EK_QK_K]) {
    for (int half = 0; half < 2; ++half) {
        const uint8_t *restrict q = x->qs + 32 * half;
        for (int s = 0; s < 4; ++s) {
            const int bit = 4 * half + s;   // hmask bit for this 32-element slice
            for (int l = 0; l < 32; ++l) {
                const int lo = (q[l] >> (2 * s)) & 3;
                const int hi = (x->hmask[l] >> bit) & 1;
                a[128 * half + 32 * s + l] = (int8_t)(lo - 4 + 4 * hi);
            }
        }
    }
}

// Scales: low nibbles in bytes 0..7 (sub-blocks 0..7 then 8..15 in the high nibbles), top 2 bits
// in bytes 8..11 at shift 2 * (j / 4).
static inline void ek_q3_K_scales(const uint8_t *restrict s, int32_t sc[16]) {
    for (int j = 0; j < 16; ++j) {
        const int lo = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
        const int hi = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        sc[j] = (lo | (hi << 4)) - 32;
    }
}

void ek_dequantize_row_q3_K_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q3_K *restrict x = src;
    int8_t a[EK_QK_K];
    int32_t sc[16];
    for (int64_t b = 0; b < n / EK_QK_K; ++b, dst += EK_QK_K) {
        const float d = ek_h2f(x[b].d);
        ek_q3_K_codes(&x[b], a);
        ek_q3_K_scales(x[b].scales, sc);
        for (int g = 0; g < 16; ++g) {
            const float dl = d * (float)sc[g];
            for (int l = 0; l < 16; ++l) dst[16 * g + l] = dl * (float)a[16 * g + l];
        }
    }
}

float ek_vec_dot_q3_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q3_K *restrict a = w;
    const ek_block_q8_K *restrict b = x;
    int8_t q[EK_QK_K];
    int32_t sc[16], lanes[8];
    float sums[8] = {0};
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_q3_K_codes(&a[i], q);
        ek_q3_K_scales(a[i].scales, sc);
        ek_k_lane_dot(q, b[i].qs, sc, 16, lanes);
        const float d = ek_h2f(a[i].d) * b[i].d;
        for (int l = 0; l < 8; ++l) sums[l] += d * (float)lanes[l];
    }
    float sum = 0.0f;
    for (int l = 0; l < 8; ++l) sum += sums[l];
    return sum;
}
