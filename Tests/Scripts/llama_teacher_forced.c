// Teacher-forced top-5 probabilities from llama.cpp itself, on the machine at hand: the prompt as
// one batch, then one token per step, exactly as the reference files were produced. Run by
// local_reference.py, which builds it against a llama.cpp build and writes reference files in
// the format of ../shared/reference, so the engine's tests can be pointed at them
// (EDGELM_REFERENCE_DIR) to tell the engine's numeric differences from the machine's.
//
// Input (stdin): "ncases", then per case "nprompt ids…" and "ngen ids…".
// Output (stdout): "TOP case position id p id p …" (five pairs, most likely first).
#include "llama.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL.gguf [flash-attn 0|1] < cases\n", argv[0]); return 2; }
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) return 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2048; cp.n_batch = 2048; cp.n_ubatch = 512; cp.n_threads = 2; cp.n_threads_batch = 2;
    cp.flash_attn_type = argc > 2 && atoi(argv[2]) == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED : LLAMA_FLASH_ATTN_TYPE_AUTO;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    const int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    int ncase;
    if (scanf("%d", &ncase) != 1) return 1;
    for (int c = 0; c < ncase; c++) {
        int np, ng;
        llama_token prompt[4096], gen[4096];
        if (scanf("%d", &np) != 1 || np > 4096) return 1;
        for (int i = 0; i < np; i++) if (scanf("%d", &prompt[i]) != 1) return 1;
        if (scanf("%d", &ng) != 1 || ng > 4096) return 1;
        for (int i = 0; i < ng; i++) if (scanf("%d", &gen[i]) != 1) return 1;
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int pos = 0; pos < ng; pos++) {
            struct llama_batch b = pos == 0 ? llama_batch_get_one(prompt, np) : llama_batch_get_one(&gen[pos - 1], 1);
            if (llama_decode(ctx, b)) return 1;
            const float *logits = llama_get_logits_ith(ctx, -1);
            double mx = -INFINITY, z = 0;
            for (int i = 0; i < nv; i++) if (logits[i] > mx) mx = logits[i];
            for (int i = 0; i < nv; i++) z += exp(logits[i] - mx);
            int best[5] = { -1, -1, -1, -1, -1 };
            double bp[5] = { -1, -1, -1, -1, -1 };
            for (int i = 0; i < nv; i++) {
                const double p = exp(logits[i] - mx) / z;
                for (int k = 0; k < 5; k++) {
                    if (p > bp[k]) {
                        for (int m = 4; m > k; m--) { bp[m] = bp[m - 1]; best[m] = best[m - 1]; }
                        bp[k] = p; best[k] = i;
                        break;
                    }
                }
            }
            printf("TOP %d %d", c, pos);
            for (int k = 0; k < 5; k++) printf(" %d %.17g", best[k], bp[k]);
            printf("\n");
        }
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
