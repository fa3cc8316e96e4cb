// Q5_K: Q4_K plus a fifth bit per element from qh: for the 64-element chunk c, bit 2c of qh[l]
// belongs to the low-nibble element l and bit 2c+1 to the high-nibble element 32+l.
#include "generic.h"

static inline void ek_q5_K_codes(const ek_block_q5_K *restrict x, int8_t a[EK_QK_K]) {
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int h0 = (x->qh[l] >> (2 * c)) & 1;
            const int h1 = (x->qh[l] >> (2 * c + 1)) & 1;
            a[64 * c + l] = (int8_t)((x->qs[32 * c + l] & 0x0f) | (h0 << 4));
            a[64 * c + 32 + l] = (int8_t)((x->qs[32 * c + l] >> 4) | (h1 << 4));
        }
    }
}

void ek_dequantize_row_q5_K_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q5_K *restrict x = src;
    int8_t a[EK_QK_K];
    uint8_t sc[8], mn[8];
    for (int64_t b = 0; b < n / EK_QK_K; ++b, dst += EK_QK_K) {
        const float d = ek_h2f(x[b].d);
        const float dmin = ek_h2f(x[b].dmin);
        ek_q5_K_codes(&x[b], a);
        ek_unpack_k4_scales(x[b].scales, sc, mn);
        for (int g = 0; g < 8; ++g) {
            const float dl = d * (float)sc[g];
            const float ml = dmin * (float)mn[g];
            for (int l = 0; l < 32; ++l) dst[32 * g + l] = dl * (float)a[32 * g + l] - ml;
        }
    }
}

float ek_vec_dot_q5_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q5_K *restrict a = w;
    const ek_block_q8_K *restrict b = x;
    int8_t q[EK_QK_K];
    uint8_t sc[8], mn[8];
    int32_t scale[8], lanes[8];
    float sums[8] = {0};
    float sum = 0.0f;
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_q5_K_codes(&a[i], q);
        ek_unpack_k4_scales(a[i].scales, sc, mn);
        int32_t summs = 0;
        for (int g = 0; g < 16; ++g) summs += b[i].bsums[g] * mn[g / 2];
        for (int g = 0; g < 8; ++g) scale[g] = sc[g];
        ek_k_lane_dot(q, b[i].qs, scale, 32, lanes);
        const float d = ek_h2f(a[i].d) * b[i].d;
        for (int l = 0; l < 8; ++l) sums[l] += d * (float)lanes[l];
        const float dmin = ek_h2f(a[i].dmin) * b[i].d;
        sum -= dmin * (float)summs;
    }
    for (int l = 0; l < 8; ++l) sum += sums[l];
    return sum;
}
