/*
 * `kd4j kernels`: every OpenCL kernel kd4j ships, with its .cl file and the SHA-256 of the source built from it
 * (the shared header common.cl, then the file), so a run's metrics can record exactly which kernel code it used. Needs no OpenCL runtime: it reads the sources from the jar.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import kd4j.tensor.opencl.KernelSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "kernels", mixinStandardHelpOptions = true,
        description = "List every OpenCL kernel with its source file and the SHA-256 of the source built (common.cl + the file).")
public final class KernelsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--files", description = "One line per file (file, SHA-256, kernel count) instead of per kernel.")
    boolean files;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (KernelSource.Entry e : KernelSource.all()) {
            if (files) {
                out.printf("%-18s %s %d kernels%n", e.file(), e.sha256(), e.kernels().size());
                continue;
            }
            for (String k : e.kernels()) out.printf("%-32s %-18s %s%n", k, e.file(), e.sha256());
        }
        return ExitCodes.OK;
    }
}
