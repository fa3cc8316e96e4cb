// Q5_0: 32 weights as 5-bit codes q in 0..31, value d * (q - 16). Low 4 bits as in Q4_0; bit 4 of
// element j is bit j of the little-endian 32-bit qh.
#include "generic.h"

static inline uint32_t ek_load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

void ek_dequantize_row_q5_0_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q5_0 *restrict x = src;
    for (int64_t b = 0; b < n / EK_QK5_0; ++b, dst += EK_QK5_0) {
        const float d = ek_h2f(x[b].d);
        const uint32_t qh = ek_load_qh(x[b].qh);
        for (int j = 0; j < EK_QK5_0 / 2; ++j) {
            const int q0 = (x[b].qs[j] & 0x0f) | (int)(((qh >> j) & 1u) << 4);
            const int q1 = (x[b].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
            dst[j] = (float)(q0 - 16) * d;
            dst[j + EK_QK5_0 / 2] = (float)(q1 - 16) * d;
        }
    }
}

float ek_vec_dot_q5_0_q8_0_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q5_0 *restrict a = w;
    const ek_block_q8_0 *restrict b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / EK_QK8_0; ++i) {
        const uint32_t qh = ek_load_qh(a[i].qh);
        int32_t isum = 0;
        for (int j = 0; j < EK_QK8_0 / 2; ++j) {
            const int q0 = (a[i].qs[j] & 0x0f) | (int)(((qh >> j) & 1u) << 4);
            const int q1 = (a[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
            isum += (q0 - 16) * b[i].qs[j] + (q1 - 16) * b[i].qs[j + EK_QK8_0 / 2];
        }
        sum += (ek_h2f(a[i].d) * ek_h2f(b[i].d)) * (float)isum;
    }
    return sum;
}
