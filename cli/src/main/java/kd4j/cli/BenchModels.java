/*
 * What `kd4j bench train` and `kd4j bench score` share: the options (config or model, batch, seq, threads, device,
 * steps), opening the backend, building a seeded random model from an HF-style config.json (or loading an HF model
 * directory, e.g. a real-size teacher), a fixed random batch, the
 * warm-up/median timing loop and the memory report. Peak memory is reported three ways, as far as each is
 * measurable: the bytes of every backend tensor the run holds (weights, gradients, AdamW moments, the step
 * arena's activations; on OpenCL these are device memory), the JVM heap's peak, and the process's peak RSS
 * (VmHWM from /proc/self/status: heap + native CPU tensors + JIT + everything else).
 */
package kd4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

final class BenchModels {
    /** The options both commands take (a picocli mixin). */
    static final class Options {
        @Option(names = "--config", paramLabel = "CONFIG.json",
                description = "HF-style config.json of the model; weights are random (seeded), e.g. bench/configs/llama-bench.json.")
        Path config;
        @Option(names = "--model", paramLabel = "DIR",
                description = "Instead of --config: an HF model directory (config.json + safetensors), loaded as the job would "
                        + "(score: bf16/fp16 weights kept as stored; train: fp32).")
        Path model;
        @Option(names = "--batch", defaultValue = "8", paramLabel = "B", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
        int batch;
        @Option(names = "--seq", defaultValue = "256", paramLabel = "T", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
        int seq;
        @Option(names = "--threads", defaultValue = "1", paramLabel = "N", description = "CPU threads when --device is cpu (default: ${DEFAULT-VALUE}).")
        int threads;
        @Mixin DeviceOptions device = new DeviceOptions();
        @Option(names = "--steps", defaultValue = "5", paramLabel = "S", description = "Timed steps after warm-up; the median is reported (default: ${DEFAULT-VALUE}).")
        int steps;
        @Option(names = "--warmup", defaultValue = "2", paramLabel = "W", description = "Untimed steps first (JIT, kernel builds, buffers) (default: ${DEFAULT-VALUE}).")
        int warmup;
        @Option(names = "--seed", defaultValue = "1", paramLabel = "SEED", description = "Seed of the weights and the token ids (default: ${DEFAULT-VALUE}).")
        long seed;

        void validate(CommandLine cl) {
            if (batch < 1 || seq < 2 || threads < 1 || steps < 1 || warmup < 0)
                throw new CommandLine.ParameterException(cl, "need --batch >= 1, --seq >= 2, --threads >= 1, --steps >= 1, --warmup >= 0; got --batch "
                        + batch + " --seq " + seq + " --threads " + threads + " --steps " + steps + " --warmup " + warmup);
            if ((config == null) == (model == null))
                throw new CommandLine.ParameterException(cl, "give exactly one of --config CONFIG.json (random weights) and --model DIR (an HF model directory)");
            if (config != null && !Files.isRegularFile(config))
                throw new CommandLine.ParameterException(cl, "--config " + config + ": no such file (an HF-style config.json; see bench/configs/)");
            if (model != null && !Files.isRegularFile(model.resolve("config.json")))
                throw new CommandLine.ParameterException(cl, "--model " + model + ": no config.json there (an HF model directory)");
            if (device.spec().startsWith("cpu:"))
                throw new CommandLine.ParameterException(cl, "--device " + device.spec() + ": give the thread count with --threads, not cpu:N");
        }

        /** What the header names: the config file or the model directory. */
        Path source() { return config != null ? config : model; }

        /** "cpu:threads" for cpu, else the device spec as given. */
        String backendSpec() { return device.spec().equals("cpu") ? "cpu:" + threads : device.spec(); }
    }

    private BenchModels() {}

    static Backend open(Options o) { return Backends.open(o.backendSpec()); }

    /** The seeded random model of --config, or --model's weights (keepHalfPrecision as Models.load: true for inference). */
    static CausalLM model(Options o, Backend be, boolean keepHalfPrecision) {
        return o.model != null ? Models.load(o.model, be, keepHalfPrecision) : Models.randomInit(Models.readConfig(o.config), be, o.seed);
    }

    /** As above; bf16Matrices: --config's random GEMM operands and embeddings in BF16, frozen (as a bf16 checkpoint loads). */
    static CausalLM model(Options o, Backend be, boolean keepHalfPrecision, boolean bf16Matrices) {
        return o.model != null ? Models.load(o.model, be, keepHalfPrecision)
                : Models.randomInit(Models.readConfig(o.config), be, o.seed, bf16Matrices);
    }

    /** Seeded uniform token ids I32 [B, T] in [0, vocab). */
    static Tensor randomIds(Options o, Backend be, int vocab) { return randomIds(o, be, vocab, o.batch, 0); }

    /** rows of seeded ids; stream s > 0 gives another rank its own rows. */
    static Tensor randomIds(Options o, Backend be, int vocab, int rows, int stream) {
        SplittableRandom r = new SplittableRandom(o.seed + 1 + stream);
        int[] ids = new int[rows * o.seq];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(vocab);
        return be.fromInts(ids, rows, o.seq);
    }

    static void header(PrintWriter out, String what, Options o, Backend be, CausalLM model) {
        out.printf("%s; %s %s (%s), %.2fM parameters; batch %d x seq %d = %d tokens per step%n", be.describe(), what,
                o.source(), model.config().architecture(), model.parameters().numel() / 1e6, o.batch, o.seq, o.batch * o.seq);
    }

    /** Prints one line per timed step and returns the median seconds. */
    static double median(PrintWriter out, double[] seconds, long tokens) {
        for (int i = 0; i < seconds.length; i++)
            out.printf("step %d: %.1f ms, %.0f tokens/s%n", i + 1, seconds[i] * 1e3, tokens / seconds[i]);
        double[] s = seconds.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** CPU time of this process so far, all threads (-1 where the JVM cannot tell). */
    static long processCpuNanos() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : -1;
    }

    /**
     * Tokens per CPU-second of the timed steps (the process's CPU time: every thread, JIT and GC included). On a shared
     * machine the wall-clock rate falls whenever another process takes a core, this one does not; with --threads 1 it
     * compares with another program's single-threaded rate measured the same way.
     */
    static void cpuRate(PrintWriter out, long tokens, long cpuNanos) {
        if (cpuNanos > 0) out.printf("tokens per CPU-second: %.1f (timed steps, all threads)%n", tokens / (cpuNanos / 1e9));
    }

    /** Bytes the JVM's threads have allocated on the heap so far (-1 where the JVM cannot tell). */
    static long heapAllocated() {
        return ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemoryEnabled()
                ? t.getTotalThreadAllocatedBytes() : -1;
    }

    /**
     * The heap garbage of the timed steps. A training step keeps its tensors off-heap and reuses its buffers, so once C2
     * has compiled the kernels a step allocates next to nothing; megabytes here mean a kernel still runs interpreted
     * or a vector is boxed (see Simd).
     */
    static void heap(PrintWriter out, long[] perStep) {
        if (Arrays.stream(perStep).anyMatch(b -> b < 0)) return;
        long min = Arrays.stream(perStep).min().orElse(0);
        out.printf("JVM heap allocated per timed step: min %.2f MiB, last %.2f MiB%n", min / 1048576.0,
                perStep[perStep.length - 1] / 1048576.0);
        if (min > BOXED_HEAP_BYTES)
            out.printf("note: every timed step allocated %.1f MiB or more of heap, where a warmed-up step allocates under"
                    + " 1 MiB: some kernel still runs interpreted or with boxed vectors (docs/performance.md, 'Boxed"
                    + " vectors'), so this run's speed is not representative: rerun it (C2 decides afresh in each"
                    + " process), with more --warmup steps if it was still warming up%n", min / 1048576.0);
    }

    /** Heap garbage per step above which bench says the run is not representative (clean steps: 0.1 to 0.8 MiB). */
    static final long BOXED_HEAP_BYTES = 8L << 20;

    static void memory(PrintWriter out, long backendTensorBytes) {
        long heapPeak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans())
            if (pool.getType() == MemoryType.HEAP) heapPeak += pool.getPeakUsage().getUsed();
        out.printf("peak memory: backend tensors %.1f MiB (weights, grads, optimizer state, activations), "
                        + "JVM heap %.1f MiB, process RSS %s%n",
                backendTensorBytes / 1048576.0, heapPeak / 1048576.0, peakRss());
    }

    /** VmHWM of /proc/self/status in MiB, or "n/a" where there is no /proc. */
    static String peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format("%.1f MiB", kb / 1024.0);
                }
        } catch (IOException | RuntimeException e) {
            return "n/a (" + e.getMessage() + ")";
        }
        return "n/a";
    }
}
