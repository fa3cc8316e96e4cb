// Matrix multiplication over quantized weights, split across the pool by blocks of output rows.
//
// A task owns a block of rows of one matrix. It walks the batch in tiles of tokens whose quantized
// activations stay in L2, and for each weight row (in L1) computes EK_TILE_TOKENS tokens per call,
// so a prompt reads each weight from memory once per pass and decodes each block a quarter as
// often. Row blocks are multiples of 16 floats, so no two tasks write the same cache line of y.
#include "ckernels.h"
#include <stdlib.h>

enum {
    EK_ROWS_ALIGN = 16,        // floats per 64-byte line of y
    EK_TASKS_PER_THREAD = 8,   // enough tasks that a slow thread does not hold the others up
    EK_TOKEN_TILE = 64,        // activation rows kept hot while a row block is swept
};

typedef struct {
    const ek_type_traits *traits;
    ek_matmul_target target;
    size_t w_row_bytes;
    int64_t rows_per_task;
    int first_task;
} matmul_part;

typedef struct {
    matmul_part parts[EK_MATMUL_MAX_TARGETS];
    int n_parts;
    int64_t cols;
    const uint8_t *xq;
    size_t xq_stride;
    int64_t ntok;
} matmul_job;

static void dot_tile(const ek_type_traits *tr, int64_t cols, const void *w, const uint8_t *x, size_t stride, int nx, float *s) {
    if (tr->vec_dot_tile) { tr->vec_dot_tile(cols, w, x, stride, nx, s); return; }
    for (int i = 0; i < nx; i++) s[i] = tr->vec_dot(cols, w, x + (size_t)i * stride);
}

static void matmul_task(void *ctx, int task, int n_tasks) {
    const matmul_job *j = ctx;
    int p = 0;
    while (p + 1 < j->n_parts && task >= j->parts[p + 1].first_task) p++;
    const matmul_part *part = &j->parts[p];
    const ek_matmul_target *tg = &part->target;
    const int64_t r0 = (int64_t)(task - part->first_task) * part->rows_per_task;
    const int64_t r1 = r0 + part->rows_per_task < tg->rows ? r0 + part->rows_per_task : tg->rows;
    const uint8_t *w = tg->w;
    float s[EK_TILE_TOKENS > EK_TILE_ROWS ? EK_TILE_TOKENS : EK_TILE_ROWS];
    if ((j->ntok == 1 || !part->traits->vec_dot_block) && j->ntok < EK_TILE_TOKENS && part->traits->vec_dot_rows) {
        // Decode steps (one or a few tokens): several weight rows per call instead.
        // A tile takes one row from each quarter of the task's rows: the weights stream as four
        // long sequential runs, which read faster than one run or four rows side by side.
        const int64_t q = (r1 - r0 + EK_TILE_ROWS - 1) / EK_TILE_ROWS;
        for (int64_t t = 0; t < j->ntok; t++) {
            const uint8_t *x = j->xq + (size_t)t * j->xq_stride;
            float *y = tg->y + t * tg->y_stride;
            for (int64_t k = 0; k < q; k++) {
                int nw = 0;
                while (nw < EK_TILE_ROWS && r0 + k + nw * q < r1) nw++;
                part->traits->vec_dot_rows(j->cols, w + (size_t)(r0 + k) * part->w_row_bytes, (size_t)q * part->w_row_bytes, nw, x, s);
                for (int i = 0; i < nw; i++) {
                    const int64_t r = r0 + k + i * q;
                    y[r] = tg->bias ? s[i] + tg->bias[r] : s[i];
                }
            }
        }
        return;
    }
    if (j->ntok <= EK_TILE_TOKENS && j->ntok > 1 && part->traits->matmul_span) {
        part->traits->matmul_span(j->cols, w + (size_t)r0 * part->w_row_bytes, r1 - r0, j->xq, j->xq_stride, (int)j->ntok,
                                  tg->y + r0, tg->y_stride, tg->bias ? tg->bias + r0 : NULL);
        return;
    }
    if (j->ntok <= EK_TILE_TOKENS && part->traits->vec_dot_block) {
        // Decode steps of a few sequences: one pass over the weights for all of them, in the
        // quartered row order above.
        float sb[EK_TILE_ROWS * EK_TILE_TOKENS];
        const int nx = (int)j->ntok;
        const int64_t q = (r1 - r0 + EK_TILE_ROWS - 1) / EK_TILE_ROWS;
        for (int64_t k = 0; k < q; k++) {
            int nw = 0;
            while (nw < EK_TILE_ROWS && r0 + k + nw * q < r1) nw++;
            part->traits->vec_dot_block(j->cols, w + (size_t)(r0 + k) * part->w_row_bytes, (size_t)q * part->w_row_bytes, nw,
                                        j->xq, j->xq_stride, nx, sb);
            for (int a = 0; a < nw; a++) {
                const int64_t r = r0 + k + a * q;
                const float b = tg->bias ? tg->bias[r] : 0.0f;
                for (int i = 0; i < nx; i++) {
                    const float v = sb[a * EK_TILE_TOKENS + i];
                    tg->y[i * tg->y_stride + r] = tg->bias ? v + b : v;
                }
            }
        }
        return;
    }
    if (part->traits->matmul_prompt) {
        part->traits->matmul_prompt(j->cols, w + (size_t)r0 * part->w_row_bytes, r1 - r0, j->xq, j->xq_stride, (int)j->ntok,
                                    tg->y + r0, tg->y_stride, tg->bias ? tg->bias + r0 : NULL);
        return;
    }
    if (part->traits->vec_dot_block) {
        float sb[EK_TILE_ROWS * EK_TILE_TOKENS];
        for (int64_t t0 = 0; t0 < j->ntok; t0 += EK_TOKEN_TILE) {
            const int64_t t1 = t0 + EK_TOKEN_TILE < j->ntok ? t0 + EK_TOKEN_TILE : j->ntok;
            for (int64_t r = r0; r < r1; r += EK_TILE_ROWS) {
                const int nw = r1 - r < EK_TILE_ROWS ? (int)(r1 - r) : EK_TILE_ROWS;
                for (int64_t t = t0; t < t1; t += EK_TILE_TOKENS) {
                    const int nx = t1 - t < EK_TILE_TOKENS ? (int)(t1 - t) : EK_TILE_TOKENS;
                    part->traits->vec_dot_block(j->cols, w + (size_t)r * part->w_row_bytes, part->w_row_bytes, nw,
                                                j->xq + (size_t)t * j->xq_stride, j->xq_stride, nx, sb);
                    for (int a = 0; a < nw; a++) {
                        const float b = tg->bias ? tg->bias[r + a] : 0.0f;
                        for (int i = 0; i < nx; i++) {
                            const float v = sb[a * EK_TILE_TOKENS + i];
                            tg->y[(t + i) * tg->y_stride + r + a] = tg->bias ? v + b : v;
                        }
                    }
                }
            }
        }
        return;
    }
    for (int64_t t0 = 0; t0 < j->ntok; t0 += EK_TOKEN_TILE) {
        const int64_t t1 = t0 + EK_TOKEN_TILE < j->ntok ? t0 + EK_TOKEN_TILE : j->ntok;
        for (int64_t r = r0; r < r1; r++) {
            const void *wr = w + (size_t)r * part->w_row_bytes;
            const float b = tg->bias ? tg->bias[r] : 0.0f;
            for (int64_t t = t0; t < t1; t += EK_TILE_TOKENS) {
                const int nx = t1 - t < EK_TILE_TOKENS ? (int)(t1 - t) : EK_TILE_TOKENS;
                dot_tile(part->traits, j->cols, wr, j->xq + (size_t)t * j->xq_stride, j->xq_stride, nx, s);
                for (int i = 0; i < nx; i++) tg->y[(t + i) * tg->y_stride + r] = tg->bias ? s[i] + b : s[i];
            }
        }
    }
}

void ek_matmul_many(ek_pool *pool, const ek_matmul_target *targets, int n_targets, int64_t cols,
                    const void *xq, size_t xq_stride, int64_t ntok) {
    if (ntok <= 0 || n_targets <= 0 || n_targets > EK_MATMUL_MAX_TARGETS) return;
    matmul_job job = { .n_parts = 0, .cols = cols, .xq = xq, .xq_stride = xq_stride, .ntok = ntok };
    const int threads = ek_pool_threads(pool);
    int tasks = 0;
    for (int i = 0; i < n_targets; i++) {
        const ek_type_traits *tr = ek_traits(targets[i].wtype);
        if (!tr || !tr->vec_dot || targets[i].rows <= 0) continue;
        int64_t per = targets[i].rows / ((int64_t)threads * EK_TASKS_PER_THREAD);
        per = (per + EK_ROWS_ALIGN - 1) / EK_ROWS_ALIGN * EK_ROWS_ALIGN;
        if (per < EK_ROWS_ALIGN) per = EK_ROWS_ALIGN;
        job.parts[job.n_parts++] = (matmul_part){
            .traits = tr, .target = targets[i], .w_row_bytes = ek_row_size(targets[i].wtype, cols),
            .rows_per_task = per, .first_task = tasks,
        };
        tasks += (int)((targets[i].rows + per - 1) / per);
    }
    if (tasks > 0) ek_pool_run(pool, matmul_task, &job, tasks);
}

void ek_matmul(ek_pool *pool, int wtype, const void *w, int64_t rows, int64_t cols,
               const void *xq, size_t xq_stride, int64_t ntok,
               float *y, int64_t y_stride, const float *bias) {
    const ek_matmul_target t = { .wtype = wtype, .w = w, .rows = rows, .y = y, .y_stride = y_stride, .bias = bias };
    ek_matmul_many(pool, &t, 1, cols, xq, xq_stride, ntok);
}

void ek_quantize_rows(int type, const float *x, int64_t x_stride, int64_t ntok, int64_t cols,
                      void *dst, size_t dst_stride) {
    const ek_type_traits *tr = ek_traits(type);
    if (!tr || !tr->from_float) return;
    for (int64_t t = 0; t < ntok; t++) tr->from_float(x + t * x_stride, (uint8_t *)dst + (size_t)t * dst_stride, cols);
}
