/*
 * Everything a training run needs, as six records (model, data, optimizer, schedule, run, kd) read from one JSON
 * file with command-line overrides merged on top. The file and the flags fill the same records through the same
 * parser, so an unknown key or a bad value is reported the same way: file, line and key, with a did-you-mean.
 * In the spirit of nanoGPT's configurator, without exec: a missing key takes the default written beside it.
 */
package kd4j.train;

import static kd4j.train.ConfigErrors.firstLine;
import static kd4j.train.ConfigErrors.locate;
import static kd4j.train.ConfigErrors.path;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import kd4j.autograd.MatmulPrecision;
import kd4j.train.ConfigErrors.Checker;

public record TrainConfig(Model model, Data data, Optimizer optimizer, Schedule schedule, Run run, Kd kd) {

    /**
     * The student. Exactly one of: init (an HF model directory whose weights are the starting point) or config
     * (a config.json, or a directory holding one, for a randomly initialised model seeded by run.seed).
     * tokenizer (optional): a folder whose tokenizer files are copied into the exported model, so the result is a
     * complete HF model folder.
     */
    public record Model(String init, String config, String tokenizer) {}

    /**
     * Training data (a directory written by `kd4j prepare`, or a Megatron .bin/.idx prefix), the validation data
     * (null: the validation split of train), and the shape of one micro-batch. Tokens per optimizer step =
     * batchSize * seqLength * gradAccum.
     */
    public record Data(String train, String validation, Integer seqLength, Integer batchSize, Integer gradAccum) {
        public Data {
            seqLength = seqLength == null ? 256 : seqLength;
            batchSize = batchSize == null ? 8 : batchSize;
            gradAccum = gradAccum == null ? 1 : gradAccum;
        }
    }

    /** AdamW with decoupled weight decay on the DECAY group only; clip = max global gradient norm (0 = off). */
    public record Optimizer(Double lr, Double weightDecay, Double beta1, Double beta2, Double eps, Double clip) {
        public Optimizer {
            lr = lr == null ? 3e-4 : lr;
            weightDecay = weightDecay == null ? 0.1 : weightDecay;
            beta1 = beta1 == null ? 0.9 : beta1;
            beta2 = beta2 == null ? 0.95 : beta2;
            eps = eps == null ? 1e-8 : eps;
            clip = clip == null ? 1.0 : clip;
        }
    }

    /** Learning-rate schedule kinds. WSD = warm-up, stable, then decay over the last decayFraction of steps. */
    public enum ScheduleKind { COSINE, WSD, CONSTANT }

    /**
     * Linear warm-up over warmupSteps, then the kind's shape down to lr * minLrRatio at the last step
     * (CONSTANT stays at lr).
     */
    public record Schedule(ScheduleKind kind, Integer warmupSteps, Double minLrRatio, Double decayFraction) {
        public Schedule {
            kind = kind == null ? ScheduleKind.COSINE : kind;
            warmupSteps = warmupSteps == null ? 0 : warmupSteps;
            minLrRatio = minLrRatio == null ? 0.1 : minLrRatio;
            decayFraction = decayFraction == null ? 0.2 : decayFraction;
        }
    }

    /**
     * The run: its folder, its budget (maxSteps, or maxTokens when maxSteps is 0), how often to evaluate, write
     * a checkpoint and log, and seed/threads/device. threads 0 = all cores. activationCheckpointing: backward
     * recomputes each decoder/Mamba layer's forward instead of keeping its activations (same gradients, bit for
     * bit; far less activation memory; one more forward per step). precision: the linear layers' GEMM inputs,
     * fp32 (default) or bf16 (mixed precision: bf16 inputs, fp32 accumulation, fp32 master weights and AdamW
     * state; OpenCL devices only, the CPU backend refuses it).
     */
    public record Run(String out, Long maxSteps, Long maxTokens, Integer evalInterval, Integer evalBatches,
                      Integer checkpointInterval, Integer keepCheckpoints, Integer logInterval, Long seed,
                      Integer threads, String device, Boolean activationCheckpointing, MatmulPrecision precision) {
        public Run {
            out = out == null ? "runs/pretrain" : out;
            maxSteps = maxSteps == null ? 0L : maxSteps;
            maxTokens = maxTokens == null ? 0L : maxTokens;
            evalInterval = evalInterval == null ? 100 : evalInterval;
            evalBatches = evalBatches == null ? 20 : evalBatches;
            checkpointInterval = checkpointInterval == null ? 500 : checkpointInterval;
            keepCheckpoints = keepCheckpoints == null ? 2 : keepCheckpoints;
            logInterval = logInterval == null ? 1 : logInterval;
            seed = seed == null ? 1234L : seed;
            threads = threads == null ? 0 : threads;
            device = device == null ? "cpu" : device;
            activationCheckpointing = activationCheckpointing != null && activationCheckpointing;
            precision = precision == null ? MatmulPrecision.FP32 : precision;
        }
    }

    /**
     * Logit distillation (Peng et al.; kd4j.distill.kd reads it): mode none (default), online (teacher: a model
     * folder) or offline (logits: a cache from cache-logits); preset vanilla or peng-best; alpha (a number,
     * linear:FROM:TO or wsd:PEAK[:END]), tau, tau2, divergence, skew and tail override the preset's (or the
     * defaults'). Values are kept as given; the KD job checks them before anything is loaded (kd4j pretrain passes
     * that check to load, so a bad value from the file is named with its line and key like any other). Being part of this
     * config, a resumed run is checked against them like every other section.
     */
    public record Kd(String mode, String teacher, String logits, String preset, String alpha, Double tau,
                     Boolean tau2, String divergence, Double skew, String tail) {
        public Kd {
            tau2 = tau2 != null && tau2;
        }

        /** Whether the run distils: a mode other than none, or a preset without a mode. */
        public boolean enabled() { return mode != null ? !mode.equalsIgnoreCase("none") : preset != null; }
    }

    public TrainConfig {
        model = model == null ? new Model(null, null, null) : model;
        data = data == null ? new Data(null, null, null, null, null) : data;
        optimizer = optimizer == null ? new Optimizer(null, null, null, null, null, null) : optimizer;
        schedule = schedule == null ? new Schedule(null, null, null, null) : schedule;
        run = run == null ? new Run(null, null, null, null, null, null, null, null, null, null, null, null, null) : run;
        kd = kd == null ? new Kd(null, null, null, null, null, null, null, null, null, null) : kd;
    }

    /** A run without logit distillation. */
    public TrainConfig(Model model, Data data, Optimizer optimizer, Schedule schedule, Run run) {
        this(model, data, optimizer, schedule, run, null);
    }

    /** Every default, nothing set. */
    public static TrainConfig defaults() { return new TrainConfig(null, null, null, null, null, null); }

    /** Tokens consumed by one optimizer step. */
    public long tokensPerStep() { return (long) data.batchSize() * data.seqLength() * data.gradAccum(); }

    /** The step budget: run.maxSteps, or maxTokens / tokensPerStep (rounded up) when maxSteps is 0. */
    public long totalSteps() {
        if (run.maxSteps() > 0) return run.maxSteps();
        return (run.maxTokens() + tokensPerStep() - 1) / tokensPerStep();
    }

    // ==== reading and writing ====

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    /** Reads file (null: defaults only) and applies overrides ("data.batchSize" → "16"); then validates. */
    public static TrainConfig load(Path file, Map<String, String> overrides) throws IOException {
        return load(file, overrides, (c, where) -> {});
    }

    /**
     * As load, then more checks of sections whose values another module interprets (the KD job's kd section),
     * given the Checker that names the file, line and key of a bad value from the file.
     */
    public static TrainConfig load(Path file, Map<String, String> overrides,
                                   java.util.function.BiConsumer<TrainConfig, Checker> more) throws IOException {
        ObjectNode tree;
        if (file == null) {
            tree = JsonNodeFactory.instance.objectNode();
        } else {
            String text;
            try {
                text = Files.readString(file);
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(file + ": config file not found");
            }
            // First pass straight from the text, so errors carry the line and column of the offending key.
            read(file, text);
            JsonNode node = MAPPER.readTree(text);
            if (!(node instanceof ObjectNode obj))
                throw new ConfigFormatException(file, 1, 1, "", "expected a JSON object at the top level");
            tree = obj;
        }
        for (var e : overrides.entrySet()) applyOverride(tree, e.getKey(), e.getValue());
        TrainConfig config;
        try {
            config = MAPPER.treeToValue(tree, TrainConfig.class);
        } catch (JsonProcessingException e) {
            // Only an override can fail here: the file alone already parsed.
            throw translate(null, null, e);
        }
        Checker checker = new Checker(file, file == null ? null : Files.readString(file), overrides.keySet());
        config.validate(checker);
        more.accept(config, checker);
        return config;
    }

    /** Parses config text (no overrides) and validates it; file names the source in messages. */
    public static TrainConfig parse(Path file, String text) {
        TrainConfig c = read(file, text);
        c.validate(new Checker(file, text));
        return c;
    }

    private static TrainConfig read(Path file, String text) {
        try {
            TrainConfig c = MAPPER.readValue(text, TrainConfig.class);
            if (c == null) throw new ConfigFormatException(file, 1, 1, "", "expected a JSON object, found null");
            return c;
        } catch (JsonProcessingException e) {
            throw translate(file, text, e);
        }
    }

    /** The config as JSON with every default filled in (what the run folder's train-config.json holds). */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(this) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The record components as a dotted key list, for help texts and did-you-mean ("data.batchSize", ...). */
    public static List<String> keys() {
        List<String> out = new ArrayList<>();
        for (RecordComponent section : TrainConfig.class.getRecordComponents())
            for (RecordComponent k : section.getType().getRecordComponents())
                out.add(section.getName() + "." + k.getName());
        return out;
    }

    private static void applyOverride(ObjectNode tree, String dottedKey, String value) {
        String[] parts = dottedKey.split("\\.");
        if (parts.length != 2 || !keys().contains(dottedKey)) {
            throw new ConfigFormatException(null, -1, -1, dottedKey,
                    "unknown key" + didYouMean(dottedKey, keys()));
        }
        JsonNode section = tree.get(parts[0]);
        ObjectNode obj;
        if (section instanceof ObjectNode o) obj = o;
        else { obj = tree.putObject(parts[0]); }
        if (value == null) obj.putNull(parts[1]);
        else obj.put(parts[1], value);      // Jackson coerces "16" to 16 and "cosine" to COSINE
    }

    // ==== errors ====

    private static ConfigFormatException translate(Path file, String text, JsonProcessingException e) {
        if (e.getCause() instanceof com.fasterxml.jackson.core.exc.StreamReadException syntax) e = syntax;
        JsonLocation loc = e.getLocation();
        int line = loc == null ? -1 : loc.getLineNr();
        int column = loc == null ? -1 : loc.getColumnNr();
        boolean syntaxError = e instanceof com.fasterxml.jackson.core.exc.StreamReadException;
        String key = !syntaxError && e instanceof JsonMappingException m ? path(m) : "";
        if (!key.isEmpty() && text != null) {
            // Jackson reports where the parser stopped (after the value); the key itself is more useful.
            int[] at = locate(text, key);
            if (at[0] > 0) { line = at[0]; column = at[1]; }
        }
        if (e instanceof UnrecognizedPropertyException u) {
            List<String> known = new ArrayList<>();
            for (Object o : u.getKnownPropertyIds()) known.add(o.toString());
            known.sort(null);
            String parent = key.contains(".") ? key.substring(0, key.lastIndexOf('.')) : "";
            return new ConfigFormatException(file, line, column, key, "unknown key"
                    + didYouMean(u.getPropertyName(), known)
                    + "; known keys" + (parent.isEmpty() ? "" : " in \"" + parent + "\"") + ": "
                    + String.join(", ", known));
        }
        if (e instanceof InvalidFormatException f) {
            String expected = f.getTargetType() == null ? "another type" : describe(f.getTargetType());
            return new ConfigFormatException(file, line, column, key,
                    "expected " + expected + ", found " + quote(f.getValue()));
        }
        if (e instanceof JsonMappingException m && !key.isEmpty()) {
            return new ConfigFormatException(file, line, column, key, firstLine(m.getOriginalMessage()));
        }
        return new ConfigFormatException(file, line, column, "", "not valid JSON: " + firstLine(e.getOriginalMessage()));
    }

    private static String describe(Class<?> type) {
        if (type.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object c : type.getEnumConstants()) names.add(c.toString().toLowerCase(Locale.ROOT));
            return "one of " + String.join(", ", names);
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class)
            return "an integer";
        if (type == Double.class || type == double.class) return "a number";
        if (type == String.class) return "a string";
        return type.getSimpleName();
    }

    private static String quote(Object v) { return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v); }

    static String didYouMean(String key, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        String lower = key.toLowerCase(Locale.ROOT);
        for (String k : known) {
            int d = editDistance(lower, k.toLowerCase(Locale.ROOT));
            if (d < bestDistance) { bestDistance = d; best = k; }
        }
        // A suggestion is only useful when it is close: at most a third of the key's letters differ.
        if (best == null || bestDistance > Math.max(2, key.length() / 3)) return "";
        return " (did you mean \"" + best + "\"?)";
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

    // ==== validation ====

    private void validate(Checker c) {
        if ((model.init() == null) == (model.config() == null))
            c.fail("model", "give exactly one of \"init\" (an HF model directory to start from) or \"config\" "
                    + "(a config.json for a random initialisation)");
        c.atLeast("data.seqLength", data.seqLength(), 2);
        c.atLeast("data.batchSize", data.batchSize(), 1);
        c.atLeast("data.gradAccum", data.gradAccum(), 1);
        if (!(optimizer.lr() > 0 && optimizer.lr() < Double.POSITIVE_INFINITY))
            c.fail("optimizer.lr", "must be a finite number > 0, got " + optimizer.lr());
        if (!(optimizer.weightDecay() >= 0 && optimizer.weightDecay() < Double.POSITIVE_INFINITY))
            c.fail("optimizer.weightDecay", "must be a finite number >= 0, got " + optimizer.weightDecay());
        c.unitInterval("optimizer.beta1", optimizer.beta1());
        c.unitInterval("optimizer.beta2", optimizer.beta2());
        if (!(optimizer.eps() > 0 && optimizer.eps() < Double.POSITIVE_INFINITY))
            c.fail("optimizer.eps", "must be a finite number > 0, got " + optimizer.eps());
        if (!(optimizer.clip() >= 0 && optimizer.clip() < Double.POSITIVE_INFINITY))
            c.fail("optimizer.clip", "must be a finite number >= 0 (0 = no clipping), got " + optimizer.clip());
        c.atLeast("schedule.warmupSteps", schedule.warmupSteps(), 0);
        if (!(schedule.minLrRatio() >= 0 && schedule.minLrRatio() <= 1))
            c.fail("schedule.minLrRatio", "must be in [0, 1], got " + schedule.minLrRatio());
        if (!(schedule.decayFraction() > 0 && schedule.decayFraction() <= 1))
            c.fail("schedule.decayFraction", "must be in (0, 1], got " + schedule.decayFraction());
        if (run.maxSteps() < 0) c.fail("run.maxSteps", "must be >= 0, got " + run.maxSteps());
        if (run.maxTokens() < 0) c.fail("run.maxTokens", "must be >= 0, got " + run.maxTokens());
        if (run.maxSteps() == 0 && run.maxTokens() == 0)
            c.fail("run", "set a budget: \"maxSteps\" or \"maxTokens\"");
        c.atLeast("run.evalInterval", run.evalInterval(), 0);
        c.atLeast("run.evalBatches", run.evalBatches(), 1);
        c.atLeast("run.checkpointInterval", run.checkpointInterval(), 0);
        c.atLeast("run.keepCheckpoints", run.keepCheckpoints(), 1);
        c.atLeast("run.logInterval", run.logInterval(), 1);
        c.atLeast("run.threads", run.threads(), 0);
    }
}
