/*
 * Checks the oracle itself with values computed by hand (or from closed forms), so that every backend tested
 * against ReferenceBackend is tested against something known to be right.
 */
package kd4j.tensor.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

class ReferenceBackendTest {
    private final Backend be = new ReferenceBackend();

    @Test
    void gemm_2x2_allTransposes() {
        Tensor a = be.fromFloats(new float[] {1, 2, 3, 4}, 2, 2), b = be.fromFloats(new float[] {5, 6, 7, 8}, 2, 2);
        Tensor c = be.fromFloats(new float[] {1, 1, 1, 1}, 2, 2);
        be.gemm(false, false, 1f, a, b, 0f, c);
        assertArrayEquals(new float[] {19, 22, 43, 50}, c.toFloatArray());
        be.gemm(true, false, 1f, a, b, 0f, c);          // a^T b = [[1,3],[2,4]] [[5,6],[7,8]]
        assertArrayEquals(new float[] {26, 30, 38, 44}, c.toFloatArray());
        be.gemm(false, true, 1f, a, b, 0f, c);          // a b^T
        assertArrayEquals(new float[] {17, 23, 39, 53}, c.toFloatArray());
        be.fill(c, 1.0);
        be.gemm(true, true, 2f, a, b, 1f, c);           // 2 a^T b^T + c
        assertArrayEquals(new float[] {47, 63, 69, 93}, c.toFloatArray());
        Tensor bf16 = be.empty(DType.BF16, 2, 2);
        be.copy(b, bf16);                               // small integers are exact in bf16
        be.gemm(false, false, 1f, a, bf16, 0f, c);
        assertArrayEquals(new float[] {19, 22, 43, 50}, c.toFloatArray());
        ShapeException e = assertThrows(ShapeException.class,
                () -> be.gemm(false, false, 1f, a, be.empty(DType.F32, 3, 2), 0f, c));
        assertTrue(e.getMessage().startsWith("gemm: inner dimensions differ"), e.getMessage());
    }

    @Test
    void softmax_andLogSoftmax_ofKnownRow() {
        Tensor x = be.fromDoubles(new double[] {0, Math.log(3), 1000, 1000}, 2, 2), out = be.empty(DType.F64, 2, 2);
        be.softmaxForward(x, out);
        assertArrayEquals(new double[] {0.25, 0.75, 0.5, 0.5}, out.toDoubleArray(), 1e-15);   // no overflow at 1000
        be.logSoftmaxForward(x, out);
        assertArrayEquals(new double[] {Math.log(0.25), Math.log(0.75), Math.log(0.5), Math.log(0.5)},
                out.toDoubleArray(), 1e-12);
    }

    @Test
    void rmsNorm_ofKnownRow() {
        // mean(3^2, 4^2) = 12.5; invRms = 1/sqrt(12.5) with eps 0
        Tensor x = be.fromDoubles(new double[] {3, 4}, 1, 2), w = be.fromDoubles(new double[] {1, 2}, 2);
        Tensor out = be.empty(DType.F64, 1, 2), inv = be.empty(DType.F64, 1);
        be.rmsNormForward(x, w, 0f, out, inv);
        double r = 1 / Math.sqrt(12.5);
        assertEquals(r, inv.item(0), 1e-15);
        assertArrayEquals(new double[] {3 * r, 8 * r}, out.toDoubleArray(), 1e-15);
    }

    @Test
    void rope_rotatesPairsByPositionTimesFrequency() {
        // D = 2, invFreq = pi/2: position 1 rotates (1, 0) by 90 degrees to (0, 1); position 2 by 180 to (-1, 0)
        Tensor x = be.fromDoubles(new double[] {1, 0, 1, 0}, 1, 2, 1, 2), f = be.fromDoubles(new double[] {Math.PI / 2}, 1);
        Tensor out = be.empty(DType.F64, 1, 2, 1, 2);
        be.ropeForward(x, f, 1, out);
        assertArrayEquals(new double[] {0, 1, -1, 0}, out.toDoubleArray(), 1e-15);
        be.ropeBackward(out, f, 1, out);                // the inverse rotation, in place
        assertArrayEquals(new double[] {1, 0, 1, 0}, out.toDoubleArray(), 1e-15);
    }

    @Test
    void attention_withOneKey_returnsItsValue() {
        Tensor q = be.fromDoubles(new double[] {0.3, -2}, 1, 1, 1, 2), k = be.fromDoubles(new double[] {1, 2}, 1, 1, 1, 2);
        Tensor v = be.fromDoubles(new double[] {7, -5}, 1, 1, 1, 2);
        Tensor out = be.empty(DType.F64, 1, 1, 1, 2), lse = be.empty(DType.F64, 1, 1, 1);
        be.attentionForward(q, k, v, 0.5f, 0, null, out, lse);
        assertArrayEquals(new double[] {7, -5}, out.toDoubleArray(), 1e-15);
        assertEquals(0.5 * (0.3 - 4), lse.item(0, 0, 0), 1e-15);
        // two keys with equal scores average their values; a masked key is ignored
        Tensor k2 = be.fromDoubles(new double[] {1, 0, 1, 0}, 1, 2, 1, 2), v2 = be.fromDoubles(new double[] {2, 0, 4, 8}, 1, 2, 1, 2);
        Tensor q2 = be.fromDoubles(new double[] {1, 0}, 1, 1, 1, 2);
        be.attentionForward(q2, k2, v2, 1f, 1, null, out, lse);
        assertArrayEquals(new double[] {3, 4}, out.toDoubleArray(), 1e-15);
        be.attentionForward(q2, k2, v2, 1f, 1, be.fromInts(new int[] {0, 1}, 1, 2), out, lse);
        assertArrayEquals(new double[] {4, 8}, out.toDoubleArray(), 1e-15);
    }

    @Test
    void gelu_andCrossEntropy_knownValues() {
        Tensor x = be.fromDoubles(new double[] {1, -1, 4}, 3), out = be.empty(DType.F64, 3);
        be.geluForward(x, out);   // x * Phi(x): Phi(1) = 0.8413447460685429, Phi(4) = 0.9999683287581669
        assertArrayEquals(new double[] {0.8413447460685429, -(1 - 0.8413447460685429), 4 * 0.9999683287581669},
                out.toDoubleArray(), 1e-14);
        Tensor logits = be.fromDoubles(new double[] {0, 0, 0, 0, 1, 2, 3, 4}, 2, 4);
        Tensor losses = be.empty(DType.F64, 2), lse = be.empty(DType.F64, 2);
        be.crossEntropyForward(logits, be.fromInts(new int[] {3, 0}, 2), -100, losses, lse);
        double lse1 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(4));
        assertArrayEquals(new double[] {Math.log(4), lse1 - 1}, losses.toDoubleArray(), 1e-14);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                be.crossEntropyForward(logits, be.fromInts(new int[] {3, 9}, 2), -100, losses, lse));
        assertTrue(e.getMessage().contains("targets[1] = 9 is outside [0, 4)"), e.getMessage());
    }

    @Test
    void copy_roundsToBf16NearestEven_andHandlesStrides() {
        Tensor x = be.fromFloats(new float[] {1f + 1f / 256, 1f + 3f / 256}, 2), bf = be.empty(DType.BF16, 2);
        be.copy(x, bf);   // halfway cases: 1 + 1/256 rounds to even (1), 1 + 3/256 to 1 + 4/256
        assertArrayEquals(new float[] {1f, 1f + 4f / 256}, bf.toFloatArray());
        Tensor m = be.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), t = be.empty(DType.F32, 3, 2);
        be.copy(m.transpose(0, 1), t);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, t.toFloatArray());
    }

    @Test
    void convAndScanSteps_equalTheWholeSequence() {
        int batches = 1, tokens = 5, channels = 2, width = 3, stateDim = 2;
        java.util.Random r = new java.util.Random(3);
        Tensor x = be.fromDoubles(r.doubles(batches * tokens * channels, -1, 1).toArray(), batches, tokens, channels);
        Tensor w = be.fromDoubles(r.doubles(channels * width, -1, 1).toArray(), channels, width);
        Tensor bias = be.fromDoubles(new double[] {0.5, -0.25}, channels);
        Tensor full = be.empty(DType.F64, batches, tokens, channels);
        be.causalConv1dForward(x, w, bias, full);
        Tensor state = be.zeros(DType.F64, batches, channels, width - 1), y = be.empty(DType.F64, batches, channels);
        for (int t = 0; t < tokens; t++) {
            be.causalConv1dStep(x.select(1, t).contiguous(), w, bias, state, y);
            assertArrayEquals(full.select(1, t).contiguous().toDoubleArray(), y.toDoubleArray(), 1e-14);
        }
        Tensor delta = be.fromDoubles(r.doubles(tokens * channels, 0.1, 1).toArray(), batches, tokens, channels);
        Tensor aLog = be.fromDoubles(r.doubles(channels * stateDim, -1, 1).toArray(), channels, stateDim);
        Tensor bm = be.fromDoubles(r.doubles(tokens * stateDim, -1, 1).toArray(), batches, tokens, stateDim);
        Tensor cm = be.fromDoubles(r.doubles(tokens * stateDim, -1, 1).toArray(), batches, tokens, stateDim);
        Tensor d = be.fromDoubles(new double[] {1, -0.5}, channels);
        Tensor scan = be.empty(DType.F64, batches, tokens, channels);
        be.selectiveScanForward(x, delta, aLog, bm, cm, d, scan);
        Tensor ssm = be.zeros(DType.F64, batches, channels, stateDim);
        for (int t = 0; t < tokens; t++) {
            be.selectiveScanStep(x.select(1, t).contiguous(), delta.select(1, t).contiguous(), aLog,
                    bm.select(1, t).contiguous(), cm.select(1, t).contiguous(), d, ssm, y);
            assertArrayEquals(scan.select(1, t).contiguous().toDoubleArray(), y.toDoubleArray(), 1e-14);
        }
        // first token by hand: s = delta B u, y = s . C + D u
        double[] xs = x.toDoubleArray(), ds = delta.toDoubleArray(), bs = bm.toDoubleArray(), cs = cm.toDoubleArray();
        double y0 = ds[0] * bs[0] * xs[0] * cs[0] + ds[0] * bs[1] * xs[0] * cs[1] + 1 * xs[0];
        assertEquals(y0, scan.item(0, 0, 0), 1e-14);
    }

    @Test
    void adamwStep_firstStepMovesByLrTimesSign() {
        Tensor p = be.fromDoubles(new double[] {1, 1}, 2), g = be.fromDoubles(new double[] {0.25, -4}, 2);
        Tensor m = be.zeros(DType.F64, 2), v = be.zeros(DType.F64, 2);
        be.adamwStep(p, g, m, v, 0.5f, 0.9f, 0.999f, 0f, 0f, 1);   // eps 0: m_hat / sqrt(v_hat) = sign(g)
        assertArrayEquals(new double[] {0.5, 1.5}, p.toDoubleArray(), 1e-12);
    }
}
