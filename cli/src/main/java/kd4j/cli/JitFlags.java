package kd4j.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The HotSpot flags the CPU backend's Vector API kernels need to stay compiled with vectors in registers (the
 * `kd4j` launcher, the test forks and the JMH forks pass them; docs/performance.md, "Boxed vectors", says why).
 * Someone who starts the jar with `java` directly gets a one-line note naming the ones missing.
 */
final class JitFlags {
    private JitFlags() {}

    /** A HotSpot option, which of its values will do, and the command-line form that sets it. */
    private record Wanted(String option, Predicate<String> satisfiedBy, String flag) {}

    private static final List<Wanted> WANTED = List.of(
            new Wanted("UseProfiledLoopPredicate", "false"::equals, "-XX:-UseProfiledLoopPredicate"),
            new Wanted("PerBytecodeTrapLimit", v -> Long.parseLong(v) >= 100, "-XX:PerBytecodeTrapLimit=100"));

    /** The flags this JVM lacks, from its HotSpot options; none on a JVM without them (not HotSpot, no C2). */
    static List<String> missing() {
        HotSpotDiagnosticMXBean hotspot;
        try {
            hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        } catch (LinkageError | RuntimeException noBean) {
            return List.of();
        }
        if (hotspot == null) return List.of();
        return missing(option -> {
            try {
                return hotspot.getVMOption(option).getValue();
            } catch (IllegalArgumentException unknownOption) {
                return null;
            }
        });
    }

    /** The flags whose option (read by optionValue, null when the JVM has no such option) is not as kd4j wants. */
    static List<String> missing(Function<String, String> optionValue) {
        List<String> out = new ArrayList<>();
        for (Wanted w : WANTED) {
            String v = optionValue.apply(w.option());
            if (v != null && !w.satisfiedBy().test(v)) out.add(w.flag());
        }
        return out;
    }

    /** The note for missing flags, or empty when nothing is missing. */
    static Optional<String> note(List<String> missing) {
        if (missing.isEmpty()) return Optional.empty();
        return Optional.of("kd4j: note: this JVM runs without " + String.join(" ", missing) + "; the CPU kernels can then"
                + " be compiled with boxed vectors (up to 1.5x slower, docs/performance.md). ./kd4j passes them; add them"
                + " when you start the jar with java yourself.");
    }
}
