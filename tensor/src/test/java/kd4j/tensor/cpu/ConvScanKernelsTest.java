/* Mamba causal conv1d and selective scan (forward, backward, decoding steps) vs the reference backend. */
package kd4j.tensor.cpu;

import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import kd4j.tensor.Covers;

@ExtendWith(VectorWidthCondition.class)
class ConvScanKernelsTest {
    @Covers({"causalConv1dBackward", "causalConv1dForward", "causalConv1dStep"})
    @ParameterizedTest(name = "B={0} T={1} C={2} K={3}")
    @CsvSource({"1,1,1,1", "2,7,3,4", "1,13,17,4", "2,33,64,3", "3,5,9,6"})
    void causalConv1d_forwardBackwardAndStep(int b, int t, int ch, int k) {
        for (boolean bias : new boolean[] {true, false}) {
            Compare.Case c = new Compare.Case();
            int x = c.f(Compare.uniform(t, b * t * ch, -1, 1), b, t, ch), w = c.f(Compare.uniform(2, ch * k, -1, 1), ch, k);
            int bs = c.f(Compare.uniform(3, ch, -1, 1), ch), out = c.zeros(b, t, ch), d = c.f(Compare.uniform(4, b * t * ch, -1, 1), b, t, ch);
            int dx = c.zeros(b, t, ch), dw = c.f(Compare.uniform(5, ch * k, -1, 1), ch, k), db = c.f(Compare.uniform(6, ch, -1, 1), ch);
            int xs = c.f(Compare.uniform(7, b * ch, -1, 1), b, ch), state = c.f(Compare.uniform(8, b * ch * (k - 1), -1, 1), b, ch, k - 1);
            int stepOut = c.zeros(b, ch);
            c.run("causalConv1d bias=" + bias, (be, a) -> {
                be.causalConv1dForward(a[x], a[w], bias ? a[bs] : null, a[out]);
                be.causalConv1dBackward(a[d], a[x], a[w], a[dx], a[dw], bias ? a[db] : null);
                be.causalConv1dStep(a[xs], a[w], bias ? a[bs] : null, a[state], a[stepOut]);
            }, 1e-5, 1e-5, out, dx, dw, db, state, stepOut);
        }
    }

    @Covers({"selectiveScanBackward", "selectiveScanForward", "selectiveScanStep"})
    @ParameterizedTest(name = "B={0} T={1} I={2} N={3}")
    @CsvSource({"1,1,1,1", "2,7,3,4", "1,13,17,16", "2,40,9,8", "1,5,33,13"})
    void selectiveScan_forwardBackwardAndStep(int b, int t, int in, int n) {
        Compare.Case c = new Compare.Case();
        int u = c.f(Compare.uniform(t, b * t * in, -1, 1), b, t, in), delta = c.f(Compare.uniform(2, b * t * in, 0.01f, 0.5f), b, t, in);
        int aLog = c.f(Compare.uniform(3, in * n, -1, 1.5f), in, n);
        int bm = c.f(Compare.uniform(4, b * t * n, -1, 1), b, t, n), cm = c.f(Compare.uniform(5, b * t * n, -1, 1), b, t, n);
        int dd = c.f(Compare.uniform(6, in, -1, 1), in), y = c.zeros(b, t, in), dy = c.f(Compare.uniform(7, b * t * in, -1, 1), b, t, in);
        int du = c.zeros(b, t, in), ddelta = c.zeros(b, t, in), daLog = c.f(Compare.uniform(8, in * n, -1, 1), in, n);
        int dbm = c.zeros(b, t, n), dcm = c.zeros(b, t, n), dD = c.f(Compare.uniform(9, in, -1, 1), in);
        int su = c.f(Compare.uniform(10, b * in, -1, 1), b, in), sdelta = c.f(Compare.uniform(11, b * in, 0.01f, 0.5f), b, in);
        int sb = c.f(Compare.uniform(12, b * n, -1, 1), b, n), sc = c.f(Compare.uniform(13, b * n, -1, 1), b, n);
        int state = c.f(Compare.uniform(14, b * in * n, -1, 1), b, in, n), sy = c.zeros(b, in);
        c.run("selectiveScan", (be, a) -> {
            be.selectiveScanForward(a[u], a[delta], a[aLog], a[bm], a[cm], a[dd], a[y]);
            be.selectiveScanBackward(a[dy], a[u], a[delta], a[aLog], a[bm], a[cm], a[dd], a[du], a[ddelta], a[daLog], a[dbm], a[dcm], a[dD]);
            be.selectiveScanStep(a[su], a[sdelta], a[aLog], a[sb], a[sc], a[dd], a[state], a[sy]);
        }, 1e-5 * Math.sqrt(t * in), 1e-4, y, du, ddelta, daLog, dbm, dcm, dD, state, sy);
    }
}
