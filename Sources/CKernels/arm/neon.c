// NEON kernels for aarch64 (plain ARMv8-A), with dotprod variants behind function-level target
// attributes, picked at start-up from getauxval(AT_HWCAP).
//
// Every result is bit-identical to the scalar twin's (generic/, ops.c); only F32/F16/BF16 weight
// rows are summed in another order. SIMD computes the integer sums, which are exact in any order,
// and the element-wise float products; the float sums then follow the twin's order: per-block
// terms are added to the row's sum one block after the other, and the K types keep the twins' eight
// lanes (element index mod 8), which the widening multiplies SMULL/SMLAL give directly. Like the
// twins, this file relies on the build's -ffp-contract=off: FMA only where written (vfmaq, fmaf),
// and only where the twin fuses too.
//
// Where the twin needs only a block's integer total (the 32-element types and Q2_K), SDOT computes
// it faster. Those kernels are written once, in neon_int.h, and compiled twice by including it
// here: with SMULL/SMLAL for any ARMv8-A core, and with SDOT under
// target("arch=armv8.2-a+dotprod"), so no other function uses the extension.
//
// Tile kernels decode a weight row's blocks once for up to EK_TILE_TOKENS tokens; each token's
// arithmetic is exactly its vec_dot's. Row kernels (decode steps) take up to EK_TILE_ROWS weight
// rows against one activation row, whose codes and scales are loaded and converted once for every
// row; each row's arithmetic is exactly its vec_dot's, and the rows' chains interleave. Q4_K/Q5_K
// rows also have an SDOT form, with both operands permuted so each int32 lane is one twin lane.
//
// Float rows, quantizers and ops live in neon_float.c, the K types with lane sums in neon_k.c,
// shared helpers in neon.h and neon_k.h.
#if defined(__aarch64__)
#include "neon_k.h"

// ---- 32-element block types: decoding ---------------------------------------------------------

enum { EK_B32_Q4_0, EK_B32_Q4_1, EK_B32_Q5_0, EK_B32_Q5_1, EK_B32_Q8_0 };

EK_NEON_INLINE size_t ek_b32_size(int kind) {
    switch (kind) {
    case EK_B32_Q4_0: return sizeof(ek_block_q4_0);
    case EK_B32_Q4_1: return sizeof(ek_block_q4_1);
    case EK_B32_Q5_0: return sizeof(ek_block_q5_0);
    case EK_B32_Q5_1: return sizeof(ek_block_q5_1);
    default: return sizeof(ek_block_q8_0);
    }
}

// Types with an offset m pair with Q8_1 (whose s = dx * sum(qx)); the others with Q8_0.
EK_NEON_INLINE bool ek_b32_has_offset(int kind) { return kind == EK_B32_Q4_1 || kind == EK_B32_Q5_1; }
// Their second half follows d (read as pairs by ek_neon_h2f_pairs_x4).
_Static_assert(offsetof(ek_block_q4_1, m) == 2 && offsetof(ek_block_q5_1, m) == 2 && offsetof(ek_block_q8_1, s) == 2,
               "offset halves follow the scale");

// Bit 4 of the 32 codes of a Q5_0/Q5_1 block (bit j of the little-endian qh belongs to element j):
// 0xff in the lanes whose bit is set (or, with `clear`, is not set), for elements 0..15 (lo) and
// 16..31 (hi).
EK_NEON_INLINE void ek_neon_q5_bits(const uint8_t qh[4], const bool clear, uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t pick[32] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                      2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3 };
    static const uint8_t bit[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
    uint32_t bits;
    memcpy(&bits, qh, 4);
    if (clear) bits = ~bits;
    const uint8x16_t v = vreinterpretq_u8_u32(vdupq_n_u32(bits));
    const uint8x16_t m = vld1q_u8(bit);
    *lo = vtstq_u8(vqtbl1q_u8(v, vld1q_u8(pick)), m);
    *hi = vtstq_u8(vqtbl1q_u8(v, vld1q_u8(pick + 16)), m);
}

// The 32 codes of one weight block as int8: elements 0..15 in *lo, 16..31 in *hi.
EK_NEON_INLINE void ek_b32_decode(int kind, const uint8_t *blk, int8x16_t *lo, int8x16_t *hi) {
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    switch (kind) {
    case EK_B32_Q4_0: {
        const uint8x16_t q = vld1q_u8(((const ek_block_q4_0 *)blk)->qs);
        *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), vdupq_n_s8(8));
        *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
        break;
    }
    case EK_B32_Q4_1: {
        const uint8x16_t q = vld1q_u8(((const ek_block_q4_1 *)blk)->qs);
        *lo = vreinterpretq_s8_u8(vandq_u8(q, m4));
        *hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        break;
    }
    case EK_B32_Q5_0: {   // code - 16: the nibble if bit 4 is set, else nibble - 16 = 0xf0 | nibble as int8
        const ek_block_q5_0 *a = (const ek_block_q5_0 *)blk;
        uint8x16_t clo, chi;   // 0xff where bit 4 is clear
        ek_neon_q5_bits(a->qh, true, &clo, &chi);
        const uint8x16_t q = vld1q_u8(a->qs);
        *lo = vreinterpretq_s8_u8(vbslq_u8(m4, q, clo));     // one BSL: low nibble under clo's top half
        *hi = vreinterpretq_s8_u8(vsriq_n_u8(chi, q, 4));    // one SRI: high nibble under chi's top half
        break;
    }
    case EK_B32_Q5_1: {   // nibble | 16 if bit 4 is set
        const ek_block_q5_1 *a = (const ek_block_q5_1 *)blk;
        uint8x16_t blo, bhi;
        ek_neon_q5_bits(a->qh, false, &blo, &bhi);
        const uint8x16_t q = vld1q_u8(a->qs), sixteen = vdupq_n_u8(0x10);
        *lo = vreinterpretq_s8_u8(vbslq_u8(m4, q, vandq_u8(blo, sixteen)));
        *hi = vreinterpretq_s8_u8(vsriq_n_u8(vandq_u8(bhi, sixteen), q, 4));
        break;
    }
    default: {
        const int8_t *q = ((const ek_block_q8_0 *)blk)->qs;
        *lo = vld1q_s8(q);
        *hi = vld1q_s8(q + 16);
        break;
    }
    }
}

// A block's float term from its integer sum, in each twin's order (dw, mw: weight scale and
// offset; dx, sx: activation scale and scaled sum).
EK_NEON_INLINE float32x4_t ek_b32_terms(int kind, float32x4_t isum, float32x4_t dw, float32x4_t mw,
                                        float32x4_t dx, float32x4_t sx) {
    switch (kind) {
    case EK_B32_Q4_0: return vmulq_f32(vmulq_f32(isum, dw), dx);                 // (isum * dw) * dx
    case EK_B32_Q5_0: return vmulq_f32(vmulq_f32(dw, dx), isum);                 // (dw * dx) * isum
    case EK_B32_Q8_0: return vmulq_f32(isum, vmulq_f32(dw, dx));                 // isum * (dw * dx)
    default: return vaddq_f32(vmulq_f32(vmulq_f32(dw, dx), isum), vmulq_f32(mw, sx));   // + mw * sx
    }
}

EK_NEON_INLINE float ek_b32_term(int kind, float isum, float dw, float mw, float dx, float sx) {
    switch (kind) {
    case EK_B32_Q4_0: return isum * dw * dx;
    case EK_B32_Q5_0: return (dw * dx) * isum;
    case EK_B32_Q8_0: return isum * (dw * dx);
    default: return (dw * dx) * isum + mw * sx;
    }
}

// ---- the integer-total kernels, twice ---------------------------------------------------------

#define EK_NEON_INT_PASS 1
#define EK_INT(name) name##_neon
#define EK_INT_TARGET
#include "neon_int.h"
#undef EK_INT
#undef EK_INT_TARGET
#undef EK_NEON_INT_PASS

#define EK_NEON_INT_PASS 2
#define EK_INT(name) name##_dotprod
#define EK_INT_TARGET EK_DOTPROD_TARGET
#include "neon_int.h"
#undef EK_INT
#undef EK_INT_TARGET
#undef EK_NEON_INT_PASS

// ---- dispatch ---------------------------------------------------------------------------------

const char *ek_patch_neon(ek_type_traits *types, ek_op_kernels *ops) {
    ek_patch_neon_float(types, ops);

#define EK_SET(type, name, variant)                                  \
    do {                                                             \
        types[type].vec_dot = ek_vec_dot_##name##_##variant;         \
        types[type].vec_dot_tile = ek_vec_dot_tile_##name##_##variant; \
        types[type].vec_dot_rows = ek_vec_dot_rows_##name##_##variant; \
    } while (0)
    ek_patch_neon_k(types);
    types[EK_Q4_K].vec_dot_rows = ek_vec_dot_rows_q4_K_q8_K_neon;
    types[EK_Q5_K].vec_dot_rows = ek_vec_dot_rows_q5_K_q8_K_neon;
    const bool dotprod = ek_cpu_has_dotprod();
    if (dotprod) {
        EK_SET(EK_Q4_0, q4_0_q8_0, dotprod);
        EK_SET(EK_Q4_1, q4_1_q8_1, dotprod);
        EK_SET(EK_Q5_0, q5_0_q8_0, dotprod);
        EK_SET(EK_Q5_1, q5_1_q8_1, dotprod);
        EK_SET(EK_Q8_0, q8_0_q8_0, dotprod);
        EK_SET(EK_Q2_K, q2_K_q8_K, dotprod);
        // Q4_K/Q5_K: only the row kernels have an SDOT form (vec_dot and tile stay SMULL/SMLAL).
        types[EK_Q4_K].vec_dot_rows = ek_vec_dot_rows_q4_K_q8_K_dotprod;
        types[EK_Q5_K].vec_dot_rows = ek_vec_dot_rows_q5_K_q8_K_dotprod;
    } else {
        EK_SET(EK_Q4_0, q4_0_q8_0, neon);
        EK_SET(EK_Q4_1, q4_1_q8_1, neon);
        EK_SET(EK_Q5_0, q5_0_q8_0, neon);
        EK_SET(EK_Q5_1, q5_1_q8_1, neon);
        EK_SET(EK_Q8_0, q8_0_q8_0, neon);
        EK_SET(EK_Q2_K, q2_K_q8_K, neon);
    }
#undef EK_SET

    return dotprod ? "neon+dotprod" : "neon";
}

#endif  // __aarch64__
