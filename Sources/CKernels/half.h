// Inline half-precision conversion for hot loops (the exported ek_fp16_* functions are the
// reference). Branch-free: the exponent is rebiased with a float multiply, subnormals by a
// subtraction trick, so no lookup table competes with weights for cache.
#ifndef EDGELM_HALF_H
#define EDGELM_HALF_H
#include <stdint.h>
#include <string.h>

static inline float ek_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t ek_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float ek_half_to_float(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const float normalized = ek_bits_f32((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float denormalized = ek_bits_f32((two_w >> 17) | (126u << 23)) - 0.5f;
    const uint32_t bits = two_w < (1u << 27) ? ek_f32_bits(denormalized) : ek_f32_bits(normalized);
    return ek_bits_f32(sign | bits);
}

static inline uint16_t ek_float_to_half(float f) {
    const float scale_to_inf = 0x1.0p+112f, scale_to_zero = 0x1.0p-110f;
    float base = (__builtin_fabsf(f) * scale_to_inf) * scale_to_zero;
    const uint32_t w = ek_f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = ek_bits_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = ek_f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}
#endif
