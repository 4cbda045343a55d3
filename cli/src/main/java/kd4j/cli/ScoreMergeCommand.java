/*
 * `kd4j score-merge`: joins the score files of `kd4j score --shard i/N` runs into one file for the whole corpus.
 * Refuses files of different corpora, tokenizers or models, overlapping slices and gaps.
 */
package kd4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.distill.score.ScoreFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "score-merge", mixinStandardHelpOptions = true,
        description = "Join shard score files (kd4j score --shard i/N) into one; refuses gaps, overlaps and mismatched files.")
public final class ScoreMergeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "merged score file to write")
    Path out;

    @Parameters(arity = "1..*", paramLabel = "SHARD", description = "the shard score files, in any order")
    List<Path> shards;

    @Override
    public Integer call() throws Exception {
        ScoreFile merged = ScoreFile.merge(shards);
        merged.write(out);
        spec.commandLine().getOut().printf("merged %d shard files: %,d instances -> %s%n", shards.size(), merged.size(), out);
        return ExitCodes.OK;
    }
}
