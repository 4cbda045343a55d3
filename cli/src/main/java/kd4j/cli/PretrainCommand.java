/*
 * `kd4j pretrain --config FILE`: train a small LM on prepared token data, with flags overriding the config.
 * The run folder gets train-config.json, metrics.jsonl, loss.png/svg, checkpoints/ and model/ (HF format).
 * `--resume` continues from the latest checkpoint exactly; Ctrl-C stops after the current step with a checkpoint.
 * Launched as MPI ranks (mpirun, srun) it trains data-parallel: --batch-size stays the global batch, each rank
 * opens its own share of the node (cores or GPU) and rank 0 writes the run folder (docs/distributed.md).
 */
package kd4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import kd4j.distill.kd.KdPlan;
import kd4j.distill.kd.PretrainJob;
import kd4j.mpi.Communicator;
import kd4j.mpi.Communicators;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.train.TrainConfig;
import kd4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a language model on prepared token data (kd4j prepare) from a JSON config; flags override it.",
                "Config sections: model {init | config}, data {train, validation, seqLength, batchSize, gradAccum}, "
                + "optimizer {lr, weightDecay, beta1, beta2, eps, clip}, schedule {kind: cosine|wsd|constant, warmupSteps, "
                + "minLrRatio, decayFraction}, run {out, maxSteps, maxTokens, evalInterval, evalBatches, "
                + "checkpointInterval, keepCheckpoints, logInterval, seed, threads, device, activationCheckpointing, precision}, "
                + "kd {mode, teacher, logits, preset, alpha, tau, tau2, divergence, skew, tail} (the KD flags below)."})
public final class PretrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON training config (with --resume, default: the run folder's train-config.json)")
    Path config;

    @Option(names = "--resume", description = "continue the run in run.out from its latest checkpoint")
    boolean resume;

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (run.out)")
    String out;

    @Option(names = "--train", paramLabel = "DIR", description = "prepared training data (data.train)")
    String train;

    @Option(names = "--validation", paramLabel = "DIR", description = "prepared validation data (data.validation; default: the valid split of --train)")
    String validation;

    @Option(names = "--model-config", paramLabel = "PATH", description = "config.json (or its folder) for a random initialisation (model.config)")
    String modelConfig;

    @Option(names = "--init", paramLabel = "DIR", description = "HF model folder to start from (model.init)")
    String init;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "tokenizer folder copied into the exported model (model.tokenizer)")
    String tokenizer;

    @Option(names = "--seq-length", paramLabel = "N", description = "tokens per row (data.seqLength)")
    Integer seqLength;

    @Option(names = "--batch-size", paramLabel = "N", description = "rows per micro-batch (data.batchSize)")
    Integer batchSize;

    @Option(names = "--grad-accum", paramLabel = "N", description = "micro-batches per optimizer step (data.gradAccum)")
    Integer gradAccum;

    @Option(names = "--lr", paramLabel = "X", description = "peak learning rate (optimizer.lr)")
    Double lr;

    @Option(names = "--schedule", paramLabel = "KIND", description = "cosine, wsd or constant (schedule.kind)")
    String schedule;

    @Option(names = "--warmup", paramLabel = "STEPS", description = "warm-up steps (schedule.warmupSteps)")
    Integer warmup;

    @Option(names = "--max-steps", paramLabel = "N", description = "step budget (run.maxSteps)")
    Long maxSteps;

    @Option(names = "--max-tokens", paramLabel = "N", description = "token budget when no step budget is set (run.maxTokens)")
    Long maxTokens;

    @Option(names = "--eval-interval", paramLabel = "STEPS", description = "evaluate every N steps, 0 = only at the end (run.evalInterval)")
    Integer evalInterval;

    @Option(names = "--checkpoint-interval", paramLabel = "STEPS", description = "checkpoint every N steps (run.checkpointInterval)")
    Integer checkpointInterval;

    @Option(names = "--seed", paramLabel = "N", description = "seed of initialisation and data order (run.seed)")
    Long seed;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads, 0 = all cores (run.threads)")
    Integer threads;

    @Mixin DeviceOptions device = new DeviceOptions();

    @Option(names = "--activation-checkpointing", negatable = true,
            description = "recompute each layer's forward in backward: same gradients, far less activation memory, "
                    + "one more forward per step (run.activationCheckpointing)")
    Boolean activationCheckpointing;

    @Option(names = "--precision", paramLabel = "fp32|bf16",
            description = "the linear layers' GEMM inputs: fp32 (default) or bf16 (mixed precision: fp32 accumulation,"
                    + " fp32 master weights and optimizer state; OpenCL devices only) (run.precision)")
    String precision;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "any config key, e.g. --set optimizer.clip=0.5")
    List<String> set = new ArrayList<>();

    @Option(names = "--detect-anomaly", description = "check every op's output and gradient for NaN/Inf and name the "
            + "first op and layer that produced one (slower; also -Dkd4j.checkFinite=true)")
    boolean detectAnomaly;

    @Option(names = "--no-progress", description = "no progress bar (logs one line per evaluation instead)")
    boolean noProgress;

    @picocli.CommandLine.Mixin
    KdOptions kd = new KdOptions();

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        TrainConfig cfg = loadConfig();          // KD values checked too (KdPlan.check), before anything is loaded
        Path runDir = Path.of(cfg.run().out());
        String deviceSpec = cfg.run().device();
        if (deviceSpec.equals("cpu") && cfg.run().threads() > 0) deviceSpec = "cpu:" + cfg.run().threads();
        Communicator comm = Communicators.world();
        deviceSpec = Backends.forLocalRank(deviceSpec, comm.localRank(), comm.localSize());
        try (Backend be = Backends.open(deviceSpec)) {
            PretrainJob job = new PretrainJob(cfg).resume(resume).detectAnomaly(detectAnomaly).communicator(comm)
                    // ranks other than 0 never draw a bar: they print their own throughput lines (Trainer.logRank)
                    .progress(noProgress && comm.isRoot() ? null : System.err)
                    .out(stdout).memoryPlan(stderr)
                    .warnings(w -> { stderr.println("kd4j: warning: " + w); stderr.flush(); })
                    .listener(r -> {
                        if (noProgress && r.hasEval() && comm.isRoot())
                            stdout.printf(Locale.ROOT, "step %d/%d  loss %.4f  eval %.4f (ppl %.2f)  %,.0f tok/s  data wait %.1f%%%n",
                                    r.step(), r.totalSteps(), r.loss(), r.evalLoss(), Math.exp(r.evalLoss()),
                                    r.tokensPerSecond(), 100 * r.dataWaitShare());
                    })
                    .started(s -> {
                        if (comm.isDistributed())
                            stdout.printf("kd4j pretrain: %s on %s%n", comm.describe(), be.describe());
                        if (comm.isRoot())
                            stdout.printf("kd4j pretrain: %s, %,d parameters on %s; %,d steps of %,d tokens%s -> %s%n",
                                    s.model().config().architecture(), s.model().parameters().numel(), be.describe(),
                                    s.config().totalSteps(), s.config().tokensPerStep(),
                                    comm.isDistributed() ? " over " + comm.size() + " ranks" : "", runDir);
                        stdout.flush();
                    });
            CountDownLatch finished = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                job.requestStop();          // Ctrl-C: finish the step, write a checkpoint, then exit
                try { finished.await(120, TimeUnit.SECONDS); } catch (InterruptedException ignored) { }
            });
            Runtime.getRuntime().addShutdownHook(hook);
            PretrainJob.Result done;
            try {
                done = job.run(be);
            } finally {
                finished.countDown();
                try { Runtime.getRuntime().removeShutdownHook(hook); } catch (IllegalStateException shuttingDown) { }
            }
            if (!comm.isRoot()) return ExitCodes.OK;        // rank 0 reports the run
            Trainer.Result result = done.run();
            stdout.printf(Locale.ROOT, "%s after %d steps: loss %.4f", result.stopped() ? "stopped" : "done",
                    result.steps(), result.loss());
            if (!Double.isNaN(result.evalLoss()))
                stdout.printf(Locale.ROOT, ", validation loss %.4f (perplexity %.2f)", result.evalLoss(), Math.exp(result.evalLoss()));
            stdout.println();
            if (done.kd().kd() != null) stdout.println("kd: " + done.kd().report());
            stdout.println("run folder: " + runDir + (result.modelDir() != null ? "  (model: " + result.modelDir() + ")" : "")
                    + (result.stopped() ? "  -- continue with: kd4j pretrain --resume --out " + runDir : ""));
            return ExitCodes.OK;
        }
    }

    private TrainConfig loadConfig() throws IOException {
        Map<String, String> o = new LinkedHashMap<>();
        Map<String, String> flagOf = new LinkedHashMap<>();      // config key -> the flag that set it
        put(o, flagOf, "--out", "run.out", out);
        put(o, flagOf, "--train", "data.train", train);
        put(o, flagOf, "--validation", "data.validation", validation);
        put(o, flagOf, "--model-config", "model.config", modelConfig);
        put(o, flagOf, "--init", "model.init", init);
        put(o, flagOf, "--tokenizer", "model.tokenizer", tokenizer);
        put(o, flagOf, "--seq-length", "data.seqLength", seqLength);
        put(o, flagOf, "--batch-size", "data.batchSize", batchSize);
        put(o, flagOf, "--grad-accum", "data.gradAccum", gradAccum);
        put(o, flagOf, "--lr", "optimizer.lr", lr);
        put(o, flagOf, "--schedule", "schedule.kind", schedule);
        put(o, flagOf, "--warmup", "schedule.warmupSteps", warmup);
        put(o, flagOf, "--max-steps", "run.maxSteps", maxSteps);
        put(o, flagOf, "--max-tokens", "run.maxTokens", maxTokens);
        put(o, flagOf, "--eval-interval", "run.evalInterval", evalInterval);
        put(o, flagOf, "--checkpoint-interval", "run.checkpointInterval", checkpointInterval);
        put(o, flagOf, "--seed", "run.seed", seed);
        put(o, flagOf, "--threads", "run.threads", threads);
        put(o, flagOf, "--device", "run.device", device.spec(null));
        put(o, flagOf, "--activation-checkpointing", "run.activationCheckpointing", activationCheckpointing);
        put(o, flagOf, "--precision", "run.precision", precision);
        kd.addOverrides(o, flagOf);
        for (String kv : set) {
            int eq = kv.indexOf('=');
            if (eq <= 0)
                throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--set expects KEY=VALUE, got '" + kv + "'");
            String key = kv.substring(0, eq).strip();
            o.put(key, kv.substring(eq + 1).strip());
            flagOf.put(key, "--set " + kv);
        }
        Path file = config;
        if (file == null && resume) {
            Path saved = Path.of(out != null ? out : TrainConfig.defaults().run().out()).resolve(Trainer.CONFIG_FILE);
            if (Files.exists(saved)) file = saved;
        }
        if (file == null && o.isEmpty())
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "give --config FILE (or --resume --out DIR of an earlier run)");
        TrainConfig cfg;
        try {
            cfg = TrainConfig.load(file, o, KdPlan::check);
        } catch (kd4j.train.ConfigFormatException e) {
            // A value from a flag is bad usage (exit 2), named as typed; one from the file stays bad input (exit 3).
            String flag = e.file() == null ? flagOf.get(e.key()) : null;
            if (flag == null) throw e;
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    flag + ": " + e.problem() + " [" + e.key() + "]");
        }
        if (cfg.data().train() == null)
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "no training data: set data.train in the config or pass --train DIR (a folder written by kd4j prepare)");
        return cfg;
    }

    private static void put(Map<String, String> o, Map<String, String> flagOf, String flag, String key, Object value) {
        if (value == null) return;
        o.put(key, value.toString());
        flagOf.put(key, flag);
    }
}
