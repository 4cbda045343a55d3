/* Rotary embedding forward/backward vs the reference backend, with a position offset (KV cache). */
package kd4j.tensor.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RopeKernelsTest {
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
}
