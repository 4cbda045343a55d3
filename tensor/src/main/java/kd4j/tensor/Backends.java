/*
 * The one place a backend is chosen by name. open() returns exactly what was asked for or throws with the reason
 * and the valid specs; nothing ever falls back quietly to another backend.
 *   "cpu"        the Vector API CPU backend, -Dkd4j.threads threads (default: one per core)
 *   "cpu:N"      the CPU backend with N threads
 *   "reference"  scalar loops in double: the test oracle, slow by design
 *   "opencl", "opencl:N"  OpenCL device N (default 0)
 * forLocalRank() turns a spec into one rank's share of its node when several ranks of a job run there.
 */
package kd4j.tensor;

import kd4j.tensor.cpu.CpuBackend;
import kd4j.tensor.opencl.OpenClBackend;
import kd4j.tensor.reference.ReferenceBackend;

public final class Backends {
    /** The specs open() accepts, for error messages and --help. */
    public static final String VALID_SPECS = "cpu, cpu:N (N threads), reference, opencl, opencl:N (device N)";

    private Backends() {}

    private static final class Shared {
        static final CpuBackend CPU = CpuBackend.sharedInstance(0);
    }

    /** A process-wide CPU backend with the default thread count; its close() does nothing. */
    public static Backend cpu() { return Shared.CPU; }

    /**
     * A new backend for the spec (see the file header). The caller owns it and closes it.
     * @throws IllegalArgumentException for a spec that names no backend, listing the valid ones
     */
    public static Backend open(String spec) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("backend spec is empty; valid: " + VALID_SPECS);
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return new CpuBackend();
        if (s.startsWith("cpu:")) return new CpuBackend(positive(spec, s.substring(4), "thread count"));
        if (s.equals("reference")) return new ReferenceBackend();
        if (s.equals("opencl") || s.startsWith("opencl:")) return OpenClBackend.open(s);
        throw new IllegalArgumentException("unknown backend '" + spec + "'; valid: " + VALID_SPECS);
    }

    /**
     * The spec one of localSize ranks on a node should open: "cpu" becomes "cpu:K" with the node's cores split
     * evenly (at least one each), "opencl" the localRank-th GPU (round robin when there are fewer GPUs than ranks,
     * all devices when there is no GPU). A spec that already names threads or a device is kept as given.
     */
    public static String forLocalRank(String spec, int localRank, int localSize) {
        if (localSize <= 1) return spec;
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return "cpu:" + Math.max(1, Runtime.getRuntime().availableProcessors() / localSize);
        if (s.equals("opencl")) {
            java.util.List<kd4j.tensor.opencl.ClDevice> devices = kd4j.tensor.opencl.ClDevice.list();
            java.util.List<Integer> gpus = new java.util.ArrayList<>();
            for (var d : devices) if (d.gpu()) gpus.add(d.index());
            if (gpus.isEmpty()) for (var d : devices) gpus.add(d.index());
            if (gpus.isEmpty()) return spec;        // open() reports the missing device
            return "opencl:" + gpus.get(localRank % gpus.size());
        }
        return spec;
    }

    private static int positive(String spec, String number, String what) {
        try {
            int n = Integer.parseInt(number);
            if (n > 0) return n;
        } catch (NumberFormatException ignored) { /* reported below */ }
        throw new IllegalArgumentException("backend '" + spec + "': " + what + " must be a positive integer, got '"
                + number + "'; valid: " + VALID_SPECS);
    }
}
