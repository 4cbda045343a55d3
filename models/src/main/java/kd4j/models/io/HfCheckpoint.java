/*
 * HuggingFace model directories in and out: config.json + model.safetensors, or shards listed in
 * model.safetensors.index.json. Loading maps every file, checks each tensor the config implies (present,
 * floating dtype, shape) and reports all problems at once before a model is handed out. A training load copies
 * every weight to F32 (trainable). An inference load (keepHalfPrecision) freezes every weight and uses the
 * read-only mapping in place on host backends, keeping BF16/F16 GEMM operands and embeddings as stored (a 0.5B
 * bf16 teacher then takes ~1 GB); norms, biases and the Mamba scan parameters are widened to F32.
 * Pickle checkpoints (pytorch_model.bin, *.pt) are refused: unpickling can execute code. A weight holding NaN or
 * Inf is a problem like a wrong shape (named, with the element), so no command computes with it.
 */
package kd4j.models.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import kd4j.autograd.Parameter;
import kd4j.models.Architectures;
import kd4j.models.CausalLM;
import kd4j.models.ModelConfig;
import kd4j.models.nn.Init;
import kd4j.models.nn.WeightSource;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class HfCheckpoint {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    /** Names some checkpoints use for a tensor kd4j calls by its transformers-5 name. */
    private static final Map<String, String> ALIASES = Map.of(
            "backbone.embeddings.weight", "backbone.embedding.weight");

    private HfCheckpoint() {}

    /** The family config of a model directory (or of a config.json path). */
    public static ModelConfig readConfig(Path dirOrConfig) {
        Path config = Files.isDirectory(dirOrConfig) ? dirOrConfig.resolve(CONFIG) : dirOrConfig;
        return Architectures.parse(ConfigJson.read(config));
    }

    /**
     * Loads dir onto be. keepHalfPrecision keeps BF16/F16 matrices and embeddings as they are in the file
     * (frozen: for scoring and generation); otherwise every weight is F32 and trainable.
     */
    public static CausalLM load(Path dir, Backend be, boolean keepHalfPrecision) {
        refusePickle(dir);
        if (!Files.isDirectory(dir))
            throw new CheckpointFormatException(dir, null, "not a model directory (expected config.json and "
                    + WEIGHTS + " inside)");
        ModelConfig config = readConfig(dir);
        Map<String, SafeTensors> files = openWeights(dir);
        CheckpointWeights src = new CheckpointWeights(be, files, keepHalfPrecision);
        CausalLM model = Architectures.create(config, src);
        src.reportUnused(config);
        src.throwIfProblems(dir, config);
        return model;
    }

    private static void refusePickle(Path dir) {
        Path single = Files.isDirectory(dir) ? null : dir;
        List<Path> pickles = new ArrayList<>();
        if (single != null && isPickleName(single.getFileName().toString())) pickles.add(single);
        if (single == null && Files.isDirectory(dir) && !Files.exists(dir.resolve(WEIGHTS))
                && !Files.exists(dir.resolve(INDEX))) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> isPickleName(p.getFileName().toString())).sorted().forEach(pickles::add);
            } catch (IOException e) {
                throw new UncheckedIOException(dir + ": cannot list: " + e.getMessage(), e);
            }
        }
        if (!pickles.isEmpty())
            throw new CheckpointFormatException(pickles.get(0), null, "pickle checkpoints are refused (unpickling"
                    + " can execute arbitrary code); convert the model to safetensors first\n---> hint: in Python,"
                    + " AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)");
    }

    private static boolean isPickleName(String name) {
        return name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".ckpt")
                || name.endsWith(".pkl");
    }

    /** Tensor name → the opened file holding it. */
    private static Map<String, SafeTensors> openWeights(Path dir) {
        Path index = dir.resolve(INDEX), single = dir.resolve(WEIGHTS);
        Map<String, SafeTensors> byName = new LinkedHashMap<>();
        if (Files.exists(index)) {
            ConfigJson json = ConfigJson.read(index);
            JsonNode map = json.root().get("weight_map");
            if (map == null || !map.isObject())
                throw new CheckpointFormatException(index, "\"weight_map\"", "expected an object of tensor name → file");
            Map<String, SafeTensors> opened = new HashMap<>();
            for (var it = map.fields(); it.hasNext(); ) {
                var e = it.next();
                String shard = e.getValue().asText();
                if (shard.contains("/") || shard.contains("\\") || shard.startsWith("."))
                    throw new CheckpointFormatException(index, "\"weight_map\".\"" + e.getKey() + "\"", "shard name '"
                            + shard + "' must be a plain file name in " + dir);
                SafeTensors st = opened.computeIfAbsent(shard, f -> SafeTensors.open(dir.resolve(f)));
                if (!st.contains(e.getKey()))
                    throw new CheckpointFormatException(st.file(), "tensor '" + e.getKey() + "'", "listed in " + INDEX
                            + " but not in this shard");
                byName.put(e.getKey(), st);
            }
            return byName;
        }
        if (!Files.exists(single))
            throw new CheckpointFormatException(dir, null, "no " + WEIGHTS + " or " + INDEX + " found");
        SafeTensors st = SafeTensors.open(single);
        for (String n : st.names()) byName.put(n, st);
        return byName;
    }

    /** Hands out checkpoint tensors and records every problem instead of stopping at the first. */
    private static final class CheckpointWeights extends WeightSource {
        private final Map<String, SafeTensors> files;
        private final boolean keepHalf;
        private final List<String> problems = new ArrayList<>();
        private final Set<String> used = new HashSet<>();
        private Path firstProblemFile;

        CheckpointWeights(Backend be, Map<String, SafeTensors> files, boolean keepHalf) {
            super(be);
            this.files = files;
            this.keepHalf = keepHalf;
        }

        @Override
        protected Tensor tensor(String name, Init init, boolean mayStayHalf, int[] shape) {
            String stored = files.containsKey(name) ? name : ALIASES.getOrDefault(name, name);
            SafeTensors st = files.get(stored);
            if (st == null) return problem(null, "tensor '" + name + "' is missing (expected " + Arrays.toString(shape)
                    + ")", shape);
            used.add(stored);
            SafeTensors.Entry e = st.entry(stored);
            if (e.dtype() == null || !e.dtype().isFloating())
                return problem(st.file(), "tensor '" + stored + "' has dtype " + e.dtypeName()
                        + ", expected F32, BF16 or F16", shape);
            if (!Arrays.equals(e.shape(), shape))
                return problem(st.file(), "tensor '" + stored + "' has shape " + Arrays.toString(e.shape())
                        + ", expected " + Arrays.toString(shape), shape);
            long bad = st.firstNonFinite(stored);
            if (bad >= 0)
                return problem(st.file(), "tensor '" + stored + "' holds a non-finite value (NaN or Inf) at element "
                        + bad + " " + Arrays.toString(unravel(bad, shape)) + "; the checkpoint is corrupt or was saved "
                        + "from a diverged run", shape);
            Backend be = backend();
            boolean half = e.dtype() == DType.BF16 || e.dtype() == DType.F16;
            if (keepHalf && (e.dtype() == DType.F32 || (half && mayStayHalf))) return st.map(stored, be);
            return st.load(stored, be, DType.F32);
        }

        private static long[] unravel(long flat, int[] shape) {
            long[] at = new long[shape.length];
            for (int d = shape.length - 1; d >= 0; d--) {
                at[d] = flat % shape[d];
                flat /= shape[d];
            }
            return at;
        }

        /**
         * A checkpoint tensor the model never asked for means config.json describes another architecture than the
         * weights (a bias the config does not switch on, an extra norm): refused, since ignoring it gives wrong
         * logits silently. Exempt: rotary inv_freq buffers old checkpoints saved, and lm_head.weight under tied
         * embeddings (transformers ties it to the embedding table and ignores the stored copy).
         */
        void reportUnused(ModelConfig config) {
            for (var e : files.entrySet()) {
                String name = e.getKey();
                if (used.contains(name) || name.endsWith(".rotary_emb.inv_freq")) continue;
                if (name.equals("lm_head.weight") && config.tieWordEmbeddings()) continue;
                problem(e.getValue().file(), "tensor '" + name + "' is in the checkpoint but " + config.architecture()
                        + " with this config.json does not use it (a config flag such as attention_bias, mlp_bias or"
                        + " tie_word_embeddings disagrees with the weights?)", new int[] {0});
            }
        }

        /** An inference load maps weights read-only in place, so none of them may be trained. */
        @Override
        protected boolean trainable(Tensor t) { return !keepHalf; }

        private Tensor problem(Path file, String message, int[] shape) {
            if (firstProblemFile == null && file != null) firstProblemFile = file;
            problems.add((file == null ? "" : file.getFileName() + ": ") + message);
            return Tensor.of(backend().allocate(DType.F32, 0), DType.F32, shape);   // placeholder, never used
        }

        void throwIfProblems(Path dir, ModelConfig config) {
            if (problems.isEmpty()) return;
            StringBuilder sb = new StringBuilder();
            sb.append(problems.size()).append(problems.size() == 1 ? " problem" : " problems")
                    .append(" with the weights of ").append(config.architecture()).append(" (shapes from ")
                    .append(CONFIG).append("):");
            for (int i = 0; i < Math.min(problems.size(), 20); i++) sb.append("\n  ").append(problems.get(i));
            if (problems.size() > 20) sb.append("\n  ... and ").append(problems.size() - 20).append(" more");
            throw new CheckpointFormatException(firstProblemFile != null ? firstProblemFile : dir.resolve(WEIGHTS),
                    null, sb.toString());
        }
    }

    /**
     * Writes model as an HF directory: config.json (transformers 4.x layout, loadable by 4.x and 5) and
     * model.safetensors with every parameter under its HF name in its own dtype (tied weights once).
     */
    public static void save(CausalLM model, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot create: " + e.getMessage(), e);
        }
        ConfigJson.write(dir.resolve(CONFIG), Architectures.toJson(model.config()));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) tensors.put(p.name(), p.data());
        SafeTensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
    }
}
