// Per-type traits of the scalar kernels, and row sizes.
#include "generic/generic.h"
#include "dispatch.h"

#define EK_TRAITS(t, nm, bs, ts, vdt, tf, ff, vd) \
    [t] = { .name = nm, .block_size = bs, .type_size = ts, .vec_dot_type = vdt, \
            .to_float = tf, .from_float = ff, .vec_dot = vd }

// vec_dot_type pairings are llama.cpp's (ggml-cpu type_traits_cpu).
const ek_type_traits ek_generic_table[EK_TYPE_LIMIT] = {
    EK_TRAITS(EK_F32, "f32", 1, 4, EK_F32, ek_dequantize_row_f32_generic, ek_quantize_row_f32_generic,
              ek_vec_dot_f32_generic),
    EK_TRAITS(EK_F16, "f16", 1, 2, EK_F16, ek_dequantize_row_f16_generic, ek_quantize_row_f16_generic,
              ek_vec_dot_f16_generic),
    EK_TRAITS(EK_BF16, "bf16", 1, 2, EK_BF16, ek_dequantize_row_bf16_generic, ek_quantize_row_bf16_generic,
              ek_vec_dot_bf16_generic),
    EK_TRAITS(EK_Q4_0, "q4_0", EK_QK4_0, sizeof(ek_block_q4_0), EK_Q8_0, ek_dequantize_row_q4_0_generic, NULL,
              ek_vec_dot_q4_0_q8_0_generic),
    EK_TRAITS(EK_Q4_1, "q4_1", EK_QK4_1, sizeof(ek_block_q4_1), EK_Q8_1, ek_dequantize_row_q4_1_generic, NULL,
              ek_vec_dot_q4_1_q8_1_generic),
    EK_TRAITS(EK_Q5_0, "q5_0", EK_QK5_0, sizeof(ek_block_q5_0), EK_Q8_0, ek_dequantize_row_q5_0_generic, NULL,
              ek_vec_dot_q5_0_q8_0_generic),
    EK_TRAITS(EK_Q5_1, "q5_1", EK_QK5_1, sizeof(ek_block_q5_1), EK_Q8_1, ek_dequantize_row_q5_1_generic, NULL,
              ek_vec_dot_q5_1_q8_1_generic),
    EK_TRAITS(EK_Q8_0, "q8_0", EK_QK8_0, sizeof(ek_block_q8_0), EK_Q8_0, ek_dequantize_row_q8_0_generic,
              ek_quantize_row_q8_0_generic, ek_vec_dot_q8_0_q8_0_generic),
    EK_TRAITS(EK_Q8_1, "q8_1", EK_QK8_1, sizeof(ek_block_q8_1), EK_Q8_1, NULL, ek_quantize_row_q8_1_generic, NULL),
    EK_TRAITS(EK_Q2_K, "q2_K", EK_QK_K, sizeof(ek_block_q2_K), EK_Q8_K, ek_dequantize_row_q2_K_generic, NULL,
              ek_vec_dot_q2_K_q8_K_generic),
    EK_TRAITS(EK_Q3_K, "q3_K", EK_QK_K, sizeof(ek_block_q3_K), EK_Q8_K, ek_dequantize_row_q3_K_generic, NULL,
              ek_vec_dot_q3_K_q8_K_generic),
    EK_TRAITS(EK_Q4_K, "q4_K", EK_QK_K, sizeof(ek_block_q4_K), EK_Q8_K, ek_dequantize_row_q4_K_generic, NULL,
              ek_vec_dot_q4_K_q8_K_generic),
    EK_TRAITS(EK_Q5_K, "q5_K", EK_QK_K, sizeof(ek_block_q5_K), EK_Q8_K, ek_dequantize_row_q5_K_generic, NULL,
              ek_vec_dot_q5_K_q8_K_generic),
    EK_TRAITS(EK_Q6_K, "q6_K", EK_QK_K, sizeof(ek_block_q6_K), EK_Q8_K, ek_dequantize_row_q6_K_generic, NULL,
              ek_vec_dot_q6_K_q8_K_generic),
    EK_TRAITS(EK_Q8_K, "q8_K", EK_QK_K, sizeof(ek_block_q8_K), EK_Q8_K, NULL, ek_quantize_row_q8_K_generic, NULL),
};

// Byte-exactness with GGUF: a wrong size here would silently misread every model.
_Static_assert(sizeof(ek_block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(ek_block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(ek_block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(ek_block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(ek_block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(ek_block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(ek_block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(ek_block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(ek_block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(ek_block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(ek_block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(ek_block_q8_K) == 292, "q8_K");

static const ek_type_traits *ek_lookup(const ek_type_traits *table, int type) {
    if (type < 0 || type >= EK_TYPE_LIMIT || table[type].name == NULL) return NULL;
    return &table[type];
}

const ek_type_traits *ek_traits_generic(int type) { return ek_lookup(ek_generic_table, type); }

const ek_type_traits *ek_traits(int type) { return ek_lookup(ek_dispatch_table(), type); }

size_t ek_row_size(int type, int64_t n) {
    const ek_type_traits *t = ek_traits_generic(type);
    if (t == NULL || n < 0) return 0;
    return (size_t)(n / t->block_size) * (size_t)t->type_size;
}
