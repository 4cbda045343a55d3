/*
 * The training loop (nanoGPT's train.py, as a class): micro-batches with gradient accumulation, global-norm
 * clipping, AdamW with a NO_DECAY group, a cosine / WSD / constant schedule with warm-up, evaluation on held-out
 * instances every N steps, atomic checkpoints every N steps, and a step or token budget. The loss is pluggable
 * (LossFunction), so knowledge distillation reuses this loop unchanged.
 *
 * The run folder holds train-config.json, metrics.jsonl, loss.png/svg, checkpoints/ and, at the end, model/ (HF
 * format). Resuming restores weights, optimizer moments, step, RNG state, data position and the loss function's
 * state from the latest checkpoint, so a run killed and resumed ends bit-identical to one never interrupted
 * (same backend, same threads).
 *
 * Under MPI (Builder.communicator) the loop is data-parallel (DataParallel): each rank trains on its slice of
 * every global batch, the gradients are summed across ranks before clipping, and only rank 0 writes the run
 * folder (config, metrics, checkpoints, plots, model); every rank reads the checkpoint on --resume.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import kd4j.autograd.ActivationCheckpoint;
import kd4j.autograd.MatmulPrecision;
import kd4j.autograd.PackedParameters;
import kd4j.autograd.Parameter;
import kd4j.autograd.StepArena;
import kd4j.autograd.Tape;
import kd4j.autograd.Var;
import kd4j.autograd.optim.AdamW;
import kd4j.autograd.optim.GradClip;
import kd4j.autograd.optim.LrSchedule;
import kd4j.data.AtomicFiles;
import kd4j.models.CausalLM;
import kd4j.models.Models;
import kd4j.mpi.Communicator;
import kd4j.mpi.SingleProcess;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class Trainer {
    public static final String CONFIG_FILE = "train-config.json";
    public static final String METRICS_FILE = "metrics.jsonl";
    public static final String CHECKPOINTS = "checkpoints";
    public static final String MODEL_DIR = "model";
    private static final String PARAM_PREFIX = "param.";
    private static final String OPTIMIZER_PREFIX = "optimizer.";

    /** How a run ended. evalLoss is NaN when the run had no validation data. */
    public record Result(long steps, double loss, double evalLoss, Path runDir, Path modelDir, boolean stopped) {}

    private final CausalLM model;
    private final TrainConfig config;
    private final TrainData data;
    private final List<int[]> validation;
    private final LossFunction lossFunction;
    private final Path runDir;
    private final boolean resume;
    private final PrintStream progressOut;
    private final List<Consumer<StepResult>> listeners;
    private final boolean exportModel;
    private final boolean detectAnomaly;
    private final Consumer<String> warnings;
    private final List<Parameter> trainable = new ArrayList<>();
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final SplitMix64 random;
    private final DataParallel parallel;
    private volatile boolean stopRequested;
    private boolean ranksStop;          // a rank asked to stop: every rank stops after the same step

    private Trainer(Builder b) {
        this.model = b.model;
        this.config = b.config;
        this.data = b.data;
        this.validation = b.validation;
        this.lossFunction = b.lossFunction;
        this.runDir = b.runDir != null ? b.runDir : Path.of(config.run().out());
        this.resume = b.resume;
        this.progressOut = b.progressOut;
        this.listeners = List.copyOf(b.listeners);
        this.exportModel = b.exportModel;
        this.detectAnomaly = b.detectAnomaly;
        this.warnings = b.warnings;
        for (Parameter p : model.parameters().all()) if (p.requiresGrad()) trainable.add(p);
        TrainConfig.Optimizer o = config.optimizer();
        PackedParameters.pack(trainable);       // one storage for values, one for gradients: one AdamW launch a step
        this.optimizer = new AdamW(trainable, o.lr(), o.beta1(), o.beta2(), o.eps(), o.weightDecay());
        this.schedule = schedule(config, config.totalSteps());
        this.random = new SplitMix64(config.run().seed());
        this.parallel = new DataParallel(b.communicator);
    }

    public static Builder builder(CausalLM model, TrainConfig config, TrainData data) {
        return new Builder(model, config, data);
    }

    public static final class Builder {
        private final CausalLM model;
        private final TrainConfig config;
        private final TrainData data;
        private List<int[]> validation = List.of();
        private LossFunction lossFunction = LossFunction.languageModel();
        private Path runDir;
        private boolean resume;
        private PrintStream progressOut;
        private final List<Consumer<StepResult>> listeners = new ArrayList<>();
        private boolean exportModel = true;
        private boolean detectAnomaly;
        private Consumer<String> warnings = w -> System.err.println("kd4j: warning: " + w);
        private Communicator communicator = SingleProcess.INSTANCE;

        private Builder(CausalLM model, TrainConfig config, TrainData data) {
            this.model = model;
            this.config = config;
            this.data = data;
        }

        /** Held-out instances (seqLength + 1 tokens each) evaluated every run.evalInterval steps. */
        public Builder validation(List<int[]> instances) { this.validation = List.copyOf(instances); return this; }

        public Builder loss(LossFunction f) { this.lossFunction = f; return this; }

        /** The run folder (default: config.run.out). */
        public Builder runDir(Path dir) { this.runDir = dir; return this; }

        /** Continue from the run folder's latest checkpoint (starts fresh when it has none). */
        public Builder resume(boolean resume) { this.resume = resume; return this; }

        /** Where the progress bar goes (null, the default: no bar). */
        public Builder progress(PrintStream out) { this.progressOut = out; return this; }

        /** Called after every step, in order; an exception stops the run (the last checkpoint stays). */
        public Builder listener(Consumer<StepResult> l) { this.listeners.add(l); return this; }

        /** Whether the finished run writes model/ in HF format (default true). */
        public Builder exportModel(boolean export) { this.exportModel = export; return this; }

        /** Check every op's output and gradient for NaN/Inf during the run and name the first op (slower). */
        public Builder detectAnomaly(boolean on) { this.detectAnomaly = on; return this; }

        /** Where warnings go (an exploding loss); default: standard error. */
        public Builder warnings(Consumer<String> sink) { this.warnings = sink; return this; }
        /** The ranks to train data-parallel with (default: this process alone). data.batchSize stays global. */
        public Builder communicator(Communicator c) { this.communicator = c; return this; }

        public Trainer build() { return new Trainer(this); }
    }

    /** The schedule a config asks for, over totalSteps optimizer steps (lr of step s, 0-based). */
    public static LrSchedule schedule(TrainConfig config, long totalSteps) {
        TrainConfig.Schedule s = config.schedule();
        double lr = config.optimizer().lr();
        long warmup = Math.min(s.warmupSteps(), totalSteps);
        return switch (s.kind()) {
            case CONSTANT -> warmup == 0 ? new LrSchedule.Constant(lr) : new LrSchedule.Wsd(lr, warmup, totalSteps, 0, 1.0);
            case COSINE -> new LrSchedule.WarmupCosine(lr, warmup, totalSteps, s.minLrRatio());
            case WSD -> {
                long decay = Math.max(1, Math.round((totalSteps - warmup) * s.decayFraction()));
                yield new LrSchedule.Wsd(lr, warmup, Math.max(0, totalSteps - warmup - decay), decay, s.minLrRatio());
            }
        };
    }

    /** Asks the loop to stop after the current step; it writes a checkpoint and returns. Thread-safe. */
    public void requestStop() { stopRequested = true; }

    /** Randomness for loss functions (sampling, dropout): saved and restored with checkpoints. */
    public java.util.random.RandomGenerator random() { return random; }

    public AdamW optimizer() { return optimizer; }

    public Path runDir() { return runDir; }

    /** Runs to the budget (or a stop request) and returns how it ended. */
    public Result run() throws IOException {
        boolean checkedBefore = Tape.checksFinite();
        if (detectAnomaly) Tape.checkFinite(true);
        try {
            return runChecked();
        } finally {
            Tape.checkFinite(checkedBefore);
        }
    }

    private Result runChecked() throws IOException {
        parallel.checkBatch(config.data().batchSize());
        config.run().precision().requireSupportedBy(model.backend(), "run.precision");
        boolean root = parallel.root();
        int vocab = model.config().vocabSize();
        String whose = "the model (vocab_size " + vocab + ")";
        data.requireIdsBelow(vocab, whose);
        for (int i = 0; i < validation.size(); i++)
            for (int id : validation.get(i))
                if (id < 0 || id >= vocab)
                    throw kd4j.data.DataFormatException.of(null, "validation instance " + i + ": token id " + id
                            + " is outside the vocabulary [0, " + vocab + ") of " + whose);
        if (root) Files.createDirectories(runDir);
        Path checkpoints = runDir.resolve(CHECKPOINTS);
        long totalSteps = config.totalSteps();
        long step = 0, tokens = 0;
        Optional<Path> latest = resume ? Checkpoint.latest(checkpoints) : Optional.empty();
        if (latest.isPresent()) {
            checkSameRun();
            Checkpoint.State state = restore(latest.get());
            step = state.step();
            tokens = state.tokens();
        } else {
            if (resume && progressOut != null)
                progressOut.println("kd4j: no checkpoint in " + checkpoints + "; starting from step 0");
            if (root) AtomicFiles.write(runDir.resolve(CONFIG_FILE), config.toJson());
        }
        parallel.checkAgreement(fingerprints(step, tokens));
        Path metricsFile = runDir.resolve(METRICS_FILE);
        double lastLoss = Double.NaN, lastEval = Double.NaN;
        double firstLoss = Double.NaN, warnedFactor = 10;     // an exploding loss is warned about at 10x, 100x, ...
        StepArena arena = new StepArena();
        Backend be = model.backend();
        int accum = config.data().gradAccum();
        try (Metrics metrics = !root ? null : latest.isPresent() ? Metrics.resume(metricsFile, step) : Metrics.create(metricsFile);
             Progress progress = progressOut == null || !root ? null : new Progress("train", step, totalSteps, progressOut)) {
            while (step < totalSteps && !stopping()) {
                long t0 = System.nanoTime(), waited = 0;
                double lossSum = 0;
                long stepTokens = 0, rankTokens = 0;
                model.parameters().zeroGrad();
                for (int micro = 0; micro < accum; micro++) {
                    long w0 = System.nanoTime();
                    MicroBatch global = data.next(), batch = parallel.slice(global);
                    waited += System.nanoTime() - w0;
                    stepTokens += (long) global.batchSize() * global.seqLength();
                    rankTokens += (long) batch.batchSize() * batch.seqLength();
                    double share = parallel.share(batch, global);     // 1 on a single process
                    try (var scope = arena.activate();
                         var recompute = ActivationCheckpoint.enable(config.run().activationCheckpointing());
                         var precision = MatmulPrecision.use(config.run().precision())) {
                        Var loss = lossFunction.loss(model, batch, step + 1);
                        // Each micro-batch contributes 1/accum of the mean (and a rank its share of the global
                        // batch): the seed of backward carries the factor.
                        Tensor seed = be.empty(loss.data().dtype(), loss.shape());
                        be.fill(seed, share / accum);
                        lossSum += share * loss.data().item(new long[loss.data().rank()]);
                        Tape.backward(loss, seed);
                    } catch (kd4j.autograd.NonFiniteException e) {
                        arena.reset();
                        throw new DivergenceException(step + 1, e.getMessage() + " (lr " + schedule.lr(step) + ")");
                    }
                    arena.reset();
                }
                if (parallel.distributed()) {
                    DataParallel.Sum sum = parallel.sumGradients(trainable, lossSum, stopRequested, step + 1);
                    lossSum = sum.loss();
                    ranksStop = sum.stop();
                }
                double lr = schedule.lr(step);
                double stepLoss = lossSum / accum;
                // Checked before the optimizer step (after the ranks' sum, so every rank stops at the same step):
                // the weights (and every checkpoint) stay those of the last good step.
                if (!Double.isFinite(stepLoss)) throw diverged(step + 1, "loss is " + stepLoss, lr);
                double gradNorm = config.optimizer().clip() > 0
                        ? GradClip.clipGlobalNorm(trainable, config.optimizer().clip()) : globalNorm();
                if (!Double.isFinite(gradNorm))
                    throw diverged(step + 1, "gradient norm is " + gradNorm + " (loss " + stepLoss + ")", lr);
                optimizer.setLr(lr);
                optimizer.step();
                random.nextLong();          // one draw per step keeps the RNG stream aligned across resumes
                step++;
                tokens += stepTokens;
                lastLoss = stepLoss;
                if (Double.isNaN(firstLoss)) firstLoss = lastLoss;
                else if (firstLoss > 0 && lastLoss > warnedFactor * firstLoss) {
                    warnings.accept(String.format(java.util.Locale.ROOT, "step %d: loss %.4g is %.1fx the first "
                            + "step's %.4g (lr %.3g, gradient norm %.3g): the run is diverging; lower optimizer.lr or "
                            + "raise schedule.warmupSteps", step, lastLoss, lastLoss / firstLoss, firstLoss, lr, gradNorm));
                    while (lastLoss > warnedFactor * firstLoss) warnedFactor *= 10;
                }
                double seconds = (System.nanoTime() - t0) / 1e9;      // the step itself, without evaluation
                double evalLoss = Double.NaN;
                int evalEvery = config.run().evalInterval();
                if (!validation.isEmpty() && evalEvery > 0 && (step % evalEvery == 0 || step == totalSteps)) {
                    evalLoss = evaluate();
                    lastEval = evalLoss;
                }
                Map<String, Double> extra = lossFunction.lastMetrics();
                if (parallel.distributed()) {
                    double commShare = parallel.takeCommSeconds() / seconds;
                    extra = new LinkedHashMap<>(extra);
                    extra.put("commShare", commShare);
                    logRank(step, totalSteps, rankTokens / seconds, commShare);
                }
                StepResult r = new StepResult(step, totalSteps, lastLoss, lr, gradNorm, tokens,
                        stepTokens / seconds, waited / 1e9 / seconds, seconds, evalLoss, extra);
                if (metrics != null && (step % config.run().logInterval() == 0 || r.hasEval() || step == totalSteps)) metrics.log(r);
                if (progress != null) progress.update(r);
                int ckEvery = config.run().checkpointInterval();
                boolean last = step == totalSteps || stopping();
                if (root && ((ckEvery > 0 && step % ckEvery == 0) || last)) saveCheckpoint(checkpoints, step, tokens);
                for (Consumer<StepResult> l : listeners) l.accept(r);
            }
        }
        Path modelDir = null;
        if (step >= totalSteps && root) {
            if (exportModel) {
                modelDir = runDir.resolve(MODEL_DIR);
                Models.save(model, modelDir);
                copyTokenizer(modelDir);
            }
            if (Files.size(metricsFile) > 0) Plots.lossCurve(metricsFile, runDir, "kd4j " + runDir.getFileName());
        }
        return new Result(step, lastLoss, lastEval, runDir, modelDir, step < totalSteps);
    }

    /** Whether the loop stops after this step: on one process the stop request, under MPI the ranks' agreement. */
    private boolean stopping() { return parallel.distributed() ? ranksStop : stopRequested; }

    /** Ranks other than 0 have no progress bar: each reports its own throughput ten times a run. */
    private void logRank(long step, long totalSteps, double rankTokensPerSecond, double commShare) {
        if (parallel.root() || progressOut == null) return;
        if (step % Math.max(1, totalSteps / 10) != 0 && step != totalSteps) return;
        // one write of the whole line: printf writes piece by piece, and mpirun would interleave the pieces of two ranks
        progressOut.print(String.format(java.util.Locale.ROOT, "[rank %d/%d] step %d/%d: %,.0f tok/s on this rank, %.1f%% of the step in communication%n",
                parallel.communicator().rank(), parallel.communicator().size(), step, totalSteps, rankTokensPerSecond, 100 * commShare));
        progressOut.flush();
    }

    /** What every rank must share at start: the config, the data, the weights and the point it resumes from. */
    private Map<String, byte[]> fingerprints(long step, long tokens) throws IOException {
        Map<String, byte[]> f = new LinkedHashMap<>();
        if (!parallel.distributed()) return f;
        JsonNode json = TrainConfig.MAPPER.readTree(config.toJson());
        for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
            String section = it.next();
            f.put("the config's " + section + " section", json.get(section).toString().getBytes(StandardCharsets.UTF_8));
        }
        f.put("the training data", data.fingerprint());
        f.put("the model's weights", DataParallel.weightsFingerprint(model.parameters().all()));
        JsonNode lossState = lossFunction.state();
        f.put("the resume point (step, data position, loss state)", ("step " + step + ", tokens " + tokens + ", data "
                + data.position() + ", loss " + lossState).getBytes(StandardCharsets.UTF_8));
        return f;
    }

    /** Copies model.tokenizer's files (tokenizer.json and its companions) into the exported model folder. */
    private void copyTokenizer(Path modelDir) throws IOException {
        if (config.model().tokenizer() == null) return;
        Path from = Path.of(config.model().tokenizer());
        if (!Files.exists(from.resolve("tokenizer.json")))
            throw new IOException(from + ": no tokenizer.json to copy into " + modelDir + " (model.tokenizer)");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"))
            if (Files.exists(from.resolve(f)))
                Files.copy(from.resolve(f), modelDir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Mean next-token loss over the validation instances (no tape). */
    public double evaluate() {
        return new Evaluator(model, config.data().seqLength(), config.data().batchSize(), -1).meanLoss(validation);
    }

    private DivergenceException diverged(long step, String what, double lr) {
        return new DivergenceException(step, what + " (lr " + lr + "); lower optimizer.lr or raise "
                + "schedule.warmupSteps" + (detectAnomaly || Tape.checksFinite() ? ""
                : "; rerun with --detect-anomaly to name the first op and layer that produced NaN/Inf")
                + ". The checkpoints before this step are intact.");
    }

    private double globalNorm() {
        double s = 0;
        for (Parameter p : trainable) if (p.grad() != null) s += p.backend().sumOfSquares(p.grad());
        return Math.sqrt(s);
    }

    // ==== checkpoints ====

    private void saveCheckpoint(Path dir, long step, long tokens) throws IOException {
        // Never a checkpoint from non-finite state: resuming from it could only diverge again.
        for (Parameter p : model.parameters().all())
            if (p.data().dtype() == kd4j.tensor.DType.F32 && !p.backend().allFinite(p.data()))
                throw new DivergenceException(step, "parameter " + p.name() + " holds NaN or Inf; no checkpoint "
                        + "written (the previous one is intact)");
        for (var e : optimizer.state().entrySet())
            if (e.getValue().dtype() == kd4j.tensor.DType.F32 && !e.getValue().backend().allFinite(e.getValue()))
                throw new DivergenceException(step, "optimizer state " + e.getKey() + " holds NaN or Inf; no "
                        + "checkpoint written (the previous one is intact)");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) tensors.put(PARAM_PREFIX + p.name(), p.data());
        for (var e : optimizer.state().entrySet()) tensors.put(OPTIMIZER_PREFIX + e.getKey(), e.getValue());
        ObjectNode extra = TrainConfig.MAPPER.createObjectNode();
        JsonNode lossState = lossFunction.state();
        if (lossState != null) extra.set("lossFunction", lossState);
        Checkpoint.save(dir, new Checkpoint.State(step, tokens, random.state(), data.position(), extra), tensors,
                config.run().keepCheckpoints());
    }

    private Checkpoint.State restore(Path checkpoint) throws IOException {
        Map<String, Tensor> into = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) into.put(PARAM_PREFIX + p.name(), p.data());
        Map<String, Tensor> optimizerState = new LinkedHashMap<>();
        for (var e : optimizer.state().entrySet()) {
            Tensor live = e.getValue();
            Tensor fresh = live.backend().empty(live.dtype(), live.shape());
            optimizerState.put(e.getKey(), fresh);
            into.put(OPTIMIZER_PREFIX + e.getKey(), fresh);
        }
        Checkpoint.State state = Checkpoint.load(checkpoint, into);
        optimizer.load(optimizerState);
        random.setState(state.rngState());
        data.seek(state.dataPosition());
        lossFunction.restore(state.extra().get("lossFunction"));
        return state;
    }

    /**
     * A resumed run must train the same way: the model, data, optimizer, schedule and KD settings of
     * train-config.json must match (run.* may change: a longer budget, other intervals, threads or device). A run
     * folder written before KD settings were part of the config has no kd section: its kd-config.json is checked
     * by the KD setup instead.
     */
    private void checkSameRun() throws IOException {
        Path saved = runDir.resolve(CONFIG_FILE);
        if (!Files.exists(saved)) return;
        JsonNode before = TrainConfig.MAPPER.readTree(saved.toFile());
        JsonNode now = TrainConfig.MAPPER.readTree(config.toJson());
        List<String> kdDifferences = new ArrayList<>();
        if (before.has("kd"))
            for (Iterator<String> it = now.path("kd").fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!now.path("kd").path(k).equals(before.path("kd").path(k)))
                    kdDifferences.add("kd." + k + " was " + before.path("kd").path(k) + ", now " + now.path("kd").path(k));
            }
        if (!kdDifferences.isEmpty())
            throw new IllegalArgumentException(saved + ": --resume would change the KD settings ("
                    + String.join("; ", kdDifferences) + "); resume with the run's own --kd flags");
        List<String> differences = new ArrayList<>();
        for (String section : List.of("model", "data", "optimizer", "schedule")) {
            for (Iterator<String> it = now.path(section).fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!now.path(section).path(k).equals(before.path(section).path(k)))
                    differences.add(section + "." + k + " was " + before.path(section).path(k) + ", now "
                            + now.path(section).path(k));
            }
        }
        if (!differences.isEmpty())
            throw new IllegalArgumentException(saved + ": --resume would not continue the same run: "
                    + String.join("; ", differences) + ". Use the run's own config, or a new run.out folder.");
    }

    /** SplitMix64: one long of state, so the RNG is saved exactly in a checkpoint. */
    static final class SplitMix64 implements java.util.random.RandomGenerator {
        private long state;

        SplitMix64(long seed) { this.state = seed; }

        long state() { return state; }

        void setState(long s) { state = s; }

        @Override
        public long nextLong() {
            long z = (state += 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }
}
