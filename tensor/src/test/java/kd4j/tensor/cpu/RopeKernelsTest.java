/* Rotary embedding forward/backward vs the reference backend, with a position offset (KV cache). */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import kd4j.tensor.Covers;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@ExtendWith(VectorWidthCondition.class)
class RopeKernelsTest {
    @Covers({"ropeBackward", "ropeForward"})
    @ParameterizedTest(name = "B={0} T={1} H={2} D={3} offset={4}")
    @CsvSource({"1,1,1,2,0", "2,7,3,6,0", "1,13,2,14,5", "2,31,4,64,100", "1,5,2,34,4000", "2,17,3,128,9"})
    void rope_forwardAndBackward(int b, int t, int h, int d, int offset) {
        float[] invFreq = new float[d / 2];
        for (int i = 0; i < d / 2; i++) invFreq[i] = (float) Math.pow(10000, -2.0 * i / d);
        Compare.Case c = new Compare.Case();
        int x = c.f(Compare.uniform(d, b * t * h * d, -2, 2), b, t, h, d), f = c.f(invFreq, d / 2);
        int out = c.zeros(b, t, h, d), dx = c.zeros(b, t, h, d);
        // positions up to ~4000 rad: fp32 angle products agree to ~1e-4 relative, so atol grows with the offset.
        c.run("rope", (be, tt) -> {
            be.ropeForward(tt[x], tt[f], offset, tt[out]);
            be.ropeBackward(tt[x], tt[f], offset, tt[dx]);
        }, 2e-6 + 1e-9 * offset * 2, 1e-5, out, dx);
    }

    /**
     * The CPU kernel keeps its last cos/sin table: calls that change the frequencies (same length, one value apart),
     * the offset or the length in between must each give what a fresh computation gives.
     */
    @Covers({"ropeForward"})
    @Test
    void rope_tableFollowsFrequenciesAndPositions() {
        int b = 2, h = 2, d = 8;
        float[] f1 = {1f, 0.1f, 0.01f, 0.001f}, f2 = {1f, 0.1f, 0.01f, 0.002f};
        // ... including decoding-style single positions that make the table grow, and positions past the shared table
        Object[][] calls = {{f1, 0, 6}, {f2, 0, 6}, {f1, 3, 2}, {f1, 0, 6}, {f1, 7, 6}, {f2, 7, 6}, {f1, 2, 3},
                {f1, 13, 1}, {f1, 14, 1}, {f1, 15, 1}, {f1, 16, 1}, {f1, 40, 1}, {f2, 41, 1},
                {f1, RopeKernels.MAX_TABLE_POSITIONS - 1, 3}, {f1, 5, 2}};
        try (CpuBackend cpu = new CpuBackend(1)) {
            var ref = new kd4j.tensor.reference.ReferenceBackend();
            for (Object[] call : calls) {
                float[] f = (float[]) call[0];
                int offset = (int) call[1], t = (int) call[2];
                float[] x = Compare.uniform(t + offset, b * t * h * d, -2, 2);
                float[] got = new float[0], want = new float[0];
                for (var be : new kd4j.tensor.Backend[] {cpu, ref}) {
                    Tensor out = be.zeros(kd4j.tensor.DType.F32, b, t, h, d);
                    be.ropeForward(be.fromFloats(x, b, t, h, d), be.fromFloats(f, d / 2), offset, out);
                    if (be == cpu) got = out.toFloatArray(); else want = out.toFloatArray();
                }
                // fp32 angle products agree to ~1e-4 relative (see above), so atol grows with the position
                assertArrayEquals(want, got, 1e-6f + 4e-9f * (offset + t), "freq " + java.util.Arrays.toString(f) + " offset " + offset + " T " + t);
            }
        }
    }
}
