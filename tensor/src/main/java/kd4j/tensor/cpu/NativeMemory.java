/*
 * Accounting for the CPU backend's native tensor memory, in the manner of NIO's Bits.reserveMemory. Each segment
 * comes from its own automatic arena, freed only when the GC finds the arena unreachable; a small Java heap rarely
 * collects, so a long scoring run piled up 17.7 GB of dead native tensors. Here every allocation is counted, a
 * Cleaner on the segment's scope (the object whose reachability decides when the JDK frees the memory) uncounts it,
 * and an allocation that would take the outstanding bytes over the threshold first runs System.gc() and waits
 * briefly for the cleaners. The limit is soft: when live tensors really need more, the allocation goes ahead and the
 * threshold rises to twice the live bytes found after the collection (so a big live set costs one GC per doubling,
 * as a heap grows), falling back to the budget once usage drops below it.
 * Budget: -Dkd4j.cpu.maxNativeBytes (bytes, or with a k/m/g suffix), default min(4 GiB, physical memory / 3).
 */
package kd4j.tensor.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

public final class NativeMemory {
    /** The accounting the CPU backends of this process share (native memory is a process-wide resource). */
    public static final NativeMemory GLOBAL = new NativeMemory(defaultBudget());

    private static final Cleaner CLEANER = Cleaner.create();
    /** Waits after System.gc() for cleaners to run: 1, 2, 4, ... 256 ms, about half a second in all (as NIO). */
    private static final int MAX_SLEEPS = 9;

    private final long budget;
    private final AtomicLong outstanding = new AtomicLong();
    private final AtomicLong collections = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();
    private volatile long threshold;
    private final Object gcLock = new Object();

    NativeMemory(long budget) {
        if (budget <= 0) throw new IllegalArgumentException("native memory budget must be positive, got " + budget);
        this.budget = budget;
        this.threshold = budget;
    }

    /** Bytes of segments allocated here whose memory has not been released yet. */
    public long outstandingBytes() { return outstanding.get(); }

    /** The most bytes outstanding at once since construction or the last resetPeak() (benchmarks' peak memory). */
    public long peakBytes() { return peak.get(); }

    /** Starts a new peak measurement from the bytes outstanding now. */
    public void resetPeak() { peak.set(outstanding.get()); }

    /** The budget above which an allocation first asks the GC to release dead tensors. */
    public long budgetBytes() { return budget; }

    /** How many times an allocation has called System.gc() to stay within the budget. */
    public long collections() { return collections.get(); }

    /** A zero-filled segment of bytes bytes aligned to alignment, counted until the GC releases it. */
    MemorySegment allocate(long bytes, long alignment) {
        reserve(bytes);
        MemorySegment s;
        try {
            s = Arena.ofAuto().allocate(bytes, alignment);
        } catch (OutOfMemoryError | RuntimeException e) {
            outstanding.addAndGet(-bytes);
            throw e;
        }
        // The scope is what every view of s refers to; the lambda must not capture s or its scope.
        CLEANER.register(s.scope(), release(outstanding, bytes));
        return s;
    }

    private static Runnable release(AtomicLong outstanding, long bytes) { return () -> outstanding.addAndGet(-bytes); }

    private void reserve(long bytes) {
        if (outstanding.get() + bytes > threshold) {
            synchronized (gcLock) {
                if (outstanding.get() + bytes > threshold) collect(bytes);
            }
        }
        long now = outstanding.addAndGet(bytes);
        peak.accumulateAndGet(now, Math::max);
        if (now < budget / 2 && threshold != budget) threshold = budget;
    }

    private void collect(long bytes) {
        collections.incrementAndGet();
        System.gc();
        for (int sleeps = 0, ms = 1; sleeps < MAX_SLEEPS && outstanding.get() + bytes > budget; sleeps++, ms <<= 1) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        long live = outstanding.get() + bytes;
        threshold = live > budget ? Math.max(budget, 2 * live) : budget;
    }

    static long defaultBudget() {
        String p = System.getProperty("kd4j.cpu.maxNativeBytes");
        if (p != null && !p.isBlank()) return parseBytes(p.trim());
        long physical = physicalMemoryBytes();
        long fourGiB = 4L << 30;
        return physical > 0 ? Math.min(fourGiB, physical / 3) : fourGiB;
    }

    /** Total physical memory, or 0 when unknown. A runtime linked without jdk.management (a jlinked minimal JRE) has no
     *  com.sun.management bean; /proc/meminfo answers on Linux there. */
    private static long physicalMemoryBytes() {
        try {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
                return os.getTotalMemorySize();
        } catch (LinkageError missingModule) {
            // fall through to /proc/meminfo
        }
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith("MemTotal:")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).orElse(0L);
        } catch (java.io.IOException | RuntimeException unavailable) {
            return 0;
        }
    }

    /**
     * What host tensors may take at most: the JVM's native-memory limit (-XX:MaxDirectMemorySize; its default is
     * the heap's maximum), capped by physical memory. The launcher sizes the limit from physical memory.
     */
    public static long hostCapacityBytes() {
        long limit = Runtime.getRuntime().maxMemory();
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            long set = Long.parseLong(bean.getVMOption("MaxDirectMemorySize").getValue());
            if (set > 0) limit = set;
        } catch (LinkageError | RuntimeException unavailable) {
            // a runtime without jdk.management: the default (the heap's maximum) stands
        }
        long physical = physicalMemoryBytes();
        return physical > 0 ? Math.min(limit, physical) : limit;
    }

    static long parseBytes(String p) {
        char unit = Character.toLowerCase(p.charAt(p.length() - 1));
        int shift = switch (unit) { case 'k' -> 10; case 'm' -> 20; case 'g' -> 30; default -> 0; };
        String digits = shift == 0 ? p : p.substring(0, p.length() - 1);
        try {
            long v = Long.parseLong(digits.trim());
            if (v > 0 && v <= Long.MAX_VALUE >> shift) return v << shift;
        } catch (NumberFormatException ignored) { /* falls through to the error below */ }
        throw new IllegalArgumentException("-Dkd4j.cpu.maxNativeBytes=" + p
                + " is not a positive byte count (digits, optionally followed by k, m or g)");
    }
}
