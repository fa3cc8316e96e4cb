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

static void attention_head_f16(void *ctx, int h, int n_tasks) {
    const attention_job *j = ctx;
    const int64_t kvh = h / (j->n_head / j->n_head_kv);
    const int64_t d = j->head_dim, kv_stride = j->n_head_kv * d;
    for (int64_t i = 0; i < j->n_q; i++) {
        ek_ops()->attend_f16(d, j->q + (i * j->n_head + h) * d, j->k + kvh * d, j->v + kvh * d, j->pos0 + i + 1,
                             kv_stride, j->scale, j->out + (i * j->n_head + h) * d);
    }
}

void ek_attention(ek_pool *pool, const float *q, const ek_fp16 *k, const ek_fp16 *v, float *out,
                  int64_t n_q, int64_t pos0, int64_t n_head, int64_t n_head_kv, int64_t head_dim,
                  float scale, float *scratch, bool wide) {
    attention_job job = { q, k, v, out, n_q, pos0, n_head, n_head_kv, head_dim, scale, scratch };
    ek_pool_run(pool, wide || head_dim > EK_ATTENTION_MAX_HEAD_DIM ? attention_head_f32 : attention_head_f16, &job, (int)n_head);
}

typedef struct {
    const float *q;
    const ek_attention_seq *seqs;
    float *out;
    int64_t n_head, n_head_kv, head_dim;
    float scale;
} attention_decode_job;

// One task per sequence and KV head: the query heads sharing that KV head go together, so its
// keys and values are read once for all of them.
static void attention_decode_task(void *ctx, int task, int n_tasks) {
    const attention_decode_job *j = ctx;
    const int64_t i = task / j->n_head_kv, kvh = task % j->n_head_kv, d = j->head_dim;
    const int64_t group = j->n_head / j->n_head_kv, h = kvh * group;
    const ek_attention_seq *sq = &j->seqs[i];
    ek_ops()->attend_f16_group(d, (int)group, j->q + (i * j->n_head + h) * d, sq->k + kvh * d, sq->v + kvh * d,
                               sq->pos + 1, j->n_head_kv * d, j->scale, j->out + (i * j->n_head + h) * d);
}

void ek_attention_decode(ek_pool *pool, const float *q, const ek_attention_seq *seqs, int64_t n_seq, float *out,
                         int64_t n_head, int64_t n_head_kv, int64_t head_dim, float scale) {
    if (n_seq <= 0 || head_dim > EK_ATTENTION_MAX_HEAD_DIM) return;
    attention_decode_job job = { q, seqs, out, n_head, n_head_kv, head_dim, scale };
    ek_pool_run(pool, attention_decode_task, &job, (int)(n_seq * n_head_kv));
}
