/*
 * `kd4j pipeline --config FILE`: MiniPLM end to end from a JSON config (kd4j.distill.pipeline.PipelineConfig):
 * teacher, reference, scoring, Difference Sampling, students under equal compute, evaluation and a report.
 * Every stage is cached in the run folder: rerun to continue after a kill or to redo only what a changed
 * setting affects.
 */
package kd4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.distill.pipeline.PipelineConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the MiniPLM pipeline from a JSON config: tokenizers, prepare, teacher, reference, score, "
                + "select, students (no KD, MiniPLM, Vanilla KD, another family), evaluation, report.",
                "Config sections: data, tokenizer, teacher, reference, selection, students, evaluation, run "
                + "(see docs/demo.md). Rerunning skips finished stages; a changed setting reruns only what it affects."})
public final class PipelineCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "pipeline config (JSON)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (overrides run.out)")
    String out;

    @Option(names = "--seeds", paramLabel = "N", description = "student seeds (overrides run.seeds)")
    Integer seeds;

    @Option(names = "--ratios", paramLabel = "R,R,...", split = ",", description = "selection ratios for the ratio curve "
            + "(overrides selection.curve; e.g. 0.3,0.5,0.7,0.9): the MiniPLM student once per ratio and seed, other stages shared")
    List<String> ratios = new ArrayList<>();

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads, 0 = all cores (overrides run.threads)")
    Integer threads;

    @Mixin DeviceOptions device = new DeviceOptions();

    @Override
    public Integer call() throws Exception {
        PipelineConfig cfg = PipelineConfig.load(config);
        cfg = cfg.withRun(overrideRun(cfg.run(), out, seeds, threads, device.spec(null)));
        cfg = DemoCommand.withRatios(cfg, ratios, spec);
        Path base = config.toAbsolutePath().getParent();
        return DemoCommand.runPipeline(cfg, base, spec);
    }

    static PipelineConfig.Run overrideRun(PipelineConfig.Run r, String out, Integer seeds, Integer threads, String device) {
        if (seeds != null && seeds < 1) throw new IllegalArgumentException("--seeds must be at least 1, got " + seeds);
        if (threads != null && threads < 0) throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
        return new PipelineConfig.Run(out != null ? out : r.out(), seeds != null ? seeds : r.seeds(), r.seed(),
                threads != null ? threads : r.threads(), device != null ? device : r.device());
    }
}
