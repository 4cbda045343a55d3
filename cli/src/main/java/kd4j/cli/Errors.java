/*
 * Turns exceptions from commands into one-paragraph messages and exit codes. Known kinds of bad input print
 * their message only; anything unexpected prints its stack trace only under --verbose (or -Dkd4j.verbose).
 */
package kd4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import kd4j.data.DiskFullException;
import kd4j.models.io.CheckpointFormatException;
import kd4j.tensor.opencl.DeviceUnavailableException;
import kd4j.tokenizers.TokenizerFormatException;
import kd4j.train.ConfigFormatException;
import picocli.CommandLine;

final class Errors implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean verbose = Boolean.getBoolean("kd4j.verbose") || hasVerbose(parsed);
        var err = cl.getErr();
        Throwable cause = ex;
        String context = null;              // a wrapper's own message ("model.safetensors: cannot write: ...")
        while ((cause instanceof UncheckedIOException || cause instanceof java.util.concurrent.CompletionException
                || cause instanceof java.util.concurrent.ExecutionException) && cause.getCause() != null) {
            String own = cause.getMessage();
            if (context == null && own != null && !own.equals(cause.getCause().toString())) context = own;
            cause = cause.getCause();
        }
        String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        // keep the wrapper's message when it says more (the file name) than the bare cause
        if (context != null && context.contains(message) && !(cause instanceof DiskFullException)) message = context;
        err.println("kd4j: " + message);
        if (verbose) cause.printStackTrace(err);
        else if (!isKnown(cause)) err.println("      (run with --verbose for the stack trace)");
        err.flush();
        return exitCode(cause);
    }

    private static boolean hasVerbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand())
            if (p.hasMatchedOption("--verbose")) return true;
        return false;
    }

    static boolean isKnown(Throwable t) {
        return t instanceof IOException || t instanceof IllegalArgumentException || t instanceof IllegalStateException;
    }

    static int exitCode(Throwable t) {
        if (t instanceof DeviceUnavailableException) return ExitCodes.DEVICE_UNAVAILABLE;
        // A full disk is the run failing, not its input being bad (finished work is kept; rerun to continue).
        if (DiskFullException.isDiskFull(t)) return ExitCodes.FAILED;
        // A bad value given on the command line (no config file behind it) is bad usage, not a bad file.
        if (t instanceof ConfigFormatException c) return c.file() == null ? ExitCodes.USAGE : ExitCodes.BAD_INPUT;
        // Every bad-input exception is an IOException except these two, which are IllegalArgumentExceptions for
        // their callers' sake (a malformed tokenizer.json or safetensors header is still a bad file).
        if (t instanceof IOException || t instanceof TokenizerFormatException || t instanceof CheckpointFormatException)
            return ExitCodes.BAD_INPUT;
        if (t instanceof IllegalArgumentException) return ExitCodes.USAGE;
        return ExitCodes.FAILED;
    }
}
