/*
 * The pretrain job (with or without logit KD), written once for `kd4j pretrain` and the pipeline's teacher,
 * reference and student stages: open the prepared data, check the memory plan, initialise or load the model,
 * check token ids against its vocabulary, plan KD (KdPlan: the loss and a compute-matched budget), and run the
 * Trainer in the run folder. Everything that makes the run what it is comes from the TrainConfig; the setters
 * below only say how it is driven and reported.
 */
package kd4j.distill.kd;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.UnaryOperator;
import kd4j.autograd.MatmulPrecision;
import kd4j.data.DataFormatException;
import kd4j.data.TokenDataset;
import kd4j.data.TokenSequences;
import kd4j.models.CausalLM;
import kd4j.models.MemoryPlan;
import kd4j.models.ModelConfig;
import kd4j.models.Models;
import kd4j.mpi.Communicator;
import kd4j.mpi.SingleProcess;
import kd4j.tensor.Backend;
import kd4j.train.BatcherData;
import kd4j.train.StepResult;
import kd4j.train.TrainConfig;
import kd4j.train.Trainer;

public final class PretrainJob {
    /** What the job is about to train, reported before the first step. */
    public record Started(CausalLM model, TrainConfig config, long instances) {}

    /** How the run ended; config is the one trained (a compute-matched budget applied), kd its KD plan. */
    public record Result(Trainer.Result run, CausalLM model, TrainConfig config, KdPlan.Plan kd, long instances) {}

    private final TrainConfig config;
    private boolean resume;
    private boolean detectAnomaly;
    private Communicator communicator = SingleProcess.INSTANCE;
    private PrintStream progress;
    private PrintWriter out = new PrintWriter(PrintStream.nullOutputStream());
    private PrintWriter memoryPlan;
    private Consumer<String> warnings;
    private Consumer<StepResult> listener;
    private Consumer<Started> started;
    private UnaryOperator<TokenSequences> trainInstances = UnaryOperator.identity();
    private LongFunction<TrainConfig> budget;
    private Boolean matchBudget;
    private volatile boolean stopRequested;
    private volatile Trainer trainer;

    public PretrainJob(TrainConfig config) { this.config = config; }

    /** Continue the run in run.out from its latest checkpoint (its saved config already holds any matched budget). */
    public PretrainJob resume(boolean resume) { this.resume = resume; return this; }

    /**
     * Whether KD planning applies a preset's compute-matched budget to the config (default: unless resuming, as a
     * resumed run's saved config already holds it; the pipeline builds a fresh config on every continuation).
     */
    public PretrainJob matchBudget(boolean on) { this.matchBudget = on; return this; }

    public PretrainJob detectAnomaly(boolean on) { this.detectAnomaly = on; return this; }

    public PretrainJob communicator(Communicator c) { this.communicator = c; return this; }

    /** Where the trainer draws its progress bar (null: none). */
    public PretrainJob progress(PrintStream p) { this.progress = p; return this; }

    /** Where KD planning reports what the run will do. */
    public PretrainJob out(PrintWriter w) { this.out = w; return this; }

    /** Where the memory plan is printed before the model is loaded; null (the default) skips the plan. */
    public PretrainJob memoryPlan(PrintWriter w) { this.memoryPlan = w; return this; }

    public PretrainJob warnings(Consumer<String> w) { this.warnings = w; return this; }

    public PretrainJob listener(Consumer<StepResult> l) { this.listener = l; return this; }

    public PretrainJob started(Consumer<Started> s) { this.started = s; return this; }

    /** Which of the train split's instances the run reads (the pipeline's subset of a corpus; default: all). */
    public PretrainJob trainInstances(UnaryOperator<TokenSequences> f) { this.trainInstances = f; return this; }

    /**
     * The config of a run whose budget KD planning changed to the given steps (Vanilla KD's compute match);
     * default: the config with run.maxSteps set to them.
     */
    public PretrainJob budget(LongFunction<TrainConfig> configForSteps) { this.budget = configForSteps; return this; }

    /** Finishes the current step, writes a checkpoint and returns (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
        Trainer t = trainer;
        if (t != null) t.requestStop();
    }

    public Result run(Backend be) throws IOException {
        TrainConfig cfg = config;
        KdPlan.check(cfg.kd(), cfg.totalSteps());
        Path runDir = Path.of(cfg.run().out());
        try (TokenDataset trainSet = TokenDataset.open(Path.of(cfg.data().train()));
             TokenDataset validSet = cfg.data().validation() == null ? null : TokenDataset.open(Path.of(cfg.data().validation()))) {
            Path modelSource = Path.of(cfg.model().init() != null ? cfg.model().init() : cfg.model().config());
            if (memoryPlan != null) {
                ModelConfig studentConfig = Models.readConfig(modelSource);
                var plan = MemoryPlan.training(studentConfig, cfg.data().batchSize(), cfg.data().seqLength(),
                        cfg.run().activationCheckpointing(), cfg.run().precision() == MatmulPrecision.BF16,
                        KdPlan.onlineTeacher(cfg.kd()), be);
                memoryPlan.println(plan.table());
                memoryPlan.flush();
                plan.requireFits("lower data.batchSize (raise data.gradAccum to keep the tokens per step) or data.seqLength,"
                        + " or give the JVM more native memory (KD4J_JAVA_OPTS=-XX:MaxDirectMemorySize=...)");
            }
            CausalLM model = cfg.model().init() != null
                    ? Models.load(Path.of(cfg.model().init()), be)
                    : Models.randomInit(Models.readConfig(modelSource), be, cfg.run().seed());
            checkVocabulary(trainSet, model.config(), modelSource);
            if (validSet != null) checkVocabulary(validSet, model.config(), modelSource);
            KdPlan.Plan kdPlan = KdPlan.of(cfg, model, be, matchBudget != null ? !matchBudget : resume, out);
            if (budget != null && kdPlan.config().totalSteps() != cfg.totalSteps())
                cfg = budget.apply(kdPlan.config().totalSteps());
            else cfg = kdPlan.config();
            TokenSequences instances = trainInstances.apply(trainSet.instances(TokenDataset.Split.TRAIN));
            int seq = cfg.data().seqLength();
            int available = trainSet.instanceLength() - 1;
            if (seq > available)
                throw DataFormatException.of(trainSet.directory(), "instances hold " + available + " tokens + 1, fewer than "
                        + "data.seqLength " + seq + "; prepare with --seq " + seq + " or lower data.seqLength");
            List<int[]> valid = validationInstances(validSet != null ? validSet : trainSet, cfg);
            int pad = Math.max(0, model.config().eosTokenId());
            try (BatcherData data = new BatcherData(instances, cfg.data().batchSize(), seq, pad, cfg.run().seed())) {
                Trainer.Builder b = Trainer.builder(model, cfg, data).validation(valid).runDir(runDir).resume(resume)
                        .loss(kdPlan.loss()).progress(progress).detectAnomaly(detectAnomaly).communicator(communicator);
                if (warnings != null) b.warnings(warnings);
                if (listener != null) b.listener(listener);
                trainer = b.build();
                if (stopRequested) trainer.requestStop();
                if (started != null) started.accept(new Started(model, cfg, instances.size()));
                Trainer.Result r = trainer.run();
                return new Result(r, model, cfg, kdPlan, instances.size());
            }
        }
    }

    /** The prepared data's tokenizer must fit the model: every id below the model's vocabulary size. */
    private static void checkVocabulary(TokenDataset data, ModelConfig model, Path modelSource) throws IOException {
        // every token file this run opens is range-checked once against the model (the manifest could lie)
        data.requireIdsBelow(model.vocabSize(), "the model's vocab_size " + model.vocabSize() + " (from " + modelSource + ")");
        var manifest = data.manifest();
        if (manifest.isEmpty() || manifest.get().tokenizer() == null) return;
        int vocab = manifest.get().tokenizer().vocabSize();
        if (vocab > model.vocabSize())
            throw DataFormatException.of(data.directory().resolve(TokenDataset.MANIFEST), "tokenizer vocabulary of "
                    + vocab + " ids does not fit the model's vocab_size " + model.vocabSize() + " (from " + modelSource
                    + "); use a model config with vocab_size >= " + vocab + " or prepare the data with its tokenizer");
    }

    /** The first evalBatches * batchSize validation instances, cut to seqLength + 1 tokens. */
    private static List<int[]> validationInstances(TokenDataset set, TrainConfig cfg) throws IOException {
        var counts = set.manifest().map(m -> m.counts(TokenDataset.Split.VALID)).orElse(null);
        if (counts == null || counts.instances() == 0) return List.of();
        TokenSequences v = set.instances(TokenDataset.Split.VALID);
        int width = cfg.data().seqLength() + 1;
        long n = Math.min(v.size(), (long) cfg.run().evalBatches() * cfg.data().batchSize());
        List<int[]> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            int[] row = v.get(i);
            if (row.length >= 2) out.add(row.length > width ? Arrays.copyOf(row, width) : row);
        }
        return out;
    }
}
