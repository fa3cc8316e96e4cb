// Causal grouped-query attention over an f16 KV cache. One task per query head: each head's
// scores for all query tokens reuse the same scratch row, and heads sharing a KV head read the
// same cache lines.
#include "ckernels.h"
#include "half.h"
#include <math.h>

typedef struct {
    const float *q;
    const ek_fp16 *k, *v;
    float *out;
    int64_t n_q, pos0, n_head, n_head_kv, head_dim;
    float scale;
    float *scratch;
} attention_job;

static void attention_head(void *ctx, int h, int n_tasks) {
    const attention_job *j = ctx;
    const int64_t kvh = h / (j->n_head / j->n_head_kv);
    const int64_t d = j->head_dim, kv_stride = j->n_head_kv * d;
    float *scores = j->scratch + (int64_t)h * (j->pos0 + j->n_q);
    for (int64_t i = 0; i < j->n_q; i++) {
        const float *q = j->q + (i * j->n_head + h) * d;
        const int64_t n_kv = j->pos0 + i + 1;
        for (int64_t t = 0; t < n_kv; t++) {
            const ek_fp16 *k = j->k + t * kv_stride + kvh * d;
            float s = 0.0f;
            for (int64_t c = 0; c < d; c++) s += q[c] * ek_half_to_float(k[c]);
            scores[t] = s * j->scale;
        }
        ek_softmax(scores, n_kv);
        float *o = j->out + (i * j->n_head + h) * d;
        for (int64_t c = 0; c < d; c++) o[c] = 0.0f;
        for (int64_t t = 0; t < n_kv; t++) {
            const ek_fp16 *v = j->v + t * kv_stride + kvh * d;
            const float p = scores[t];
            for (int64_t c = 0; c < d; c++) o[c] += p * ek_half_to_float(v[c]);
        }
    }
}

void ek_attention(ek_pool *pool, const float *q, const ek_fp16 *k, const ek_fp16 *v, float *out,
                  int64_t n_q, int64_t pos0, int64_t n_head, int64_t n_head_kv, int64_t head_dim,
                  float scale, float *scratch) {
    attention_job job = { q, k, v, out, n_q, pos0, n_head, n_head_kv, head_dim, scale, scratch };
    ek_pool_run(pool, attention_head, &job, (int)n_head);
}
