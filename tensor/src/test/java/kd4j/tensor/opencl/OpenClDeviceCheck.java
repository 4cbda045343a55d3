/*
 * A main for a machine without Maven (the lent GPU): runs every OpenClConformanceTest method on opencl:N and the
 * issue #17 kernel tests (mixed precision / tensor cores, split-K, two-stage reductions), then times the GEMM at
 * 4096^3 with fp32 and bf16 weights and with bf16 a and b (the tensor-core path on NVIDIA sm_80+). Not a test (speed is never asserted); figures go to docs/performance.md.
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
        // the issue #17 kernels: on an NVIDIA sm_80+ device MixedPrecisionGemmTest runs the real mma.sync path
        MixedPrecisionGemmTest.open();
        failed += runAll(MixedPrecisionGemmTest.class);
        MixedPrecisionGemmTest.close();
        failed += runAll(SplitKGemmTest.class);
        TwoStageReductionsTest.open();
        failed += runAll(TwoStageReductionsTest.class);
        TwoStageReductionsTest.close();
        try (OpenClBackend cl = new OpenClBackend(index)) {
            System.out.println("device: " + cl.describe() + ", gemm tiles " + cl.gemmTiles() + ", bf16 gemm: " + cl.bf16GemmPath().description());
            Tensor a16 = cl.empty(DType.BF16, 4096, 4096), b16 = cl.empty(DType.BF16, 4096, 4096), c16 = cl.empty(DType.F32, 4096, 4096);
            cl.fill(a16, 0.5); cl.fill(b16, 0.25);
            for (boolean[] tr : new boolean[][] {{false, false}, {false, true}, {true, false}}) {
                cl.gemm(tr[0], tr[1], 1f, a16, b16, 0f, c16);
                cl.sync();
                long t0 = System.nanoTime();
                for (int r = 0; r < 10; r++) cl.gemm(tr[0], tr[1], 1f, a16, b16, 0f, c16);
                cl.sync();
                double s = (System.nanoTime() - t0) / 1e9 / 10;
                System.out.printf("gemm 4096^3 transA=%b transB=%b a=b=BF16 (%s): %.3f ms, %.1f GFLOP/s (c[0]=%.1f, expect %.1f)%n",
                        tr[0], tr[1], cl.bf16GemmPath(), s * 1e3, 2.0 * 4096 * 4096 * 4096 / s / 1e9, c16.item(0, 0), 0.125 * 4096);
            }
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

    /** Runs every @Test method of a test class; returns the number that failed. */
    private static int runAll(Class<?> tests) throws Exception {
        int failed = 0;
        for (Method m : tests.getDeclaredMethods()) {
            if (!m.isAnnotationPresent(Test.class)) continue;
            m.setAccessible(true);
            var ctor = tests.getDeclaredConstructor();
            ctor.setAccessible(true);
            long t0 = System.nanoTime();
            try {
                m.invoke(ctor.newInstance());
                System.out.printf("PASS %-60s %6.2f s%n", tests.getSimpleName() + "." + m.getName(), (System.nanoTime() - t0) / 1e9);
            } catch (java.lang.reflect.InvocationTargetException e) {
                failed++;
                System.out.println("FAIL " + tests.getSimpleName() + "." + m.getName() + ": " + e.getCause());
            }
        }
        return failed;
    }
}
