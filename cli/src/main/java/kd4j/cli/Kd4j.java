/*
 * The kd4j command line: one top command, one class per subcommand (named for its verb). Errors from bad input
 * print a message, never a stack trace (unless --verbose); exit codes are documented in ExitCodes.
 */
package kd4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "kd4j", mixinStandardHelpOptions = true, versionProvider = Kd4j.Version.class,
        description = "Distil large language models into small ones, entirely on the JVM.",
        subcommands = {
                CommandLine.HelpCommand.class,
                BenchCommand.class,
                TokenizeCommand.class,
                TokenizerTrainCommand.class,
                DevicesCommand.class,
                KernelsCommand.class,
                VerifyModelCommand.class, InspectCommand.class,
                PrepareCommand.class,
                ScoreCommand.class, ScoreMergeCommand.class, SelectCommand.class,
                PretrainCommand.class, EvalCommand.class,
                PipelineCommand.class, DemoCommand.class,
                CacheLogitsCommand.class, GenerateCommand.class,
        })
public final class Kd4j implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Declared once, inherited by every subcommand (Errors reads it from the parse result). */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "stack traces for unexpected errors (also -Dkd4j.verbose=true)")
    boolean verbose;

    public static void main(String[] args) {
        JitFlags.note(JitFlags.missing()).ifPresent(System.err::println);
        int code = newCommandLine().execute(args);
        kd4j.mpi.Communicators.finish(code);      // an MPI rank finalises, or on failure stops the other ranks
        System.exit(code);
    }

    /** The configured command line (also used by tests, with captured out/err). */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new Kd4j());
        cl.setExecutionExceptionHandler(new Errors());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Kd4j.class.getPackage().getImplementationVersion();
            return new String[] {"kd4j " + (v == null ? "0.1.0-SNAPSHOT" : v)
                    + " (Java " + Runtime.version() + ", " + System.getProperty("os.arch") + ")"};
        }
    }
}
