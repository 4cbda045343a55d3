/*
 * Mamba's causal depthwise conv1d and selective scan (Mamba-1), forward, backward and one-token decoding steps.
 * Layouts: x, u, delta, y [B, T, C or I] (channels fastest); conv w [C, K]; aLog [I, N]; bMat, cMat [B, T, N].
 * The scan keeps its states per (b, channel) in a per-thread buffer and saves nothing; the backward replays the
 * forward into a per-thread [T + 1, N] (per lane group: [T + 1, N, L]) state buffer, then walks time backwards. Parallelism is
 * over channel blocks, so each dW / dALog / dD element has one writer; the dB / dC contributions (summed over
 * channels) go to per-block [B, T, N] buffers that are added in block order afterwards (same bits for any scheduling).
 * The conv runs L adjacent channels per vector (taps transposed to [K, C]); the scan's forward, replay and backward
 * run L channels per vector too (a channel per lane, Simd.exp), the channels left over one at a time; every state
 * update is the same expression per element in every layout, so the replay reproduces the forward's states exactly.
 * The backward's dB, dC terms of a lane group are kept per lane and summed over the lanes once per block.
 */
package kd4j.tensor.cpu;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static kd4j.tensor.cpu.Simd.LE;
import static kd4j.tensor.cpu.Simd.F;
import static kd4j.tensor.cpu.Simd.FLOAT;
import static kd4j.tensor.cpu.Simd.L;

public final class ConvScanKernels {
    private ConvScanKernels() {}

    private static int channelGrain(int batches, int tokens) { return Math.max(1, 4096 / Math.max(1, batches * tokens)); }

    // ---- causal depthwise conv1d ----

    /**
     * w [C, K] transposed to [K, C] into a per-thread buffer, so that the K taps of L adjacent channels are vector
     * loads; the kernels below run L channels at a time (channels are the fastest dim of x, out, dOut, dX) and keep
     * each lane's arithmetic (mul, then add, in tap and token order) the same as the scalar tail's.
     */
    private static float[] tapsByChannel(MemorySegment w, int channels, int kernel) {
        float[] wt = CONV_TAPS.get();
        if (wt.length < kernel * channels) CONV_TAPS.set(wt = new float[kernel * channels]);
        for (int c = 0; c < channels; c++)
            for (int j = 0; j < kernel; j++) wt[j * channels + c] = w.getAtIndex(FLOAT, (long) c * kernel + j);
        return wt;
    }

    private static final ThreadLocal<float[]> CONV_TAPS = ThreadLocal.withInitial(() -> new float[0]);

    static void causalConv1dForward(Parallel par, MemorySegment x, MemorySegment w, MemorySegment bias, MemorySegment out,
                                    int batches, int tokens, int channels, int kernel) {
        float[] wt = tapsByChannel(w, channels, kernel);
        par.forRange(channels, Math.max(L, channelGrain(batches, tokens)), (c0, c1) -> {
            for (int b = 0; b < batches; b++)
                for (int t = 0; t < tokens; t++) {
                    long row = ((long) b * tokens + t) * channels;
                    int c = c0;
                    if (!Simd.SCALAR)
                        for (; c + L <= c1; c += L) {
                            FloatVector acc = bias == null ? FloatVector.zero(F) : FloatVector.fromMemorySegment(F, bias, 4L * c, LE);
                            for (int j = Math.max(0, kernel - 1 - t); j < kernel; j++)
                                acc = acc.add(FloatVector.fromArray(F, wt, j * channels + c).mul(FloatVector.fromMemorySegment(F, x, 4L * (row + (long) (j - (kernel - 1)) * channels + c), LE)));
                            acc.intoMemorySegment(out, 4L * (row + c), LE);
                        }
                    for (; c < c1; c++) {
                        float acc = bias == null ? 0f : bias.getAtIndex(FLOAT, c);
                        for (int j = Math.max(0, kernel - 1 - t); j < kernel; j++)
                            acc += wt[j * channels + c] * x.getAtIndex(FLOAT, row + (long) (j - (kernel - 1)) * channels + c);
                        out.setAtIndex(FLOAT, row + c, acc);
                    }
                }
        });
    }

    /** dX[b, s, c] = sum_j w[c, j] dOut[b, s + K-1 - j, c]; dW[c, j] += sum dOut[b, t, c] x[b, t - (K-1) + j, c]; dBias += sum dOut. */
    static void causalConv1dBackward(Parallel par, MemorySegment dOut, MemorySegment x, MemorySegment w, MemorySegment dX,
                                     MemorySegment dW, MemorySegment dBias, int batches, int tokens, int channels, int kernel) {
        float[] wt = tapsByChannel(w, channels, kernel);
        par.forRange(channels, Math.max(L, channelGrain(batches, tokens)), (c0, c1) -> {
            int c = c0;
            if (!Simd.SCALAR)
                for (; c + L <= c1; c += L) conv1dBackwardLanes(dOut, x, wt, dX, dW, dBias, batches, tokens, channels, kernel, c);
            for (; c < c1; c++) conv1dBackwardChannel(dOut, x, wt, dX, dW, dBias, batches, tokens, channels, kernel, c);
        });
    }

    /** causalConv1dBackward for the L channels c..c+L-1. */
    private static void conv1dBackwardLanes(MemorySegment dOut, MemorySegment x, float[] wt, MemorySegment dX, MemorySegment dW,
                                            MemorySegment dBias, int batches, int tokens, int channels, int kernel, int c) {
        for (int b = 0; b < batches; b++) {
            long base = (long) b * tokens;
            for (int s = 0; s < tokens; s++) {
                FloatVector acc = FloatVector.zero(F);
                for (int j = 0; j < kernel; j++) {
                    int t = s + kernel - 1 - j;
                    if (t < tokens) acc = acc.add(FloatVector.fromArray(F, wt, j * channels + c).mul(FloatVector.fromMemorySegment(F, dOut, 4L * ((base + t) * channels + c), LE)));
                }
                acc.intoMemorySegment(dX, 4L * ((base + s) * channels + c), LE);
            }
        }
        for (int j = 0; j < kernel; j++) {
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < batches; b++) {
                long base = (long) b * tokens;
                for (int t = Math.max(0, kernel - 1 - j); t < tokens; t++)
                    acc = acc.add(FloatVector.fromMemorySegment(F, dOut, 4L * ((base + t) * channels + c), LE).mul(FloatVector.fromMemorySegment(F, x, 4L * ((base + t - (kernel - 1) + j) * channels + c), LE)));
            }
            // dW is [C, K]: the L lanes go to a column, one element at a time.
            for (int lane = 0; lane < L; lane++) {
                long wi = (long) (c + lane) * kernel + j;
                dW.setAtIndex(FLOAT, wi, dW.getAtIndex(FLOAT, wi) + acc.lane(lane));
            }
        }
        if (dBias != null) {
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < batches; b++)
                for (int t = 0; t < tokens; t++) acc = acc.add(FloatVector.fromMemorySegment(F, dOut, 4L * (((long) b * tokens + t) * channels + c), LE));
            FloatVector.fromMemorySegment(F, dBias, 4L * c, LE).add(acc).intoMemorySegment(dBias, 4L * c, LE);
        }
    }

    /** causalConv1dBackward for one channel (the scalar tail, and scalar mode). */
    private static void conv1dBackwardChannel(MemorySegment dOut, MemorySegment x, float[] wt, MemorySegment dX, MemorySegment dW,
                                              MemorySegment dBias, int batches, int tokens, int channels, int kernel, int c) {
        for (int b = 0; b < batches; b++) {
            long base = (long) b * tokens;
            for (int s = 0; s < tokens; s++) {
                float acc = 0;
                for (int j = 0; j < kernel; j++) {
                    int t = s + kernel - 1 - j;
                    if (t < tokens) acc += wt[j * channels + c] * dOut.getAtIndex(FLOAT, (base + t) * channels + c);
                }
                dX.setAtIndex(FLOAT, (base + s) * channels + c, acc);
            }
        }
        for (int j = 0; j < kernel; j++) {
            float acc = 0;
            for (int b = 0; b < batches; b++) {
                long base = (long) b * tokens;
                for (int t = Math.max(0, kernel - 1 - j); t < tokens; t++)
                    acc += dOut.getAtIndex(FLOAT, (base + t) * channels + c) * x.getAtIndex(FLOAT, (base + t - (kernel - 1) + j) * channels + c);
            }
            long wi = (long) c * kernel + j;
            dW.setAtIndex(FLOAT, wi, dW.getAtIndex(FLOAT, wi) + acc);
        }
        if (dBias != null) {
            float acc = 0;
            for (int b = 0; b < batches; b++)
                for (int t = 0; t < tokens; t++) acc += dOut.getAtIndex(FLOAT, ((long) b * tokens + t) * channels + c);
            dBias.setAtIndex(FLOAT, c, dBias.getAtIndex(FLOAT, c) + acc);
        }
    }

    /** convState [B, C, K-1] holds the previous K-1 inputs, oldest first; shifted in place after the output. */
    static void causalConv1dStep(Parallel par, MemorySegment x, MemorySegment w, MemorySegment bias, MemorySegment state,
                                 MemorySegment out, int batches, int channels, int kernel) {
        par.forRange(batches * channels, 1024, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int c = r % channels;
                long st = (long) r * (kernel - 1);
                float xv = x.getAtIndex(FLOAT, r);
                float acc = bias == null ? 0f : bias.getAtIndex(FLOAT, c);
                for (int j = 0; j < kernel - 1; j++) acc += w.getAtIndex(FLOAT, (long) c * kernel + j) * state.getAtIndex(FLOAT, st + j);
                acc += w.getAtIndex(FLOAT, (long) c * kernel + kernel - 1) * xv;
                out.setAtIndex(FLOAT, r, acc);
                for (int j = 0; j + 1 < kernel - 1; j++) state.setAtIndex(FLOAT, st + j, state.getAtIndex(FLOAT, st + j + 1));
                if (kernel > 1) state.setAtIndex(FLOAT, st + kernel - 2, xv);
            }
        });
    }

    // ---- selective scan ----

    private static final class Scratch {
        float[] a = new float[0], s = new float[0], states = new float[0], dh = new float[0], dA = new float[0];
        float[] dBpart = new float[0], dCpart = new float[0];
        /** backStep's two sums over the state dim for the current step (its outputs besides the arrays). */
        float sumU, sumDelta;
        /** scanLanes' [N, L] decay rates and states, a lane per channel, and a 2L spill for its scalar tail. */
        float[] aLanes = new float[0], sLanes = new float[0];
        /** backwardLanes' replayed states [T + 1, N, L], dh and dA [N, L], and dB, dC lane partials [T, N, L]. */
        float[] hLanes = new float[0], dhLanes = new float[0], dALanes = new float[0], dBLanes = new float[0], dCLanes = new float[0];
        final float[] laneTmp = new float[2 * L];
        /** selectiveScanBackward's per-block dB and dC partials [blocks][B * T * N], held by the calling thread. */
        float[][] blockDB = new float[0][], blockDC = new float[0][];

        void ensureBlocks(int blocks, int size) {
            if (blockDB.length < blocks) { blockDB = java.util.Arrays.copyOf(blockDB, blocks); blockDC = java.util.Arrays.copyOf(blockDC, blocks); }
            for (int k = 0; k < blocks; k++)
                if (blockDB[k] == null || blockDB[k].length < size) { blockDB[k] = new float[size]; blockDC[k] = new float[size]; }
        }

        void ensureLanes(int n) {
            if (aLanes.length < n * L) { aLanes = new float[n * L]; sLanes = new float[n * L]; dhLanes = new float[n * L]; dALanes = new float[n * L]; }
        }

        void ensureLaneHistory(int n, int tokens) {
            ensureLanes(n);
            if (hLanes.length < (tokens + 1) * n * L) hLanes = new float[(tokens + 1) * n * L];
            if (dBLanes.length < tokens * n * L) { dBLanes = new float[tokens * n * L]; dCLanes = new float[tokens * n * L]; }
        }

        void ensure(int n, int tokens) {
            if (a.length < n) { a = new float[n]; s = new float[n]; dh = new float[n]; dA = new float[n]; }
            if (states.length < (tokens + 1) * n) states = new float[(tokens + 1) * n];
            if (dBpart.length < tokens * n) { dBpart = new float[tokens * n]; dCpart = new float[tokens * n]; }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** s = exp(delta A) s + delta B u;  y = s . C + D u; A = -exp(aLog). State starts at 0 for each (b, i). */
    static void selectiveScanForward(Parallel par, MemorySegment u, MemorySegment delta, MemorySegment aLog,
                                     MemorySegment bMat, MemorySegment cMat, MemorySegment d, MemorySegment y,
                                     int batches, int tokens, int inner, int state) {
        // Channels in groups of L lanes (contiguous loads of u, delta, y); the inner % L channels left run one at a time.
        int groups = Simd.SCALAR ? 0 : inner / L, first = groups * L, rest = inner - first;
        if (groups > 0)
            par.forRange(batches * groups, Math.max(1, channelGrain(1, tokens) / L), (g0, g1) -> {
                Scratch sc = SCRATCH.get();
                sc.ensureLanes(state);
                for (int g = g0; g < g1; g++)
                    scanLanes(sc, u, delta, aLog, bMat, cMat, d, y, g / groups, (g % groups) * L, tokens, inner, state);
            });
        if (rest > 0) par.forRange(batches * rest, channelGrain(1, tokens), (r0, r1) -> {
            Scratch sc = SCRATCH.get();
            sc.ensure(state, 1);
            float[] a = sc.a, s = sc.s;
            for (int r = r0; r < r1; r++) {
                int b = r / rest, i = first + r % rest;
                for (int n = 0; n < state; n++) { a[n] = (float) -Math.exp(aLog.getAtIndex(FLOAT, (long) i * state + n)); s[n] = 0f; }
                float dd = d.getAtIndex(FLOAT, i);
                for (int t = 0; t < tokens; t++) {
                    long x = ((long) b * tokens + t) * inner + i, bc = ((long) b * tokens + t) * state;
                    float dt = delta.getAtIndex(FLOAT, x), ut = u.getAtIndex(FLOAT, x);
                    y.setAtIndex(FLOAT, x, stepState(a, s, dt, dt * ut, bMat, cMat, bc, state) + dd * ut);
                }
            }
        });
    }

    /**
     * The forward scan of channels i0..i0+L-1 of batch row b, a channel per lane: s_n = exp(dt a_n) s_n + du B_n for
     * every n (per element the expression of laneStates, stepState and replayStep, Math.exp for the n past
     * Simd.bound(N) as there, so the backward replays these states bit for bit; kept in one loop with y here, which
     * measured faster than calling laneStates), y = sum_n s_n C_n + D u.
     */
    private static void scanLanes(Scratch sc, MemorySegment u, MemorySegment delta, MemorySegment aLog, MemorySegment bMat,
                                  MemorySegment cMat, MemorySegment d, MemorySegment y, int b, int i0, int tokens,
                                  int inner, int state) {
        float[] a = sc.aLanes, s = sc.sLanes, tmp = sc.laneTmp;
        int nv = Simd.bound(state);
        laneDecays(aLog, a, i0, state);
        java.util.Arrays.fill(s, 0, state * L, 0f);
        FloatVector dd = FloatVector.fromMemorySegment(F, d, 4L * i0, LE);
        for (int t = 0; t < tokens; t++) {
            long x = ((long) b * tokens + t) * inner + i0, bc = ((long) b * tokens + t) * state;
            FloatVector dt = FloatVector.fromMemorySegment(F, delta, 4L * x, LE);
            FloatVector ut = FloatVector.fromMemorySegment(F, u, 4L * x, LE), du = dt.mul(ut), acc = FloatVector.zero(F);
            for (int n = 0; n < nv; n++) {
                FloatVector sn = Simd.exp(FloatVector.fromArray(F, a, n * L).mul(dt)).mul(FloatVector.fromArray(F, s, n * L))
                        .add(du.mul(bMat.getAtIndex(FLOAT, bc + n)));
                sn.intoArray(s, n * L);
                acc = sn.fma(FloatVector.broadcast(F, cMat.getAtIndex(FLOAT, bc + n)), acc);
            }
            for (int n = nv; n < state; n++) {
                dt.intoArray(tmp, 0);
                du.intoArray(tmp, L);
                float bn = bMat.getAtIndex(FLOAT, bc + n);
                for (int lane = 0; lane < L; lane++)
                    s[n * L + lane] = (float) Math.exp(tmp[lane] * a[n * L + lane]) * s[n * L + lane] + tmp[L + lane] * bn;
                acc = FloatVector.fromArray(F, s, n * L).fma(FloatVector.broadcast(F, cMat.getAtIndex(FLOAT, bc + n)), acc);
            }
            acc.add(dd.mul(ut)).intoMemorySegment(y, 4L * x, LE);
        }
    }

    /** a[n * L + lane] = -exp(aLog[i0 + lane, n]): the decay rates of L channels, a channel per lane. */
    private static void laneDecays(MemorySegment aLog, float[] a, int i0, int state) {
        for (int n = 0; n < state; n++)
            for (int lane = 0; lane < L; lane++) a[n * L + lane] = (float) -Math.exp(aLog.getAtIndex(FLOAT, (long) (i0 + lane) * state + n));
    }

    /**
     * One step of L channels' states (at element x of delta and u), a channel per lane: next[n] = exp(dt a_n) prev[n]
     * + du B_n for every n, du = dt u (next may be prev). Per element this is the expression of stepState and
     * replayStep, with Simd.exp for n below Simd.bound(N) and Math.exp past it as there, so every layout computes the
     * same state bits.
     */
    private static void laneStates(float[] a, float[] prev, int po, float[] next, int no, MemorySegment delta, MemorySegment u,
                                   long x, MemorySegment bMat, long bc, int state, float[] tmp) {
        int nv = Simd.bound(state);
        FloatVector dt = FloatVector.fromMemorySegment(F, delta, 4L * x, LE), du = dt.mul(FloatVector.fromMemorySegment(F, u, 4L * x, LE));   // loaded here: vectors passed to a call may be boxed
        for (int n = 0; n < nv; n++)
            Simd.exp(FloatVector.fromArray(F, a, n * L).mul(dt)).mul(FloatVector.fromArray(F, prev, po + n * L))
                    .add(du.mul(bMat.getAtIndex(FLOAT, bc + n))).intoArray(next, no + n * L);
        if (nv == state) return;
        dt.intoArray(tmp, 0);
        du.intoArray(tmp, L);
        for (int n = nv; n < state; n++) {
            float bn = bMat.getAtIndex(FLOAT, bc + n);
            for (int lane = 0; lane < L; lane++)
                next[no + n * L + lane] = (float) Math.exp(tmp[lane] * a[n * L + lane]) * prev[po + n * L + lane] + tmp[L + lane] * bn;
        }
    }

    /**
     * The backward of channels i0..i0+L-1 of batch row b, a channel per lane: replays the states into sc.hLanes,
     * then walks time backwards as backStep does for one channel. dU, dDelta are written; dALog, dD accumulated;
     * the dB, dC terms (sums over channels) go to the lane partials sc.dBLanes, sc.dCLanes [T, N, L].
     */
    private static void backwardLanes(Scratch sc, MemorySegment dY, MemorySegment u, MemorySegment delta, MemorySegment aLog,
                                      MemorySegment bMat, MemorySegment cMat, MemorySegment d, MemorySegment dU,
                                      MemorySegment dDelta, MemorySegment dALog, MemorySegment dD, int b, int i0, int tokens,
                                      int inner, int state) {
        float[] a = sc.aLanes, h = sc.hLanes, dA = sc.dALanes;
        int nl = state * L;
        laneDecays(aLog, a, i0, state);
        java.util.Arrays.fill(h, 0, nl, 0f);
        java.util.Arrays.fill(sc.dhLanes, 0, nl, 0f);
        java.util.Arrays.fill(dA, 0, nl, 0f);
        for (int t = 0; t < tokens; t++) {
            long x = ((long) b * tokens + t) * inner + i0, bc = ((long) b * tokens + t) * state;
            laneStates(a, h, t * nl, h, (t + 1) * nl, delta, u, x, bMat, bc, state, sc.laneTmp);
        }
        FloatVector dDacc = FloatVector.zero(F);
        for (int t = tokens - 1; t >= 0; t--) {
            long x = ((long) b * tokens + t) * inner + i0, bc = ((long) b * tokens + t) * state;
            dDacc = dDacc.add(FloatVector.fromMemorySegment(F, dY, 4L * x, LE).mul(FloatVector.fromMemorySegment(F, u, 4L * x, LE)));
            laneBackStep(sc, dY, u, delta, bMat, cMat, d, i0, dU, dDelta, x, bc, t * nl, state);
        }
        for (int n = 0; n < state; n++)
            for (int lane = 0; lane < L; lane++) {
                long ai = (long) (i0 + lane) * state + n;
                dALog.setAtIndex(FLOAT, ai, dALog.getAtIndex(FLOAT, ai) + dA[n * L + lane] * a[n * L + lane]);
            }
        FloatVector.fromMemorySegment(F, dD, 4L * i0, LE).add(dDacc).intoMemorySegment(dD, 4L * i0, LE);
    }

    /**
     * Step t of backwardLanes (a method of its own, so that C2 compiles it small, with Simd.exp inlined): on entry
     * sc.dhLanes holds a_{t+1} dh_{t+1}; writes dU, dDelta at x, adds the dB, dC lane partials at row t and dA, and
     * leaves a_t dh_t. prev is the offset of h_{t-1} in sc.hLanes (and of row t in the partials).
     */
    private static void laneBackStep(Scratch sc, MemorySegment dY, MemorySegment u, MemorySegment delta, MemorySegment bMat,
                                     MemorySegment cMat, MemorySegment d, int i0, MemorySegment dU, MemorySegment dDelta,
                                     long x, long bc, int prev, int state) {
        float[] a = sc.aLanes, h = sc.hLanes, dh = sc.dhLanes, dA = sc.dALanes, dBL = sc.dBLanes, dCL = sc.dCLanes, tmp = sc.laneTmp;
        int nv = Simd.bound(state), cur = prev + state * L, tn = prev;
        FloatVector g = FloatVector.fromMemorySegment(F, dY, 4L * x, LE), dt = FloatVector.fromMemorySegment(F, delta, 4L * x, LE), ut = FloatVector.fromMemorySegment(F, u, 4L * x, LE);
        FloatVector accU = FloatVector.zero(F), accDelta = FloatVector.zero(F);
        for (int n = 0; n < state; n++) {
            int o = n * L;
            float bs = bMat.getAtIndex(FLOAT, bc + n);
            FloatVector bn = FloatVector.broadcast(F, bs), an = FloatVector.fromArray(F, a, o);
            FloatVector dhn = FloatVector.fromArray(F, dh, o).add(g.mul(cMat.getAtIndex(FLOAT, bc + n)));
            FloatVector at;
            if (n < nv) at = Simd.exp(dt.mul(an));
            else {
                dt.intoArray(tmp, 0);
                for (int lane = 0; lane < L; lane++) tmp[L + lane] = (float) Math.exp(tmp[lane] * a[o + lane]);
                at = FloatVector.fromArray(F, tmp, L);
            }
            FloatVector.fromArray(F, dCL, tn + o).add(g.mul(FloatVector.fromArray(F, h, cur + o))).intoArray(dCL, tn + o);
            FloatVector dhdt = dhn.mul(dt);
            FloatVector.fromArray(F, dBL, tn + o).add(dhdt.mul(ut)).intoArray(dBL, tn + o);
            accU = accU.add(dhdt.mul(bn));
            FloatVector ah = at.mul(FloatVector.fromArray(F, h, prev + o));
            accDelta = accDelta.add(dhn.mul(an.mul(ah).add(ut.mul(bs))));
            FloatVector.fromArray(F, dA, o).add(dhdt.mul(ah)).intoArray(dA, o);
            dhn.mul(at).intoArray(dh, o);
        }
        g.mul(FloatVector.fromMemorySegment(F, d, 4L * i0, LE)).add(accU).intoMemorySegment(dU, 4L * x, LE);
        accDelta.intoMemorySegment(dDelta, 4L * x, LE);
    }

    /** s = exp(dt a) s + du B; returns s . C. Vector over the state dim N. */
    private static float stepState(float[] a, float[] s, float dt, float du, MemorySegment bMat, MemorySegment cMat,
                                   long bc, int state) {
        int n = 0, ub = Simd.bound(state);
        float yv = 0;
        if (ub > 0) {
            FloatVector vdt = FloatVector.broadcast(F, dt), vdu = FloatVector.broadcast(F, du), acc = FloatVector.zero(F);
            for (; n < ub; n += L) {
                FloatVector sv = Simd.exp(FloatVector.fromArray(F, a, n).mul(vdt)).mul(FloatVector.fromArray(F, s, n))
                        .add(FloatVector.fromMemorySegment(F, bMat, 4L * (bc + n), LE).mul(vdu));
                sv.intoArray(s, n);
                acc = sv.fma(FloatVector.fromMemorySegment(F, cMat, 4L * (bc + n), LE), acc);
            }
            yv = Simd.sumLanes(acc);
        }
        for (; n < state; n++) {
            s[n] = (float) Math.exp(dt * a[n]) * s[n] + du * bMat.getAtIndex(FLOAT, bc + n);
            yv += s[n] * cMat.getAtIndex(FLOAT, bc + n);
        }
        return yv;
    }

    /**
     * Backward through time for one (b, i), with h_t the state after step t and a_t = exp(delta_t A):
     * dh_t = dY_t C_t + a_{t+1} dh_{t+1};  dU_t = dY_t D + sum_n dh_t delta_t B_t;
     * dDelta_t = sum_n dh_t (A a_t h_{t-1} + B_t u_t);  dB_t += dh_t delta_t u_t;  dC_t += dY_t h_t;
     * dALog += sum_t dh_t delta_t a_t h_{t-1} A;  dD += sum_t dY_t u_t.
     */
    static void selectiveScanBackward(Parallel par, MemorySegment dY, MemorySegment u, MemorySegment delta, MemorySegment aLog,
                                      MemorySegment bMat, MemorySegment cMat, MemorySegment d, MemorySegment dU,
                                      MemorySegment dDelta, MemorySegment dALog, MemorySegment dB, MemorySegment dC,
                                      MemorySegment dD, int batches, int tokens, int inner, int state) {
        long bcCount = (long) batches * tokens * state;
        dB.asSlice(0, bcCount * 4).fill((byte) 0);
        dC.asSlice(0, bcCount * 4).fill((byte) 0);
        // dB and dC sum over channels, which are split across threads: each block keeps its own partial sums and
        // they are added in block order afterwards, so the result does not depend on which thread finished first.
        int grain = channelGrain(batches, tokens), blocks = par.blockCount(inner, grain);
        // The partials live in the calling thread's scratch (blocks x B*T*N floats each, kept for the next call): every
        // element up to bcCount is overwritten below, batch by batch, so a larger earlier call leaves nothing behind
        // (ConvScanKernelsTest runs a smaller case after a larger one on one thread, against the reference).
        Scratch callerScratch = SCRATCH.get();
        callerScratch.ensureBlocks(blocks, (int) bcCount);
        float[][] blockDB = callerScratch.blockDB, blockDC = callerScratch.blockDC;
        par.forRange(inner, grain, (i0, i1) -> {
            int block = par.blockOf(inner, grain, i0);
            float[] myDB = blockDB[block], myDC = blockDC[block];
            Scratch sc = SCRATCH.get();
            sc.ensure(state, tokens);
            // L channels per vector while whole groups fit in the block, then one channel at a time.
            int laneEnd = Simd.SCALAR ? i0 : i0 + (i1 - i0) / L * L;
            if (laneEnd > i0) sc.ensureLaneHistory(state, tokens);
            float[] a = sc.a, h = sc.states, dh = sc.dh, dA = sc.dA, dBp = sc.dBpart, dCp = sc.dCpart;
            for (int b = 0; b < batches; b++) {
                java.util.Arrays.fill(dBp, 0, tokens * state, 0f);
                java.util.Arrays.fill(dCp, 0, tokens * state, 0f);
                if (laneEnd > i0) {
                    java.util.Arrays.fill(sc.dBLanes, 0, tokens * state * L, 0f);
                    java.util.Arrays.fill(sc.dCLanes, 0, tokens * state * L, 0f);
                    for (int i = i0; i < laneEnd; i += L)
                        backwardLanes(sc, dY, u, delta, aLog, bMat, cMat, d, dU, dDelta, dALog, dD, b, i, tokens, inner, state);
                }
                for (int i = laneEnd; i < i1; i++) {
                    for (int n = 0; n < state; n++) { a[n] = (float) -Math.exp(aLog.getAtIndex(FLOAT, (long) i * state + n)); h[n] = 0f; dh[n] = 0f; dA[n] = 0f; }
                    // Replay: h[(t + 1) * N + n] is the state after step t; h[0..N) is the zero initial state.
                    for (int t = 0; t < tokens; t++) {
                        long x = ((long) b * tokens + t) * inner + i, bc = ((long) b * tokens + t) * state;
                        float dt = delta.getAtIndex(FLOAT, x);
                        replayStep(a, h, t * state, dt, dt * u.getAtIndex(FLOAT, x), bMat, bc, state);
                    }
                    float dd = d.getAtIndex(FLOAT, i), dDacc = 0;
                    for (int t = tokens - 1; t >= 0; t--) {
                        long x = ((long) b * tokens + t) * inner + i, bc = ((long) b * tokens + t) * state;
                        float g = dY.getAtIndex(FLOAT, x), dt = delta.getAtIndex(FLOAT, x), ut = u.getAtIndex(FLOAT, x);
                        int prev = t * state, cur = prev + state, tn = t * state;
                        dDacc += g * ut;
                        backStep(sc, a, h, prev, cur, tn, g, dt, ut, bMat, cMat, bc, state);
                        dU.setAtIndex(FLOAT, x, g * dd + sc.sumU);
                        dDelta.setAtIndex(FLOAT, x, sc.sumDelta);
                    }
                    for (int n = 0; n < state; n++) {
                        long ai = (long) i * state + n;
                        dALog.setAtIndex(FLOAT, ai, dALog.getAtIndex(FLOAT, ai) + dA[n] * a[n]);
                    }
                    dD.setAtIndex(FLOAT, i, dD.getAtIndex(FLOAT, i) + dDacc);
                }
                if (laneEnd > i0)   // the lane groups' dB, dC partials, each (t, n) summed over its L lanes
                    for (int e = 0; e < tokens * state; e++) {
                        dBp[e] += Simd.sumLanes(FloatVector.fromArray(F, sc.dBLanes, e * L));
                        dCp[e] += Simd.sumLanes(FloatVector.fromArray(F, sc.dCLanes, e * L));
                    }
                int base = b * tokens * state;
                System.arraycopy(dBp, 0, myDB, base, tokens * state);
                System.arraycopy(dCp, 0, myDC, base, tokens * state);
            }
        });
        for (int block = 0; block < blocks; block++)
            for (int e = 0; e < bcCount; e++) {
                dB.setAtIndex(FLOAT, e, dB.getAtIndex(FLOAT, e) + blockDB[block][e]);
                dC.setAtIndex(FLOAT, e, dC.getAtIndex(FLOAT, e) + blockDC[block][e]);
            }
    }

    /**
     * The replay of one forward step inside the backward: h[cur..] = exp(dt a) h[prev..] + du B, the same expression
     * and the same vector/scalar split as stepState, so the replayed states are the forward's bits.
     */
    private static void replayStep(float[] a, float[] h, int prev, float dt, float du, MemorySegment bMat, long bc, int state) {
        int n = 0, ub = Simd.bound(state), cur = prev + state;
        if (ub > 0) {
            FloatVector vdt = FloatVector.broadcast(F, dt), vdu = FloatVector.broadcast(F, du);
            for (; n < ub; n += L)
                Simd.exp(FloatVector.fromArray(F, a, n).mul(vdt)).mul(FloatVector.fromArray(F, h, prev + n))
                        .add(FloatVector.fromMemorySegment(F, bMat, 4L * (bc + n), LE).mul(vdu)).intoArray(h, cur + n);
        }
        for (; n < state; n++) h[cur + n] = (float) Math.exp(dt * a[n]) * h[prev + n] + du * bMat.getAtIndex(FLOAT, bc + n);
    }

    /**
     * One step of backward through time for one channel (the channels left over by backwardLanes' groups of L, and
     * scalar mode; scalar: it is the rare path): on entry sc.dh holds a_{t+1} dh_{t+1};
     * adds this step's dB, dC partials (at tn), dA, leaves a_t dh_t in sc.dh and the sums over n of dh dt B (into
     * sc.sumU) and dh (A a h_{t-1} + B u) (into sc.sumDelta).
     */
    private static void backStep(Scratch sc, float[] a, float[] h, int prev, int cur, int tn, float g, float dt, float ut,
                                 MemorySegment bMat, MemorySegment cMat, long bc, int state) {
        float[] dh = sc.dh, dA = sc.dA, dBp = sc.dBpart, dCp = sc.dCpart;
        float sumU = 0, sumDelta = 0;
        for (int n = 0; n < state; n++) {
            float bn = bMat.getAtIndex(FLOAT, bc + n);
            float dhn = dh[n] + g * cMat.getAtIndex(FLOAT, bc + n);
            float at = (float) Math.exp(dt * a[n]);
            dCp[tn + n] += g * h[cur + n];
            dBp[tn + n] += dhn * dt * ut;
            sumU += dhn * dt * bn;
            float ah = at * h[prev + n];
            sumDelta += dhn * (a[n] * ah + bn * ut);
            dA[n] += dhn * dt * ah;
            dh[n] = dhn * at;
        }
        sc.sumU = sumU;
        sc.sumDelta = sumDelta;
    }

    /** One decoding step: state [B, I, N] in place; u, delta, y [B, I]; bMat, cMat [B, N]. */
    static void selectiveScanStep(Parallel par, MemorySegment u, MemorySegment delta, MemorySegment aLog, MemorySegment bMat,
                                  MemorySegment cMat, MemorySegment d, MemorySegment stateSeg, MemorySegment y,
                                  int batches, int inner, int state) {
        par.forRange(batches * inner, 256, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int b = r / inner, i = r % inner;
                float dt = delta.getAtIndex(FLOAT, r), ut = u.getAtIndex(FLOAT, r), yv = 0;
                long st = (long) r * state, bc = (long) b * state;
                for (int n = 0; n < state; n++) {
                    float a = (float) -Math.exp(aLog.getAtIndex(FLOAT, (long) i * state + n));
                    float s = (float) Math.exp(dt * a) * stateSeg.getAtIndex(FLOAT, st + n) + dt * ut * bMat.getAtIndex(FLOAT, bc + n);
                    stateSeg.setAtIndex(FLOAT, st + n, s);
                    yv += s * cMat.getAtIndex(FLOAT, bc + n);
                }
                y.setAtIndex(FLOAT, r, yv + d.getAtIndex(FLOAT, i) * ut);
            }
        });
    }
}
