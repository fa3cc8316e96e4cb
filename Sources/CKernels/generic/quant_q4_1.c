// Q4_1: 32 weights as 4-bit codes q in 0..15, value d * q + m. Pairs with Q8_1, whose s = dx * sum(qx)
// turns the offset term into a single multiply per block.
#include "generic.h"

void ek_dequantize_row_q4_1_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q4_1 *restrict x = src;
    for (int64_t b = 0; b < n / EK_QK4_1; ++b, dst += EK_QK4_1) {
        const float d = ek_h2f(x[b].d);
        const float m = ek_h2f(x[b].m);
        for (int j = 0; j < EK_QK4_1 / 2; ++j) {
            dst[j] = (float)(x[b].qs[j] & 0x0f) * d + m;
            dst[j + EK_QK4_1 / 2] = (float)(x[b].qs[j] >> 4) * d + m;
        }
    }
}

float ek_vec_dot_q4_1_q8_1_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q4_1 *restrict a = w;
    const ek_block_q8_1 *restrict b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / EK_QK8_1; ++i) {
        int32_t isum = 0;
        for (int j = 0; j < EK_QK8_1 / 2; ++j) {
            isum += (a[i].qs[j] & 0x0f) * b[i].qs[j];
            isum += (a[i].qs[j] >> 4) * b[i].qs[j + EK_QK8_1 / 2];
        }
        sum += (ek_h2f(a[i].d) * ek_h2f(b[i].d)) * (float)isum + ek_h2f(a[i].m) * ek_h2f(b[i].s);
    }
    return sum;
}
