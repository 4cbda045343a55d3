/*
 * `kd4j verify-model --model DIR --reference FILE`: loads an HF model directory, runs it on the reference
 * file's input ids (format of fixtures/models/<name>/reference.safetensors) and prints the max error of the
 * logits, loss, hidden states and every gradient the file lists. Exit 0 when all are within tolerance, 1 if not.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.models.Verification;
import kd4j.tensor.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "verify-model", mixinStandardHelpOptions = true,
        description = "Check a model directory against a reference file of expected logits, loss and gradients.")
public final class VerifyModelCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory (config.json + safetensors).")
    Path model;

    @Option(names = "--reference", required = true, paramLabel = "FILE",
            description = "reference.safetensors with input_ids, logits and optionally loss, hidden.*, grad.*.")
    Path reference;

    @Option(names = "--tolerance", paramLabel = "ATOL", defaultValue = "1e-4",
            description = "Max abs error of logits and hidden states. Default: ${DEFAULT-VALUE}.")
    double tolerance;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Verification.Tolerances defaults = Verification.Tolerances.defaults();
        var tol = new Verification.Tolerances(tolerance, defaults.loss(), defaults.gradAtol(), defaults.gradRtol(),
                defaults.bf16Logits());
        List<Verification.Result> results;
        try (Backend be = device.open()) {
            results = Verification.verify(model, reference, be, tol);
        }
        int width = results.stream().mapToInt(r -> r.name().length()).max().orElse(10);
        int bad = 0;
        for (Verification.Result r : results) {
            out.printf("%-" + width + "s  max |diff| %.3e  (tolerance %s, %d values)  %s%n", r.name(), r.maxAbsDiff(),
                    r.tolerance(), r.count(), r.ok() ? "ok" : "OUT OF TOLERANCE");
            if (!r.ok()) bad++;
        }
        out.println(bad == 0 ? "verify-model: all " + results.size() + " checks within tolerance"
                : "verify-model: " + bad + " of " + results.size() + " checks out of tolerance");
        out.flush();
        return bad == 0 ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
