/*
 * The --device mixin every computing command shares (declared once): cpu, cpu:N, opencl (first GPU, else device
 * 0), opencl:N, reference. Not given, it is cpu, or the config's run.device for a command that reads a config.
 * open() returns exactly that backend or throws with the reason and the fix.
 */
package kd4j.cli;

import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import picocli.CommandLine.Option;

public final class DeviceOptions {
    @Option(names = "--device", paramLabel = "DEVICE",
            description = "where to compute: cpu, cpu:N (N threads), opencl, opencl:N (see `kd4j devices`), reference "
                    + "(default: cpu, or run.device of the config)")
    String device;

    /** The spec as given ("cpu", "opencl:1"), or cpu. */
    public String spec() { return spec("cpu"); }

    /** The spec as given, or fallback when --device was not given (null: the config decides). */
    public String spec(String fallback) { return device != null ? device : fallback; }

    /** A new backend; the caller closes it. */
    public Backend open() { return Backends.open(spec()); }
}
