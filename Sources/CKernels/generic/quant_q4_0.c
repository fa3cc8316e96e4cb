// Q4_0: 32 weights as 4-bit codes q in 0..15, value d * (q - 8). Low nibbles hold elements
// 0..15, high nibbles 16..31.
#include "generic.h"

void ek_dequantize_row_q4_0_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q4_0 *restrict x = src;
    for (int64_t b = 0; b < n / EK_QK4_0; ++b, dst += EK_QK4_0) {
        const float d = ek_h2f(x[b].d);
        for (int j = 0; j < EK_QK4_0 / 2; ++j) {
            dst[j] = (float)((x[b].qs[j] & 0x0f) - 8) * d;
            dst[j + EK_QK4_0 / 2] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

float ek_vec_dot_q4_0_q8_0_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q4_0 *restrict a = w;
    const ek_block_q8_0 *restrict b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / EK_QK8_0; ++i) {
        int32_t isum = 0;
        for (int j = 0; j < EK_QK8_0 / 2; ++j) {
            isum += ((a[i].qs[j] & 0x0f) - 8) * b[i].qs[j];
            isum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + EK_QK8_0 / 2];
        }
        // ggml order: (isum * dw) * dx
        sum += (float)isum * ek_h2f(a[i].d) * ek_h2f(b[i].d);
    }
    return sum;
}
