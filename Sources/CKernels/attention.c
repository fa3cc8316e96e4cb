// Causal grouped-query attention over an f16 KV cache, one task per query head.
//
// Two numerics, chosen per batch the way the reference engine chooses them, so that logits
// track its logits closely:
// - short batches (decode steps, prompts under EK_ATTENTION_WIDE_BATCH tokens): the query is
//   rounded to f16, scores are f16·f16 dot products, and the weighted sum of values runs as an
//   online softmax whose accumulator is rounded to f16 after every step;
// - wide batches: scores, softmax and the weighted sum are all f32.
#include "dispatch.h"
#include <math.h>

typedef struct {
    const float *q;
    const ek_fp16 *k, *v;
    float *out;
    int64_t n_q, pos0, n_head, n_head_kv, head_dim;
    float scale;
    float *scratch;
} attention_job;

// Scores then a full softmax, all in f32.
static void attention_head_f32(void *ctx, int h, int n_tasks) {
    const attention_job *j = ctx;
    const ek_op_kernels *ops = ek_ops();
    const int64_t kvh = h / (j->n_head / j->n_head_kv);
    const int64_t d = j->head_dim, kv_stride = j->n_head_kv * d;
    float *scores = j->scratch + (int64_t)h * (j->pos0 + j->n_q);
    for (int64_t i = 0; i < j->n_q; i++) {
        const float *q = j->q + (i * j->n_head + h) * d;
        const int64_t n_kv = j->pos0 + i + 1;
        for (int64_t t = 0; t < n_kv; t++) {
            scores[t] = ops->dot_f32_f16(d, q, j->k + t * kv_stride + kvh * d) * j->scale;
        }
        ek_softmax(scores, n_kv);
        float *o = j->out + (i * j->n_head + h) * d;
        for (int64_t c = 0; c < d; c++) o[c] = 0.0f;
        for (int64_t t = 0; t < n_kv; t++) ops->mad_f32_f16(d, o, j->v + t * kv_stride + kvh * d, scores[t]);
    }
}

// Online softmax with an f16 query and an f16 accumulator (scratch holds the f16 rows).
static void attention_head_f16(void *ctx, int h, int n_tasks) {
    enum { MAX_HEAD_DIM = 1024 };
    const attention_job *j = ctx;
    const ek_op_kernels *ops = ek_ops();
    const int64_t kvh = h / (j->n_head / j->n_head_kv);
    const int64_t d = j->head_dim, kv_stride = j->n_head_kv * d;
    ek_fp16 q16[MAX_HEAD_DIM], acc[MAX_HEAD_DIM];
    for (int64_t i = 0; i < j->n_q; i++) {
        const float *q = j->q + (i * j->n_head + h) * d;
        ops->f32_to_f16(q, q16, d);
        for (int64_t c = 0; c < d; c++) acc[c] = 0;
        const int64_t n_kv = j->pos0 + i + 1;
        float m = -INFINITY, sum = 0.0f;
        for (int64_t t = 0; t < n_kv; t++) {
            const float s = ops->dot_f16(d, q16, j->k + t * kv_stride + kvh * d) * j->scale;
            float ms = 1.0f, vs = 1.0f;
            if (s > m) {
                ms = expf(m - s);  // 0 on the first step
                m = s;
                ops->scale_f16(d, acc, ms);
            } else {
                vs = expf(s - m);
            }
            ops->mad_f16(d, acc, j->v + t * kv_stride + kvh * d, vs);
            sum = sum * ms + vs;
        }
        const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
        float *o = j->out + (i * j->n_head + h) * d;
        ops->f16_to_f32(acc, o, d);
        ops->scale(o, inv, d);
    }
}

void ek_attention(ek_pool *pool, const float *q, const ek_fp16 *k, const ek_fp16 *v, float *out,
                  int64_t n_q, int64_t pos0, int64_t n_head, int64_t n_head_kv, int64_t head_dim,
                  float scale, float *scratch, bool wide) {
    attention_job job = { q, k, v, out, n_q, pos0, n_head, n_head_kv, head_dim, scale, scratch };
    ek_pool_run(pool, wide || head_dim > 1024 ? attention_head_f32 : attention_head_f16, &job, (int)n_head);
}
