/*
 * `kd4j select`: MiniPLM's Difference Sampling. Keeps the top --ratio of instances by mean log p(teacher) - mean
 * log p(reference) (deterministic top-k, ties to the lower id), writes them in corpus order as a new prepared data
 * set, optionally re-tokenized for a student with another tokenizer, and writes a selection report.
 */
package kd4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import kd4j.distill.select.DifferenceSampling.MissingPolicy;
import kd4j.distill.select.DifferenceSampling.Selection;
import kd4j.distill.select.SelectJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "select", mixinStandardHelpOptions = true,
        description = {"Difference Sampling: keep the top --ratio of instances by mean log p(teacher) - mean log "
                + "p(reference), write them as a new prepared data set (corpus order) and a selection report."})
public final class SelectCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--teacher-scores", required = true, paramLabel = "FILE", description = "kd4j score output of the teacher (merged if sharded)")
    Path teacherScores;

    @Option(names = "--reference-scores", required = true, paramLabel = "FILE", description = "kd4j score output of the small reference model")
    Path referenceScores;

    @Option(names = "--ratio", required = true, paramLabel = "R", description = "share of scored instances to keep, in (0, 1]")
    double ratio;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the refined data set (and report/) to write")
    Path out;

    @Option(names = "--data", paramLabel = "DIR|PREFIX", description = "the scored data set (default: the path recorded in the score files)")
    Path data;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "the corpus's tokenizer: text snippets in the report; required with --student-tokenizer")
    Path tokenizer;

    @Option(names = "--student-tokenizer", paramLabel = "DIR",
            description = "re-tokenize the kept instances for a student with this tokenizer (one instance to one, same length)")
    Path studentTokenizer;

    @Option(names = "--missing", paramLabel = "POLICY", defaultValue = "exclude",
            description = "instances without a score (every input token EOS/padding): exclude (never kept, counted) or refuse (default: ${DEFAULT-VALUE})")
    MissingPolicy missing;

    @Override
    public Integer call() throws Exception {
        SelectJob.Config config;
        try {
            config = new SelectJob.Config(teacherScores, referenceScores, ratio, data, tokenizer, studentTokenizer, false, missing,
                    out, out.resolve("report"), teacherScores.toString(), referenceScores.toString(), null);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        SelectJob.Result r = SelectJob.run(config);
        Selection s = r.selection();
        var o = spec.commandLine().getOut();
        o.printf(Locale.ROOT, "kept %,d of %,d scored instances (ratio %s, cut-off %.4f; %,d without a score excluded)%n",
                s.keptCount(), s.scoredCount(), ratio, s.cutoff(), s.missing().length);
        o.printf("refined data set: %s%nreport: %s%n", out, r.report());
        if (!Files.exists(r.report())) return ExitCodes.FAILED;
        return ExitCodes.OK;
    }
}
