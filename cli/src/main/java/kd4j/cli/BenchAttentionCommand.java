/*
 * `kd4j bench attention`: causal self-attention forward + backward on the CPU backend for [1, T, H, D] (GQA via
 * --kv-heads). Reports median forward and backward times, and memory: the bytes of every tensor the call touches
 * (inputs, outputs, the saved lse) and the JVM heap's peak, which stays flat because the kernels keep only
 * per-thread tiles, never a [T, T] score matrix. Last line: "fwd+bwd ms: <number>".
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Callable;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.cpu.NativeMemory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "attention", mixinStandardHelpOptions = true, description = "Causal attention forward+backward time and memory on the CPU backend.")
public final class BenchAttentionCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--seq", defaultValue = "1024", paramLabel = "T", description = "Sequence length (default: ${DEFAULT-VALUE}).")
    int seq;
    @Option(names = "--heads", defaultValue = "8", paramLabel = "H", description = "Query heads (default: ${DEFAULT-VALUE}).")
    int heads;
    @Option(names = "--kv-heads", paramLabel = "HKV", description = "Key/value heads (default: --heads).")
    Integer kvHeads;
    @Option(names = "--head-dim", defaultValue = "64", paramLabel = "D", description = "Head dimension (default: ${DEFAULT-VALUE}).")
    int headDim;
    @Option(names = "--batch", defaultValue = "1", paramLabel = "B", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--threads", defaultValue = "1", paramLabel = "T", description = "CPU threads (default: ${DEFAULT-VALUE}).")
    int threads;
    @Option(names = "--repeats", defaultValue = "5", paramLabel = "R", description = "Timed runs after warm-up (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Override
    public Integer call() {
        int hkv = kvHeads == null ? heads : kvHeads;
        if (seq < 1 || heads < 1 || hkv < 1 || headDim < 1 || batch < 1 || threads < 1 || repeats < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "all sizes, --threads and --repeats must be >= 1");
        if (heads % hkv != 0)
            throw new CommandLine.ParameterException(spec.commandLine(), "--heads " + heads + " must be a multiple of --kv-heads " + hkv);
        PrintWriter out = spec.commandLine().getOut();
        try (Backend be = Backends.open("cpu:" + threads)) {
            NativeMemory.GLOBAL.resetPeak();
            long nativeBefore = NativeMemory.GLOBAL.outstandingBytes();
            Random r = new Random(1);
            Tensor q = rand(be, r, batch, seq, heads, headDim), k = rand(be, r, batch, seq, hkv, headDim), v = rand(be, r, batch, seq, hkv, headDim);
            Tensor dOut = rand(be, r, batch, seq, heads, headDim);
            Tensor o = be.empty(DType.F32, batch, seq, heads, headDim), lse = be.empty(DType.F32, batch, heads, seq);
            Tensor dq = be.empty(DType.F32, q.shape()), dk = be.empty(DType.F32, k.shape()), dv = be.empty(DType.F32, v.shape());
            float scale = (float) (1 / Math.sqrt(headDim));
            long tensorBytes = 0;
            for (Tensor t : new Tensor[] {q, k, v, dOut, o, lse, dq, dk, dv}) tensorBytes += t.numel() * 4;
            out.printf("%s; attention B=%d T=%d H=%d Hkv=%d D=%d%n", be.describe(), batch, seq, heads, hkv, headDim);
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) p.resetPeakUsage();
            double[] fwd = new double[repeats], bwd = new double[repeats], both = new double[repeats];
            var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long heapAllocated = 0;
            long warmUntil = System.nanoTime() + 2_000_000_000L;   // at least 3 runs and ~2 s: C2 compiles the kernels
            for (int warm = 0; warm < 3 || System.nanoTime() < warmUntil; warm++) {
                be.attentionForward(q, k, v, scale, 0, null, o, lse);
                be.attentionBackward(dOut, q, k, v, o, lse, scale, 0, null, dq, dk, dv);
            }
            heapAllocated = -threadBean.getTotalThreadAllocatedBytes();
            for (int i = 0; i < repeats; i++) {
                long s0 = System.nanoTime();
                be.attentionForward(q, k, v, scale, 0, null, o, lse);
                long s1 = System.nanoTime();
                be.attentionBackward(dOut, q, k, v, o, lse, scale, 0, null, dq, dk, dv);
                long s2 = System.nanoTime();
                fwd[i] = (s1 - s0) / 1e6; bwd[i] = (s2 - s1) / 1e6; both[i] = (s2 - s0) / 1e6;
                out.printf("run %d: forward %.2f ms, backward %.2f ms%n", i + 1, fwd[i], bwd[i]);
            }
            heapAllocated += threadBean.getTotalThreadAllocatedBytes();
            long nativePeak = NativeMemory.GLOBAL.peakBytes() - nativeBefore;
            long heapPeak = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
                if (p.getType() == MemoryType.HEAP) heapPeak += p.getPeakUsage().getUsed();
            long scoreMatrix = (long) batch * heads * seq * seq * 4;
            out.printf("memory: tensors %.1f MiB (off-heap), JVM heap peak %.1f MiB; a full [B, H, T, T] fp32 score matrix would be %.1f MiB%n",
                    tensorBytes / 1048576.0, heapPeak / 1048576.0, scoreMatrix / 1048576.0);
            out.printf("peak memory: %.1f MiB off-heap (measured peak of the backend's native allocations), %.1f KiB heap allocated by the %d timed runs%n",
                    nativePeak / 1048576.0, heapAllocated / 1024.0, repeats);
            Arrays.sort(fwd); Arrays.sort(bwd); Arrays.sort(both);
            out.printf("forward ms: %.2f, backward ms: %.2f%n", fwd[repeats / 2], bwd[repeats / 2]);
            out.printf("fwd+bwd ms: %.2f%n", both[repeats / 2]);
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static Tensor rand(Backend be, Random r, int... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() * 2 - 1;
        return be.fromFloats(v, shape);
    }
}
