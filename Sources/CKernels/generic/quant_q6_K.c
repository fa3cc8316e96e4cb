// Q6_K: super-block of 256 = 16 sub-blocks of 16 with int8 scales; q = 6 bits - 32 and
// value = d * scale * q. Per 128-element half: ql holds low nibbles (64 bytes: elements l and 32+l
// in low nibbles, 64+l and 96+l in high), qh holds the top 2 bits at shifts 0/2/4/6.
#include "generic.h"

static inline void ek_q6_K_codes(const ek_block_q6_K *restrict x, int8_t a[EK_QK_K]) {
    for (int half = 0; half < 2; ++half) {
        const uint8_t *restrict ql = x->ql + 64 * half;
        const uint8_t *restrict qh = x->qh + 32 * half;
        int8_t *restrict o = a + 128 * half;
        for (int l = 0; l < 32; ++l) {
            o[l] = (int8_t)(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
            o[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

void ek_dequantize_row_q6_K_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q6_K *restrict x = src;
    int8_t a[EK_QK_K];
    for (int64_t b = 0; b < n / EK_QK_K; ++b, dst += EK_QK_K) {
        const float d = ek_h2f(x[b].d);
        ek_q6_K_codes(&x[b], a);
        for (int g = 0; g < 16; ++g) {
            const float dl = d * (float)x[b].scales[g];
            for (int l = 0; l < 16; ++l) dst[16 * g + l] = dl * (float)a[16 * g + l];
        }
    }
}

float ek_vec_dot_q6_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q6_K *restrict a = w;
    const ek_block_q8_K *restrict b = x;
    int8_t q[EK_QK_K];
    int32_t sc[16], lanes[8];
    float sums[8] = {0};
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_q6_K_codes(&a[i], q);
        for (int g = 0; g < 16; ++g) sc[g] = a[i].scales[g];
        ek_k_lane_dot(q, b[i].qs, sc, 16, lanes);
        const float d = ek_h2f(a[i].d) * b[i].d;
        for (int l = 0; l < 8; ++l) sums[l] += d * (float)lanes[l];
    }
    float sum = 0.0f;
    for (int l = 0; l < 8; ++l) sum += sums[l];
    return sum;
}
