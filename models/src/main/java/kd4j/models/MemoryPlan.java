/*
 * The memory a job will need, worked out before it starts and printed, and a refusal with the numbers when it
 * cannot fit the backend: parameters, gradients and AdamW state for training, activations per micro-batch, the
 * teacher of online KD, and for inference jobs (score, cache-logits, generate) the weights as they stay (bf16
 * kept bf16; mapped from the file on host backends), two layers of activations (LayerArenas) and one block of
 * logits (ChunkedLogits). Parameter counts are exact: the model is built over a weight source that records
 * shapes and allocates nothing. Activations are an estimate from the op list of one layer (fp32), stated as
 * such. Not a measurement: `kd4j bench` and the runs' metrics report the real peaks.
 */
package kd4j.models;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kd4j.models.io.HfCheckpoint;
import kd4j.models.io.SafeTensors;
import kd4j.models.mamba.MambaConfig;
import kd4j.models.nn.Init;
import kd4j.models.nn.WeightSource;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.cpu.CpuBackend;
import kd4j.tensor.reference.ReferenceBackend;

public record MemoryPlan(String job, String device, List<Line> lines, long capacityBytes) {
    /**
     * One row: what, bytes, whether it is mapped from a file (page cache, not tensor memory) and whether it lives on
     * the Java heap (not tensor memory either).
     */
    public record Line(String what, long bytes, boolean mapped, String detail, boolean heap) {
        public Line(String what, long bytes, boolean mapped, String detail) { this(what, bytes, mapped, detail, false); }
    }

    /** Thrown by requireFits: the message is the plan itself and what to change. */
    public static final class DoesNotFit extends IllegalStateException {
        public DoesNotFit(String message) { super(message); }
    }

    /** Bytes the backend must hold (everything not mapped from a file nor on the heap). */
    public long tensorBytes() { return lines.stream().filter(l -> !l.mapped() && !l.heap()).mapToLong(Line::bytes).sum(); }

    public long totalBytes() { return lines.stream().mapToLong(Line::bytes).sum(); }

    /** True when the capacity is unknown or the tensor bytes fit it. */
    public boolean fits() { return capacityBytes < 0 || tensorBytes() <= capacityBytes; }

    /** The plan as a small table, ending with the total against the capacity. */
    public String table() {
        StringBuilder sb = new StringBuilder("memory plan for " + job + " on " + device + ":\n");
        for (Line l : lines)
            sb.append(String.format(Locale.ROOT, "  %-34s %10s%s%n", l.what(), human(l.bytes()),
                    (l.mapped() ? "  (mapped from the checkpoint file, not tensor memory)" : l.heap() ? "  (Java heap, not tensor memory)" : "")
                            + (l.detail().isEmpty() ? "" : "  " + l.detail())));
        sb.append(String.format(Locale.ROOT, "  %-34s %10s of %s available%s", "tensor memory needed",
                human(tensorBytes()), capacityBytes < 0 ? "?" : human(capacityBytes), fits() ? "" : "  DOES NOT FIT"));
        return sb.toString();
    }

    /** Throws DoesNotFit (table and hint) when the plan exceeds the capacity. */
    public void requireFits(String hint) {
        if (!fits()) throw new DoesNotFit(table() + "\n---> hint: " + hint);
    }

    // ==== building plans ====

    /** One parameter as the model declares it: numel and whether an inference load may keep it in half precision. */
    record Weight(String name, long numel, boolean mayStayHalf) {}

    /** The parameters of config, exactly as the model registers them (tied weights once). */
    static List<Weight> weights(ModelConfig config) {
        ShapeRecorder rec = new ShapeRecorder();
        Architectures.create(config, rec);
        return rec.weights;
    }

    public static long parameterCount(ModelConfig config) {
        return weights(config).stream().mapToLong(Weight::numel).sum();
    }

    /**
     * Bytes of the weights of an inference load of dir on be (HfCheckpoint.load with keepHalfPrecision): GEMM
     * operands and embeddings as stored, everything else widened to F32. On host backends those kept as stored are
     * mapped from the files.
     */
    static long[] inferenceWeightBytes(ModelConfig config, Path dir) {
        Map<String, DType> stored = storedDtypes(dir);
        long asStored = 0, widened = 0;
        for (Weight w : weights(config)) {
            DType dt = stored.getOrDefault(w.name(), DType.F32);
            boolean keep = dt == DType.F32 || (w.mayStayHalf() && (dt == DType.BF16 || dt == DType.F16));
            if (keep) asStored += w.numel() * dt.byteSize();
            else widened += w.numel() * Float.BYTES;
        }
        return new long[] {asStored, widened};
    }

    /** Tensor name → dtype over the checkpoint's files (single file or shards). */
    static Map<String, DType> storedDtypes(Path dir) {
        Map<String, DType> out = new HashMap<>();
        if (dir == null || !Files.isDirectory(dir)) return out;
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".safetensors")
                    && f.getFileName().toString().startsWith("model")).toList()) {
                SafeTensors st = SafeTensors.open(f);
                for (String n : st.names()) if (st.entry(n).dtype() != null) out.put(n, st.entry(n).dtype());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(dir + ": cannot list: " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * Forward-only jobs (score, cache-logits, generate) of the model in dir: weights as they stay, two layers of
     * activations for batch x seq tokens, and one block of logits (logitsBlockBytes, or the last position only
     * for generation: pass 0 and the plan counts batch x vocab).
     */
    public static MemoryPlan inference(String job, Path dir, int batch, int seq, long logitsBlockBytes, Backend be) {
        return inference(job, dir, batch, seq, logitsBlockBytes, false, be);
    }

    /**
     * As above; bf16MatmulInputs (--precision bf16) adds the bf16 copies LinearOps makes of the linear layers' inputs
     * (two layers live, and the head's input) and, for weights stored wider than bf16, of two layers' weights and
     * the head's (made per block of logits and dropped with it).
     */
    public static MemoryPlan inference(String job, Path dir, int batch, int seq, long logitsBlockBytes,
                                       boolean bf16MatmulInputs, Backend be) {
        ModelConfig config = HfCheckpoint.readConfig(dir);
        long tokens = (long) batch * seq;
        long[] w = inferenceWeightBytes(config, dir);
        boolean host = isHost(be);
        List<Line> lines = new ArrayList<>();
        lines.add(new Line(String.format(Locale.ROOT, "weights (%,d parameters)", parameterCount(config)), w[0], host,
                "as stored in " + dir.getFileName()));
        if (w[1] > 0) lines.add(new Line("weights widened to fp32", w[1], false, "norms, biases, scan parameters"));
        lines.add(new Line("activations, 2 layers live", 2 * layerActivationFloats(config, false) * tokens * 4,
                false, "estimate; batch " + batch + " x seq " + seq));
        lines.add(new Line("embeddings + final norm", 3L * config.hiddenSize() * tokens * 4, false, ""));
        long logits = logitsBlockBytes > 0
                ? Math.min(logitsBlockBytes, tokens * config.vocabSize() * 4L) + tokens * 8L
                : (long) batch * config.vocabSize() * 4;
        lines.add(new Line(logitsBlockBytes > 0 ? "logits: one block of positions" : "logits: last position",
                logits, false, logitsBlockBytes > 0 ? "never [batch, seq, vocab] whole" : ""));
        if (bf16MatmulInputs) {
            Map<String, DType> stored = storedDtypes(dir);
            boolean wider = weights(config).stream().anyMatch(wt -> wt.mayStayHalf()
                    && stored.getOrDefault(wt.name(), DType.F32) != DType.BF16);
            long head = (long) config.vocabSize() * config.hiddenSize();
            long perLayer = Math.max(0, linearWeightNumel(config) - head) / Math.max(1, config.numHiddenLayers());
            long copies = 2 * (2 * linearInputFloats(config) * tokens + tokens * config.hiddenSize())
                    + (wider ? 2 * (2 * perLayer + head) : 0);
            lines.add(new Line(wider ? "bf16 copies of linear inputs and weights" : "bf16 copies of linear inputs", copies,
                    false, "--precision bf16" + (wider ? "; weights stored wider than bf16, 2 layers + head" : "")));
        }
        if (be instanceof CpuBackend && host)
            lines.add(new Line("GEMM panels of the frozen weights", Math.min(CpuBackend.frozenWeightPanelBudget(),
                    4 * linearWeightNumel(config)), false, "packed once, fp32; at most kd4j.gemmWeightCacheBytes", true));
        if (config instanceof TransformerConfig t && logitsBlockBytes == 0)
            lines.add(new Line("KV cache", 2L * config.numHiddenLayers() * batch * seq * t.numKeyValueHeads()
                    * t.headDim() * 4, false, "fp32, " + seq + " positions"));
        return new MemoryPlan(job, be.name(), lines, be.memoryCapacityBytes());
    }

    /**
     * A training job: fp32 parameters, gradients and AdamW's two moments (16 bytes a parameter), the activations
     * one micro-batch saves for backward with their gradients, the fp32 logits and their gradient, and the teacher
     * of online KD (teacherDir, or null) as an inference load with its logits for the same tokens.
     * checkpointActivations (run.activationCheckpointing) keeps only each layer's input and recomputes one layer.
     * bf16MatmulInputs (run.precision bf16) adds the bf16 copies LinearOps makes of every linear layer's weight and
     * input (kept for backward) and of the largest output gradient (the logits', cast once in backward).
     */
    public static MemoryPlan training(ModelConfig student, int microBatch, int seq, boolean checkpointActivations,
                                      boolean bf16MatmulInputs, Path teacherDir, Backend be) {
        long tokens = (long) microBatch * seq, params = parameterCount(student);
        long perLayer = layerActivationFloats(student, true) * tokens * 4;
        long layers = student.numHiddenLayers();
        List<Line> lines = new ArrayList<>();
        lines.add(new Line(String.format(Locale.ROOT, "parameters (%,d, fp32)", params), params * 4, false, ""));
        lines.add(new Line("gradients (fp32)", params * 4, false, ""));
        lines.add(new Line("AdamW moments (2 x fp32)", params * 8, false, ""));
        long saved = checkpointActivations
                ? layers * student.hiddenSize() * tokens * 4 + 2 * perLayer
                : 2 * layers * perLayer;
        lines.add(new Line("activations + their gradients", saved, false, "estimate; micro-batch " + microBatch
                + " x seq " + seq + (checkpointActivations ? ", activation checkpointing" : "")));
        lines.add(new Line("logits + dlogits (fp32)", 2 * tokens * student.vocabSize() * 4, false, ""));
        if (bf16MatmulInputs) {
            long inputs = linearInputFloats(student) * tokens;
            long liveLayers = checkpointActivations ? 1 : layers;
            long head = tokens * student.hiddenSize();
            lines.add(new Line("bf16 copies of linear weights", 2 * linearWeightNumel(student), false, "mixed precision"));
            lines.add(new Line("bf16 copies of linear inputs + dlogits", 2 * (liveLayers * inputs + head)
                    + 2 * tokens * student.vocabSize(), false, "mixed precision" + (checkpointActivations ? ", one layer at a time" : "")));
        }
        if (teacherDir != null) {
            ModelConfig teacher = HfCheckpoint.readConfig(teacherDir);
            long[] w = inferenceWeightBytes(teacher, teacherDir);
            boolean host = isHost(be);
            lines.add(new Line("teacher weights", w[0], host, "online KD, " + teacherDir.getFileName()));
            lines.add(new Line("teacher activations + logits", w[1] + 2 * layerActivationFloats(teacher, false)
                    * tokens * 4 + tokens * teacher.vocabSize() * 4, false, "estimate"));
        }
        return new MemoryPlan("pretrain", be.name(), lines, be.memoryCapacityBytes());
    }

    /**
     * fp32 values one layer materialises per token: its op outputs (norms, projections, RoPE'd q/k, attention
     * output, residual adds, the MLP's gate/up/product/down; for Mamba the in_proj halves, conv, activations, x_proj,
     * dt, scan output and gate). Training adds the attention's saved per-row statistics.
     */
    static long layerActivationFloats(ModelConfig config, boolean training) {
        long c = config.hiddenSize();
        return switch (config) {
            case TransformerConfig t -> {
                long q = (long) t.numAttentionHeads() * t.headDim(), kv = (long) t.numKeyValueHeads() * t.headDim();
                long norms = t.qkNorm() ? q + kv : 0;
                long floats = 6 * c + 3 * q + 4 * kv + norms + 3L * t.intermediateSize();
                yield training ? floats + 2L * t.numAttentionHeads() : floats;
            }
            case MambaConfig m -> 4 * c + 8L * m.intermediateSize() + m.timeStepRank() + 2L * m.stateSize();
            default -> 16 * c;
        };
    }

    /** Elements of the weights that enter a GEMM as a linear layer's W (the embedding table only when tied to the head). */
    static long linearWeightNumel(ModelConfig config) {
        long n = 0;
        for (Weight w : weights(config))
            if (w.mayStayHalf() && (config.tieWordEmbeddings() || !w.name().contains("embed"))) n += w.numel();
        return n;
    }

    /** Per token and decoder layer, the elements of the linear layers' inputs (each projection casts its own copy). */
    static long linearInputFloats(ModelConfig config) {
        long c = config.hiddenSize();
        return switch (config) {
            case TransformerConfig t -> 3 * c + (long) t.numAttentionHeads() * t.headDim() + 2 * c + t.intermediateSize();
            case MambaConfig m -> c + m.intermediateSize() + m.timeStepRank() + m.intermediateSize();
            default -> 8 * c;
        };
    }

    static boolean isHost(Backend be) {
        String n = be.name();
        return n.startsWith("cpu") || n.startsWith("reference");
    }

    /** "1.23 GiB". */
    public static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        double v = bytes;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
        return String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }

    /** Records each parameter's name, shape and half-precision eligibility; allocates nothing. */
    private static final class ShapeRecorder extends WeightSource {
        final List<Weight> weights = new ArrayList<>();

        ShapeRecorder() { super(new ReferenceBackend()); }

        @Override
        protected Tensor tensor(String name, Init init, boolean mayStayHalf, int[] shape) {
            weights.add(new Weight(name, Tensor.numel(shape), mayStayHalf));
            return Tensor.of(backend().allocate(DType.F32, 0), DType.F32, shape);
        }

        @Override
        protected boolean trainable(Tensor t) { return false; }
    }

    /** For tests: the recorded parameter names of config, in registration order. */
    static List<String> parameterNames(ModelConfig config) {
        return weights(config).stream().map(Weight::name).toList();
    }
}
