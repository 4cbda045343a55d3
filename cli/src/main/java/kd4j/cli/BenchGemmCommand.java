/*
 * `kd4j bench gemm`: C = A B on one backend (--device: cpu by default with --threads, or opencl[:N]) for one
 * M x K x N shape, fp32 A and fp32 or bf16 B, optionally transposed. Warm-up runs first (JIT, pack buffers, kernel
 * builds), then --repeats timed runs, each ended by a backend sync so device time is counted; last line is the
 * median "GFLOP/s: <number>" (2 M N K flops per run), so it compares directly with an OpenBLAS sgemm or a cuBLAS
 * run on the same machine.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "gemm", mixinStandardHelpOptions = true, description = "fp32 GEMM throughput of a backend (CPU by default) in GFLOP/s.")
public final class BenchGemmCommand implements Callable<Integer> {
    enum WeightType { fp32, bf16 }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--m", defaultValue = "1024", paramLabel = "M", description = "Rows of A and C (default: ${DEFAULT-VALUE}).")
    int m;
    @Option(names = "--n", defaultValue = "1024", paramLabel = "N", description = "Columns of B and C (default: ${DEFAULT-VALUE}).")
    int n;
    @Option(names = "--k", defaultValue = "1024", paramLabel = "K", description = "Inner dimension (default: ${DEFAULT-VALUE}).")
    int k;
    @Option(names = "--threads", defaultValue = "1", paramLabel = "T", description = "CPU threads (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--dtype", defaultValue = "fp32", paramLabel = "TYPE", description = "Storage type of B: fp32 or bf16 (default: ${DEFAULT-VALUE}).")
    WeightType dtype;
    @Mixin DeviceOptions device = new DeviceOptions();
    @Option(names = "--trans-a", description = "Use A stored [K, M] (C = A^T B).")
    boolean transA;
    @Option(names = "--trans-b", description = "Use B stored [N, K] (C = A B^T, the layout of a Linear weight).")
    boolean transB;
    // bf16: A stored bf16 as well (the mixed-precision GEMM of --precision bf16 training: with --dtype bf16, both
    // inputs bf16, fp32 accumulation; tensor cores on NVIDIA sm_80+). OpenCL only.
    @picocli.CommandLine.Mixin
    PrecisionOption precision;
    @Option(names = "--repeats", defaultValue = "7", paramLabel = "R", description = "Timed runs after warm-up; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    /** CPU time of the calling thread with --threads 1, else of the whole process (-1 where the JVM cannot tell). */
    private long cpuNanos() {
        if (threads == 1 && device.equals("cpu")) return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : -1;
    }

    @Override
    public Integer call() {
        if (m < 1 || n < 1 || k < 1 || threads < 1 || repeats < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--m, --n, --k, --threads and --repeats must be >= 1");
        PrintWriter out = spec.commandLine().getOut();
        try (Backend be = Backends.open(device.spec().equals("cpu") ? "cpu:" + threads : device.spec())) {
            Random r = new Random(1);
            float[] av = new float[m * k], bv = new float[k * n];
            for (int i = 0; i < av.length; i++) av[i] = r.nextFloat() - 0.5f;
            for (int i = 0; i < bv.length; i++) bv[i] = r.nextFloat() - 0.5f;
            Tensor a = transA ? be.fromFloats(av, k, m) : be.fromFloats(av, m, k);
            Tensor b = transB ? be.fromFloats(bv, n, k) : be.fromFloats(bv, k, n), c = be.empty(DType.F32, m, n);
            if (dtype == WeightType.bf16) {
                Tensor half = be.empty(DType.BF16, b.shape());
                be.copy(b, half);
                b = half;
            }
            boolean bf16A = precision.checkedFor(be, spec.commandLine()) == kd4j.autograd.MatmulPrecision.BF16;
            if (bf16A) {
                Tensor half = be.empty(DType.BF16, a.shape());
                be.copy(a, half);
                a = half;
            }
            out.printf("%s; gemm %d x %d x %d, %s%s, A %s, B %s%n", be.describe(), m, k, n, transA ? "T" : "N", transB ? "T" : "N",
                    bf16A ? "bf16" : "fp32", dtype);
            double flops = 2.0 * m * n * k;
            long warmUntil = System.nanoTime() + 1_000_000_000L;   // at least 3 runs and ~1 s: C2 compiles the micro-kernel
            int warm = 0;
            while (warm < 3 || System.nanoTime() < warmUntil) { be.gemm(transA, transB, 1f, a, b, 0f, c); be.sync(); warm++; }
            double[] gflops = new double[repeats];
            long cpu0 = cpuNanos();
            for (int i = 0; i < repeats; i++) {
                long s = System.nanoTime();
                be.gemm(transA, transB, 1f, a, b, 0f, c);
                be.sync();
                double sec = (System.nanoTime() - s) / 1e9;
                gflops[i] = flops / sec / 1e9;
                out.printf("run %d: %.2f ms, %.2f GFLOP/s%n", i + 1, sec * 1e3, gflops[i]);
            }
            double cpuSec = (cpuNanos() - cpu0) / 1e9;
            Arrays.sort(gflops);
            // On a shared machine the wall-clock rate falls whenever another process takes a core; the rate per CPU-second
            // does not, so it shows the kernel's own speed (times the threads = the wall rate on an idle machine, less any
            // wait at joins). One thread: this thread's CPU time (the GEMM runs on it); more: the process's, all threads,
            // over all timed runs (the OS counts it in ticks; JIT and GC threads count too).
            if (cpu0 >= 0 && cpuSec > 0) out.printf("GFLOP per CPU-second: %.2f (all timed runs)%n", flops * repeats / cpuSec / 1e9);
            out.printf("GFLOP/s: %.2f%n", gflops[repeats / 2]);
        }
        out.flush();
        return ExitCodes.OK;
    }
}
