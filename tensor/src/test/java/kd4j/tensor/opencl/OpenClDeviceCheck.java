/*
 * A main for a machine without Maven (the lent GPU): runs every OpenClConformanceTest method on opencl:N, then times
 * the GEMM at 4096^3 with fp32 and bf16 weights. Not a test (speed is never asserted); figures go to docs/performance.md.
 * Usage: java -cp tensor-classes:test-classes:junit-jars kd4j.tensor.opencl.OpenClDeviceCheck [deviceIndex]
 */
package kd4j.tensor.opencl;

import java.lang.reflect.Method;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

public final class OpenClDeviceCheck {
    public static void main(String[] args) throws Exception {
        int index = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        for (ClDevice d : ClDevice.list()) System.out.println(d.describe());
        OpenClConformanceTest.open();
        int failed = 0;
        for (Method m : OpenClConformanceTest.class.getDeclaredMethods()) {
            if (!m.isAnnotationPresent(Test.class)) continue;
            m.setAccessible(true);
            long t0 = System.nanoTime();
            try {
                m.invoke(new OpenClConformanceTest());
                System.out.printf("PASS %-60s %6.2f s%n", m.getName(), (System.nanoTime() - t0) / 1e9);
            } catch (java.lang.reflect.InvocationTargetException e) {
                failed++;
                System.out.println("FAIL " + m.getName() + ": " + e.getCause());
            }
        }
        OpenClConformanceTest.close();
        try (OpenClBackend cl = new OpenClBackend(index)) {
            System.out.println("device: " + cl.describe() + ", gemm tiles " + cl.gemmTiles());
            int n = 4096;
            Tensor a = cl.empty(DType.F32, n, n), b = cl.empty(DType.F32, n, n), c = cl.empty(DType.F32, n, n);
            cl.fill(a, 0.5); cl.fill(b, 0.25);
            Tensor bh = cl.empty(DType.BF16, n, n);
            cl.copy(b, bh);
            for (boolean[] tr : new boolean[][] {{false, false}, {false, true}, {true, false}}) {
                for (Tensor w : new Tensor[] {b, bh}) {
                    cl.gemm(tr[0], tr[1], 1f, a, w, 0f, c);   // warm-up: compile and first launch
                    cl.sync();
                    int reps = 10;
                    long t0 = System.nanoTime();
                    for (int r = 0; r < reps; r++) cl.gemm(tr[0], tr[1], 1f, a, w, 0f, c);
                    cl.sync();
                    double s = (System.nanoTime() - t0) / 1e9 / reps;
                    System.out.printf("gemm %d^3 transA=%b transB=%b b=%s: %.3f ms, %.1f GFLOP/s (c[0]=%.1f, expect %.1f)%n",
                            n, tr[0], tr[1], w.dtype(), s * 1e3, 2.0 * n * n * n / s / 1e9, c.item(0, 0), 0.125 * n);
                }
            }
        }
        System.out.println(failed == 0 ? "ALL CONFORMANCE CHECKS PASSED" : failed + " CONFORMANCE CHECKS FAILED");
    }
}
