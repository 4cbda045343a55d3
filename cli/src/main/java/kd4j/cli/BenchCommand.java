/*
 * `kd4j bench ...`: speed measurements anyone can rerun. Each subcommand warms up, measures several runs and
 * prints the median figure as its last line, so it can be compared with another library in one run.
 */
package kd4j.cli;

import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure the speed of kernels, tokenizers, training and scoring.",
        subcommands = {
                BenchTokenizeCommand.class,
                BenchGemmCommand.class,
                BenchAttentionCommand.class,
                BenchTrainCommand.class,
                BenchScoreCommand.class,
        })
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
