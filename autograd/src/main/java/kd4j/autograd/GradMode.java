/*
 * Whether ops record onto the tape. Teacher scoring and generation run with recording off, which is what makes
 * them cheap: no tape entries, no saved tensors.
 *
 *   try (var g = GradMode.off()) { teacher.forward(batch); }
 */
package kd4j.autograd;

public final class GradMode implements AutoCloseable {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> Boolean.TRUE);
    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = ENABLED.get();
        ENABLED.set(enabled);
    }

    public static GradMode off() { return new GradMode(false); }

    public static GradMode on() { return new GradMode(true); }

    public static boolean isEnabled() { return ENABLED.get(); }

    @Override
    public void close() { ENABLED.set(previous); }
}
