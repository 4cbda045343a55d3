/* The CPU pool: every index exactly once, block boundaries as blockOf says, failures rethrown, nesting and concurrent callers. */
package kd4j.tensor.cpu;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {
    @Test
    void forRange_coversEveryIndexOnceInTheAnnouncedBlocks() {
        try (Parallel par = new Parallel(3)) {
            for (int n : new int[] {1, 2, 5, 12, 13, 1000}) {
                for (int minBlock : new int[] {1, 3, 100}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    ConcurrentHashMap<Integer, Integer> blockStarts = new ConcurrentHashMap<>();
                    par.forRange(n, minBlock, (s, e) -> {
                        assertTrue(s < e, "empty block");
                        blockStarts.put(par.blockOf(n, minBlock, s), e);
                        for (int i = s; i < e; i++) hits.incrementAndGet(i);
                    });
                    for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " index " + i);
                    int blocks = par.blockCount(n, minBlock);
                    assertEquals(blocks, blockStarts.size(), "n=" + n + " minBlock=" + minBlock);
                    for (int b = 0; b < blocks; b++)
                        assertEquals((int) ((long) n * (b + 1) / blocks), blockStarts.get(b), "end of block " + b);
                }
            }
        }
    }

    @Test
    void forRange_rethrowsTheBlocksFailureAndStaysUsable() {
        try (Parallel par = new Parallel(2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> par.forRange(64, 1, (s, t) -> {
                if (s == 0) throw new IllegalArgumentException("block 0 failed");
            }));
            assertEquals("block 0 failed", e.getMessage());
            AtomicLong sum = new AtomicLong();
            par.forRange(100, 1, (s, t) -> { for (int i = s; i < t; i++) sum.addAndGet(i); });
            assertEquals(4950, sum.get());
        }
    }

    @Test
    void nestedCallsRunInlineAndConcurrentCallersAreSerialised() throws Exception {
        try (Parallel par = new Parallel(2)) {
            AtomicLong inner = new AtomicLong();
            par.forEach(8, (s, e) -> par.forRange(10, 1, (a, b) -> inner.addAndGet(b - a)));
            assertEquals(80, inner.get());

            AtomicLong total = new AtomicLong();
            Thread[] callers = new Thread[4];
            for (int c = 0; c < callers.length; c++) {
                callers[c] = new Thread(() -> {
                    for (int r = 0; r < 200; r++) par.forRange(1000, 1, (s, e) -> total.addAndGet(e - s));
                });
                callers[c].start();
            }
            for (Thread t : callers) t.join();
            assertEquals(4L * 200 * 1000, total.get());
        }
    }

    @Test
    void oneThreadRunsInlineAndAClosedPoolRefusesWork() {
        try (Parallel one = new Parallel(1)) {
            Thread caller = Thread.currentThread();
            one.forRange(100, 1, (s, e) -> {
                assertEquals(caller, Thread.currentThread());
                assertEquals(0, s);
                assertEquals(100, e);
            });
        }
        Parallel par = new Parallel(2);
        par.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> par.forRange(100, 1, (s, t) -> {}));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
}
