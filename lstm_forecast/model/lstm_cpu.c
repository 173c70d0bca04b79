/* A stacked LSTM, forward and backward, for small models on the CPU (lstm_cpu.py builds and calls it).

   The math is torch.nn.LSTM's: gates i, f, g, o in that order, pre-activation
   W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, c_t = f c_{t-1} + i g, h_t = o tanh(c_t), zero initial states,
   the output is the top layer's h. Weights come in torch's layout, W_ih (4H, in) and W_hh (4H, H).

   Why it exists: at the reference size (hidden 8, batch 7, 96 steps) torch's oneDNN path spends most of
   each call on setting the kernel up, not on arithmetic. This file does the arithmetic only, in one call
   for all layers and steps.

   Every sum runs in a fixed order and the build turns off contraction into fused multiply-adds
   (-ffp-contract=off), so results do not depend on the vector width the compiler picks. The body below
   is compiled twice, for float and for double (tests compare the double build with torch in double).

   Results do not depend on the sizes being constants either: the operations and their order are the same.

   The forward pass saves, per layer and step, four (B, H) blocks of activated gates i f g o, then c, tanh(c)
   and h, (B, H) each: 7 blocks of B * H values. */
#ifndef REAL
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The sizes are compile-time constants (the build passes -DHIDDEN=... -DINPUTS=...): with them the compiler
   unrolls and vectorizes the short loops over gates, which is much faster at small sizes.
   The exported functions still take the sizes, and refuse a call whose sizes differ (return -2). */
enum { H = HIDDEN, I = INPUTS, G = 4 * HIDDEN };
/* Batch rows per pass through a step's three loops: their gates (TILE x 4H values) stay in the L1 cache. */
enum { TILE = 64 };

/* exp(v) for float, written so that the compiler can vectorize the loops that call it (libm's expf is a
   call per value, and dominated the kernel's time): v = n ln2 + r with |r| <= ln2 / 2, exp(r) by its Taylor
   series to r^7 (truncation error below 6e-9, relative), times 2^n built in the exponent bits. Inputs are
   clamped to [-87, 88], where 2^n stays a normal float; sigmoid and tanh saturate well inside that. */
static inline float exp_f32(float v) {
    v = v < -87.0f ? -87.0f : v > 88.0f ? 88.0f : v;
    /* Adding 1.5 * 2^23 rounds to an integer, which the low mantissa bits of the sum then hold. */
    union { float f; unsigned u; } sum = {.f = v * 1.44269504f + 12582912.0f};
    float n = sum.f - 12582912.0f;
    float r = (v - n * 0.693359375f) - n * -2.12194440e-4f; /* ln2 in two parts: n * 0.693359375 is exact */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* 2^n: n + 127 in the exponent bits. Unsigned arithmetic, so that a NaN (any bits) is no undefined
       behaviour; p is NaN then, and so is the result. */
    union { unsigned u; float f; } scale = {.u = (sum.u - 0x4B400000u + 127u) << 23};
    return p * scale.f;
}

/* exp_f32 over an array: exported for the tests, which measure its error. */
void lstm_exp_f32(int n, const float *in, float *out) {
    for (int k = 0; k < n; k++) out[k] = exp_f32(in[k]);
}

#define REAL float
#define NAME(x) x##_f32
#define EXP exp_f32
#include __FILE__
#undef REAL
#undef NAME
#undef EXP

/* The double build, which tests compare with torch in double, keeps libm's exp. */
#define REAL double
#define NAME(x) x##_f64
#define EXP exp
#include __FILE__

#else

#define BLOCKS 7

/* out[0:n] += a * w[0:n]. */
static inline void NAME(axpy)(int n, REAL a, const REAL *restrict w, REAL *restrict out) {
    for (int j = 0; j < n; j++) out[j] += a * w[j];
}

/* w (rows, cols) -> wt (cols, rows). */
static void NAME(transpose)(int rows, int cols, const REAL *restrict w, REAL *restrict wt) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) wt[c * rows + r] = w[r * cols + c];
}

static inline REAL NAME(sigmoid)(REAL v) { return (REAL)1 / ((REAL)1 + EXP(-v)); }

/* tanh(v) = 2 sigmoid(2v) - 1: the same exp, so the loop stays vectorizable (absolute error about 1e-7). */
static inline REAL NAME(tanh)(REAL v) { return (REAL)2 * NAME(sigmoid)((REAL)2 * v) - (REAL)1; }

/* Rows [0, n) of one layer's step. in (n, in_size); hprev, cprev (n, H), or NULL at the first step.
   gates (n, 4H) receives the pre-activations; the activated gates go to act, four blocks of rows that
   lie BH values apart; c, tc (tanh c) and h are (n, H). c and h may be cprev and hprev themselves
   (inference keeps one state per layer): each value is read before it is written. */
static void NAME(rows)(int n, size_t BH, int in_size, const REAL *restrict in, const REAL *hprev, const REAL *cprev,
                       const REAL *restrict wt_ih, const REAL *restrict wt_hh, const REAL *restrict bias,
                       REAL *restrict gates, REAL *restrict act, REAL *c, REAL *restrict tc, REAL *h) {
    for (int b = 0; b < n; b++) {
        REAL *row = gates + (size_t)b * G;
        memcpy(row, bias, sizeof(REAL) * G);
        for (int k = 0; k < in_size; k++) NAME(axpy)(G, in[(size_t)b * in_size + k], wt_ih + (size_t)k * G, row);
        if (hprev)
            for (int k = 0; k < H; k++) NAME(axpy)(G, hprev[(size_t)b * H + k], wt_hh + (size_t)k * G, row);
    }
    REAL *ai = act, *af = act + BH, *ag = act + 2 * BH, *ao = act + 3 * BH;
    for (int b = 0; b < n; b++) {
        const REAL *row = gates + (size_t)b * G;
        for (int j = 0; j < H; j++) {
            size_t e = (size_t)b * H + j;
            ai[e] = NAME(sigmoid)(row[j]);
            af[e] = NAME(sigmoid)(row[H + j]);
            ag[e] = NAME(tanh)(row[2 * H + j]);
            ao[e] = NAME(sigmoid)(row[3 * H + j]);
        }
    }
    /* Two loops, not one with a test inside, so that both vectorize. */
    int nh = n * H;
    if (cprev) {
        for (int e = 0; e < nh; e++) {
            REAL ce = ai[e] * ag[e] + af[e] * cprev[e];
            REAL t = NAME(tanh)(ce);
            c[e] = ce, tc[e] = t, h[e] = ao[e] * t;
        }
    } else {
        for (int e = 0; e < nh; e++) {
            REAL ce = ai[e] * ag[e];
            REAL t = NAME(tanh)(ce);
            c[e] = ce, tc[e] = t, h[e] = ao[e] * t;
        }
    }
}

/* One layer, one step, all B rows, TILE rows at a time so that a large batch's gates stay in cache.
   act: four (B, H) blocks of activated gates. gates: room for (TILE, 4H). */
static void NAME(step)(int B, int in_size, const REAL *in, const REAL *hprev, const REAL *cprev,
                       const REAL *wt_ih, const REAL *wt_hh, const REAL *bias, REAL *gates, REAL *act, REAL *c,
                       REAL *tc, REAL *h) {
    size_t BH = (size_t)B * H;
    for (int b = 0; b < B; b += TILE) {
        int n = B - b < TILE ? B - b : TILE;
        size_t at = (size_t)b * H;
        NAME(rows)(n, BH, in_size, in + (size_t)b * in_size, hprev ? hprev + at : NULL, cprev ? cprev + at : NULL,
                   wt_ih, wt_hh, bias, gates, act + at, c + at, tc + at, h + at);
    }
}

/* Transposed weights, (in, 4H) and (H, 4H), and the summed biases of every layer, in one allocation,
   with ``extra`` values of room after them. */
static REAL *NAME(prepare)(int L, const REAL *const *w_ih, const REAL *const *w_hh,
                           const REAL *const *b_ih, const REAL *const *b_hh, size_t extra, REAL **wt) {
    REAL *buf = malloc(sizeof(REAL) * ((size_t)I * G + (size_t)L * ((size_t)(H + H) * G + G) + extra));
    if (!buf) return NULL;
    REAL *p = buf;
    for (int l = 0; l < L; l++) {
        int in_size = l ? H : I;
        wt[3 * l] = p, NAME(transpose)(G, in_size, w_ih[l], p), p += (size_t)in_size * G;
        wt[3 * l + 1] = p, NAME(transpose)(G, H, w_hh[l], p), p += (size_t)H * G;
        wt[3 * l + 2] = p;
        for (int j = 0; j < G; j++) p[j] = b_ih[l][j] + b_hh[l][j];
        p += G;
    }
    return buf;
}

/* x (T, B, I) -> out (T, B, H). saved: NULL for inference, else (L, T, 7, B, H) for the backward pass.
   Returns 0, -1 when memory runs out, -2 when the sizes are not this build's or not valid. */
int NAME(lstm_forward)(int T, int B, int inputs, int hidden, int L, const REAL *x, const REAL *const *w_ih,
                       const REAL *const *w_hh, const REAL *const *b_ih, const REAL *const *b_hh, REAL *out,
                       REAL *saved) {
    if (inputs != I || hidden != H || L < 1 || T < 0 || B < 0) return -2;
    size_t BH = (size_t)B * H, S = BLOCKS * BH;
    /* Room for the pre-activations of TILE rows; inference also keeps the current h and c of each layer
       and one step's activated gates and tanh(c). */
    size_t extra = (size_t)TILE * G + (saved ? 0 : 2 * L * BH + 5 * BH);
    REAL *wt[3 * L];
    REAL *buf = NAME(prepare)(L, w_ih, w_hh, b_ih, b_hh, extra, wt);
    if (!buf) return -1;
    REAL *gates = wt[3 * L - 1] + G;
    /* Inference only: each layer's current h and c, one step's activated gates and tanh(c). */
    REAL *hs = saved ? NULL : gates + (size_t)TILE * G, *cs = saved ? NULL : hs + L * BH;
    REAL *scratch = saved ? NULL : cs + L * BH;
    for (int t = 0; t < T; t++) {
        for (int l = 0; l < L; l++) {
            int in_size = l ? H : I;
            if (saved) {
                REAL *now = saved + ((size_t)l * T + t) * S;
                const REAL *in = l ? now - (size_t)T * S + 6 * BH : x + (size_t)t * B * I;
                const REAL *before = t ? now - S : NULL;
                NAME(step)(B, in_size, in, before ? before + 6 * BH : NULL, before ? before + 4 * BH : NULL,
                           wt[3 * l], wt[3 * l + 1], wt[3 * l + 2], gates, now, now + 4 * BH, now + 5 * BH,
                           now + 6 * BH);
            } else {
                REAL *h = hs + l * BH, *c = cs + l * BH;
                const REAL *in = l ? h - BH : x + (size_t)t * B * I;
                NAME(step)(B, in_size, in, t ? h : NULL, t ? c : NULL, wt[3 * l], wt[3 * l + 1], wt[3 * l + 2],
                           gates, scratch, c, scratch + 4 * BH, h);
            }
        }
        const REAL *top = saved ? saved + ((size_t)(L - 1) * T + t) * S + 6 * BH : hs + (L - 1) * BH;
        memcpy(out + (size_t)t * BH, top, sizeof(REAL) * BH);
    }
    free(buf);
    return 0;
}

/* Gradients from dout (T, B, H), the gradient of the top layer's output, and what the forward pass saved.
   Writes (overwrites) dx (T, B, I; may be NULL) and, per layer, dw_ih, dw_hh and db (the gradient of both
   biases, which is the same). Returns 0, -1 when memory runs out, -2 when the sizes are not this build's
   or not valid. */
int NAME(lstm_backward)(int T, int B, int inputs, int hidden, int L, const REAL *x, const REAL *const *w_ih,
                        const REAL *const *w_hh, const REAL *saved, const REAL *dout, REAL *dx,
                        REAL *const *dw_ih, REAL *const *dw_hh, REAL *const *db) {
    if (inputs != I || hidden != H || L < 1 || T < 0 || B < 0) return -2;
    int widest = I > H ? I : H;
    size_t BH = (size_t)B * H, S = BLOCKS * BH;
    /* Per layer: the transposed weight gradients (in, 4H) and (H, 4H); the gradients flowing back in time
       into h and c, and down from the layer above, (B, H) each. Then one step's gate gradients (B, 4H). */
    size_t per_layer = (size_t)widest * G + (size_t)H * G + 3 * BH;
    REAL *buf = calloc((size_t)L * per_layer + 4 * BH, sizeof(REAL));
    if (!buf) return -1;
    REAL *dwt_ih[L], *dwt_hh[L], *dh_next[L], *dc_next[L], *dh_above[L];
    REAL *p = buf;
    for (int l = 0; l < L; l++) {
        dwt_ih[l] = p, p += (size_t)widest * G;
        dwt_hh[l] = p, p += (size_t)H * G;
        dh_next[l] = p, p += BH;
        dc_next[l] = p, p += BH;
        dh_above[l] = p, p += BH;
        memset(db[l], 0, sizeof(REAL) * G);
    }
    REAL *dg = p;
    for (int t = T - 1; t >= 0; t--) {
        for (int l = L - 1; l >= 0; l--) {
            int in_size = l ? H : I;
            const REAL *now = saved + ((size_t)l * T + t) * S;
            const REAL *before = t ? now - S : NULL;
            const REAL *in = l ? now - (size_t)T * S + 6 * BH : x + (size_t)t * B * I;
            const REAL *above = l == L - 1 ? dout + (size_t)t * BH : dh_above[l];
            const REAL *ai = now, *af = now + BH, *ag = now + 2 * BH, *ao = now + 3 * BH, *tc = now + 5 * BH;
            REAL *dhn = dh_next[l], *dcn = dc_next[l];
            for (int b = 0; b < B; b++) {
                REAL *row = dg + (size_t)b * G;
                for (int j = 0; j < H; j++) {
                    size_t e = (size_t)b * H + j;
                    REAL i = ai[e], f = af[e], g = ag[e], o = ao[e], t_c = tc[e];
                    REAL dh = above[e] + dhn[e];
                    REAL dc = dcn[e] + dh * o * ((REAL)1 - t_c * t_c);
                    REAL cprev = before ? before[4 * BH + e] : (REAL)0;
                    row[j] = dc * g * i * ((REAL)1 - i);
                    row[H + j] = dc * cprev * f * ((REAL)1 - f);
                    row[2 * H + j] = dc * i * ((REAL)1 - g * g);
                    row[3 * H + j] = dh * t_c * o * ((REAL)1 - o);
                    dcn[e] = dc * f;
                }
            }
            REAL *down = l ? dh_above[l - 1] : dx ? dx + (size_t)t * B * I : NULL;
            for (int b = 0; b < B; b++) {
                const REAL *row = dg + (size_t)b * G;
                NAME(axpy)(G, (REAL)1, row, db[l]);
                for (int k = 0; k < in_size; k++)
                    NAME(axpy)(G, in[(size_t)b * in_size + k], row, dwt_ih[l] + (size_t)k * G);
                if (before)
                    for (int k = 0; k < H; k++)
                        NAME(axpy)(G, before[6 * BH + (size_t)b * H + k], row, dwt_hh[l] + (size_t)k * G);
                /* Back in time: W_hh^T dg. Down a layer (or into dx): W_ih^T dg. */
                REAL *back = dhn + (size_t)b * H;
                memset(back, 0, sizeof(REAL) * H);
                for (int j = 0; j < G; j++) NAME(axpy)(H, row[j], w_hh[l] + (size_t)j * H, back);
                if (down) {
                    REAL *d = down + (size_t)b * in_size;
                    memset(d, 0, sizeof(REAL) * in_size);
                    for (int j = 0; j < G; j++) NAME(axpy)(in_size, row[j], w_ih[l] + (size_t)j * in_size, d);
                }
            }
        }
    }
    for (int l = 0; l < L; l++) {
        NAME(transpose)(l ? H : I, G, dwt_ih[l], dw_ih[l]);
        NAME(transpose)(H, G, dwt_hh[l], dw_hh[l]);
    }
    free(buf);
    return 0;
}

#undef BLOCKS
#endif
