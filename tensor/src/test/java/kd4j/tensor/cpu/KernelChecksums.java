/*
 * Runs every CPU kernel family once on fixed pseudo-random inputs and digests the raw bits of every output, one
 * 64-bit FNV-1a digest per family. JitDeterminismTest compares these digests between a child JVM that only
 * interprets (-Xint: the Vector API's Java fallback, no intrinsics) and this JVM after C2 has compiled the kernels.
 * main prints "family=hex" lines so the child's answer can be read from its stdout.
 */
package kd4j.tensor.cpu;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import kd4j.tensor.Backend.Divergence;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

final class KernelChecksums {
    private final CpuBackend be;
    private final Map<String, Long> digests = new LinkedHashMap<>();

    KernelChecksums(CpuBackend be) { this.be = be; }

    public static void main(String[] args) {
        try (CpuBackend be = new CpuBackend(2)) {
            for (Map.Entry<String, Long> e : new KernelChecksums(be).run().entrySet())
                System.out.println(e.getKey() + "=" + Long.toHexString(e.getValue()));
        }
    }

    private Tensor rand(long seed, float lo, float hi, int... shape) {
        Random r = new Random(seed);
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * r.nextFloat();
        return be.fromFloats(v, shape);
    }

    private Tensor zeros(int... shape) { return be.empty(DType.F32, shape); }

    private Tensor bf16(Tensor f32) {
        Tensor t = be.empty(DType.BF16, f32.shape());
        be.copy(f32, t);
        return t;
    }

    private void digest(String family, Object... outputs) {
        long h = digests.getOrDefault(family, 0xcbf29ce484222325L);
        for (Object o : outputs) {
            if (o instanceof Tensor t) {
                for (float f : t.toFloatArray()) h = (h ^ Float.floatToRawIntBits(f)) * 0x100000001b3L;
            } else if (o instanceof Double d) {
                h = (h ^ Double.doubleToRawLongBits(d)) * 0x100000001b3L;
            } else {
                throw new IllegalArgumentException("cannot digest " + o);
            }
        }
        digests.put(family, h);
    }

    /** Sizes are odd on purpose: each kernel runs its vector body and its scalar tail. */
    Map<String, Long> run() {
        digests.clear();
        int rows = 5, cols = 203;
        Tensor x = rand(1, -8, 8, rows, cols), y = rand(2, -8, 8, rows, cols), d = rand(3, -1, 1, rows, cols);
        Tensor bias = rand(4, -1, 1, cols), o1 = zeros(rows, cols), o2 = zeros(rows, cols);

        be.add(x, bias, o1); be.mul(x, y, o2); digest("elementwise.binary", o1, o2);
        be.siluForward(x, o1); be.siluBackward(d, x, o2); digest("elementwise.silu", o1, o2);
        be.geluForward(x, o1); be.geluBackward(d, x, o2); digest("elementwise.gelu", o1, o2);
        Tensor wide = rand(5, -30, 30, rows, cols);
        be.softplusForward(wide, o1); be.softplusBackward(d, wide, o2); digest("elementwise.softplus", o1, o2);
        Tensor dUp = zeros(rows, cols);
        be.swigluForward(x, y, o1); be.swigluBackward(d, x, y, o2, dUp); digest("elementwise.swiglu", o1, o2, dUp);

        digest("reduce.sum", be.sum(x), be.sumOfSquares(x));
        be.softmaxForward(x, o1); be.softmaxBackward(d, o1, o2); digest("reduce.softmax", o1, o2);
        be.logSoftmaxForward(x, o1); be.logSoftmaxBackward(d, o1, o2); digest("reduce.logSoftmax", o1, o2);

        for (boolean bfw : new boolean[] {false, true}) {
            Tensor w = rand(6, 0.5f, 1.5f, cols), inv = zeros(rows), mean = zeros(rows), dw = zeros(cols), db = zeros(cols);
            Tensor wt = bfw ? bf16(w) : w;
            be.rmsNormForward(x, wt, 1e-5f, o1, inv); be.rmsNormBackward(d, x, wt, inv, o2, dw);
            digest("norm.rms", o1, inv, o2, dw);
            be.layerNormForward(x, w, bias, 1e-5f, o1, mean, inv); be.layerNormBackward(d, x, w, mean, inv, o2, dw, db);
            digest("norm.layer", o1, mean, inv, o2, dw, db);
        }

        int m = 37, k = 45, n = 29;
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true})
                for (boolean bfb : new boolean[] {false, true}) {
                    Tensor a = ta ? rand(7, -1, 1, k, m) : rand(7, -1, 1, m, k);
                    Tensor b = tb ? rand(8, -1, 1, n, k) : rand(8, -1, 1, k, n);
                    if (bfb) b = bf16(b);
                    Tensor c = rand(9, -1, 1, m, n);
                    be.gemm(ta, tb, 0.75f, a, b, 0.5f, c);
                    digest("gemm", c);
                }

        int bt = 2, t = 11, h = 4, hkv = 2, hd = 16;
        float[] invFreq = new float[hd / 2];
        for (int i = 0; i < hd / 2; i++) invFreq[i] = (float) Math.pow(10000, -2.0 * i / hd);
        Tensor q = rand(10, -2, 2, bt, t, h, hd), qo = zeros(bt, t, h, hd), qd = zeros(bt, t, h, hd);
        be.ropeForward(q, be.fromFloats(invFreq, hd / 2), 7, qo); be.ropeBackward(q, be.fromFloats(invFreq, hd / 2), 7, qd);
        digest("rope", qo, qd);

        int[] ids = new int[24];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7 + 3) % 11;
        Tensor table = rand(11, -1, 1, 11, 37), emb = zeros(24, 37), dTable = rand(12, -1, 1, 11, 37);
        be.embeddingForward(be.fromInts(ids, 24), table, emb); be.embeddingBackward(rand(13, -1, 1, 24, 37), be.fromInts(ids, 24), dTable);
        digest("embedding", emb, dTable);

        int s = 3 + t;
        int[] mask = new int[bt * s];
        for (int i = 0; i < mask.length; i++) mask[i] = i % 5 == 1 ? 0 : 1;
        Tensor kk = rand(14, -2, 2, bt, s, hkv, hd), vv = rand(15, -2, 2, bt, s, hkv, hd), km = be.fromInts(mask, bt, s);
        Tensor out = zeros(bt, t, h, hd), lse = zeros(bt, h, t), dOut = rand(16, -1, 1, bt, t, h, hd);
        Tensor dq = zeros(bt, t, h, hd), dk = zeros(bt, s, hkv, hd), dv = zeros(bt, s, hkv, hd);
        be.attentionForward(q, kk, vv, 0.25f, 3, km, out, lse);
        be.attentionBackward(dOut, q, kk, vv, out, lse, 0.25f, 3, km, dq, dk, dv);
        digest("attention", out, lse, dq, dk, dv);

        int[] targets = {3, -100, 200, 0, 17};
        Tensor tg = be.fromInts(targets, rows), losses = zeros(rows), lseR = zeros(rows), dl = rand(17, 0.5f, 1.5f, rows);
        be.crossEntropyForward(x, tg, -100, losses, lseR); be.crossEntropyBackward(dl, x, tg, lseR, -100, o1);
        digest("crossEntropy", losses, lseR, o1);

        for (Divergence div : Divergence.values()) {
            Tensor per = zeros(rows);
            be.distillForward(div, 2f, x, y, per); be.distillBackward(div, 2f, dl, x, y, o1);
            digest("distill." + div, per, o1);
        }
        int topK = 4;
        int[] tk = new int[rows * topK];
        for (int i = 0; i < tk.length; i++) tk[i] = i == 3 ? -1 : (i * 37 + 5) % cols;
        Tensor tkIds = be.fromInts(tk, rows, topK), probs = rand(18, 0, 0.2f, rows, topK), per = zeros(rows);
        be.sparseDistillForward(2f, x, tkIds, probs, per, lseR); be.sparseDistillBackward(2f, dl, x, tkIds, probs, lseR, o1);
        digest("distill.sparse", per, lseR, o1);

        int ch = 19, kw = 4, inner = 21, state = 19;
        Tensor cx = rand(19, -1, 1, bt, t, ch), cw = rand(20, -1, 1, ch, kw), cb = rand(21, -1, 1, ch), cOut = zeros(bt, t, ch);
        Tensor cd = rand(22, -1, 1, bt, t, ch), cdx = zeros(bt, t, ch), cdw = zeros(ch, kw), cdb = zeros(ch);
        Tensor cState = rand(23, -1, 1, bt, ch, kw - 1), cStepOut = zeros(bt, ch);
        be.causalConv1dForward(cx, cw, cb, cOut); be.causalConv1dBackward(cd, cx, cw, cdx, cdw, cdb);
        be.causalConv1dStep(rand(24, -1, 1, bt, ch), cw, cb, cState, cStepOut);
        digest("conv1d", cOut, cdx, cdw, cdb, cState, cStepOut);

        Tensor u = rand(25, -1, 1, bt, t, inner), delta = rand(26, 0.01f, 0.5f, bt, t, inner), aLog = rand(27, -1, 1.5f, inner, state);
        Tensor bm = rand(28, -1, 1, bt, t, state), cm = rand(29, -1, 1, bt, t, state), dd = rand(30, -1, 1, inner), yy = zeros(bt, t, inner);
        Tensor dy = rand(31, -1, 1, bt, t, inner), du = zeros(bt, t, inner), ddelta = zeros(bt, t, inner), daLog = zeros(inner, state);
        Tensor dbm = zeros(bt, t, state), dcm = zeros(bt, t, state), dD = zeros(inner);
        Tensor sState = rand(32, -1, 1, bt, inner, state), sy = zeros(bt, inner);
        be.selectiveScanForward(u, delta, aLog, bm, cm, dd, yy);
        be.selectiveScanBackward(dy, u, delta, aLog, bm, cm, dd, du, ddelta, daLog, dbm, dcm, dD);
        be.selectiveScanStep(rand(33, -1, 1, bt, inner), rand(34, 0.01f, 0.5f, bt, inner), aLog,
                rand(35, -1, 1, bt, state), rand(36, -1, 1, bt, state), dd, sState, sy);
        digest("selectiveScan", yy, du, ddelta, daLog, dbm, dcm, dD, sState, sy);

        Tensor p = rand(37, -1, 1, rows, cols), g = rand(38, -1, 1, rows, cols), mm = zeros(rows, cols), vvv = zeros(rows, cols);
        Tensor p2 = rand(39, -1, 1, rows, cols), buf = zeros(rows, cols);
        for (int step = 1; step <= 3; step++) {
            be.adamwStep(p, g, mm, vvv, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
            be.sgdStep(p2, g, buf, 0.1f, 0.9f, 0.01f);
        }
        digest("optim", p, mm, vvv, p2, buf);
        return new LinkedHashMap<>(digests);
    }
}
