/*
 * The --device mixin every computing command shares: cpu (default), opencl (first GPU, else device 0), opencl:N,
 * also cpu:N and reference. open() returns exactly that backend or throws with the reason and the fix.
 */
package kd4j.cli;

import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import picocli.CommandLine.Option;

public final class DeviceOptions {
    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
            description = "Where to compute: cpu, cpu:N (N threads), opencl, opencl:N (see `kd4j devices`), reference. Default: ${DEFAULT-VALUE}.")
    String device = "cpu";

    /** The spec as given ("cpu", "opencl:1"). */
    public String spec() { return device; }

    /** A new backend; the caller closes it. */
    public Backend open() { return Backends.open(device); }
}
