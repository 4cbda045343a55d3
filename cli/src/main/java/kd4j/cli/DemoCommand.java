/*
 * `kd4j demo`: the README's main job. MiniPLM on the bundled corpus (State of the Union addresses + Moby-Dick),
 * offline, on the CPU: a small Qwen2 teacher and reference, Difference Sampling at ratio 0.5, and students under
 * equal compute (no KD, MiniPLM, Vanilla KD, a Llama with its own tokenizer), 3 seeds by default, evaluated
 * in-domain, out-of-domain (bundled Moby-Dick; Brown too when the fixtures are present), on BLiMP and zero-shot;
 * report in OUT/report.md. --scale S multiplies steps and data (and widens the models by sqrt(S)) for larger runs;
 * --ratios adds the selection-ratio curve.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.distill.pipeline.Pipeline;
import kd4j.distill.pipeline.PipelineConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"MiniPLM end to end on the bundled corpus, offline: train a teacher and a reference model, "
                + "score, select, pre-train students under equal compute, evaluate, and write a report.",
                "Resumable: rerun the same command after a kill. Finished stages are skipped."})
public final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/demo", description = "run folder (default: ${DEFAULT-VALUE})")
    String out;

    @Option(names = "--scale", paramLabel = "S", defaultValue = "1", description = "multiply steps and data (and widen the models by sqrt(S)); default ${DEFAULT-VALUE}")
    double scale;

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "3", description = "train every student with N seeds; the report "
            + "gives mean ± sd and paired differences with 95%% intervals (default: ${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--ratios", paramLabel = "R,R,...", split = ",", description = "selection ratios for the ratio curve "
            + "(e.g. 0.3,0.5,0.7,0.9): the MiniPLM student is trained once per ratio and seed, other stages shared")
    List<String> ratios = new ArrayList<>();

    @Mixin DeviceOptions device = new DeviceOptions();

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--print-config", description = "print the demo's pipeline config (a starting point for kd4j pipeline --config) and exit")
    boolean printConfig;

    @Override
    public Integer call() throws Exception {
        if (!(scale > 0)) throw new ParameterException(spec.commandLine(), "--scale must be positive, got " + scale);
        if (seeds < 1) throw new ParameterException(spec.commandLine(), "--seeds must be at least 1, got " + seeds);
        if (threads < 0) throw new ParameterException(spec.commandLine(), "--threads must be >= 0, got " + threads);
        PipelineConfig cfg = PipelineConfig.demo(scale, out, seeds);
        cfg = cfg.withRun(new PipelineConfig.Run(out, seeds, cfg.run().seed(), threads, device.spec()));
        cfg = withRatios(cfg, ratios, spec);
        if (printConfig) {
            spec.commandLine().getOut().print(cfg.toJson());
            spec.commandLine().getOut().flush();
            return ExitCodes.OK;
        }
        String home = System.getProperty("kd4j.home");
        return runPipeline(cfg, home == null ? null : Path.of(home), spec);
    }

    /** The config with --ratios as its selection curve (none: unchanged); a value outside (0, 1] is bad usage. */
    static PipelineConfig withRatios(PipelineConfig cfg, List<String> ratios, CommandSpec spec) {
        if (ratios == null || ratios.isEmpty()) return cfg;
        List<Double> curve = new ArrayList<>();
        for (int i = 0; i < ratios.size(); i++) {
            String r = ratios.get(i).strip();
            double v;
            try {
                v = Double.parseDouble(r);
            } catch (NumberFormatException e) {
                throw new ParameterException(spec.commandLine(), "--ratios: value " + (i + 1) + " '" + r + "' is not a number");
            }
            if (!(v > 0 && v <= 1))
                throw new ParameterException(spec.commandLine(), "--ratios: value " + (i + 1) + " (" + r + ") must be in (0, 1]");
            curve.add(v);
        }
        return cfg.withSelection(new PipelineConfig.Selection(cfg.selection().ratio(), curve));
    }

    /** Runs a pipeline with progress on stderr and the summary on stdout. */
    static int runPipeline(PipelineConfig cfg, Path base, CommandSpec spec) throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        Pipeline.Result r = new Pipeline(cfg, base, System.err).run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long ran = r.outcomes().stream().filter(o -> o.action() != kd4j.distill.pipeline.Stage.Action.SKIPPED).count();
        stdout.printf(Locale.ROOT, "pipeline finished in %.0f s (%d of %d stages run, the rest cached)%n", seconds, ran,
                r.outcomes().size());
        stdout.println("report: " + r.report());
        stdout.flush();
        return ExitCodes.OK;
    }
}
