package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatcherTest {
    @TempDir Path dir;
    ShardReader data;

    /** Instance i = [i, 100+i, 200+i, ...] with 2 + i % 4 tokens. */
    @BeforeEach
    void writeInstances() throws Exception {
        Path p = dir.resolve("instances.kd4j");
        try (ShardWriter w = new ShardWriter(p, 1000)) {
            for (int i = 0; i < 10; i++) {
                int[] t = new int[2 + i % 4];
                for (int k = 0; k < t.length; k++) t[k] = 100 * k + i;
                w.add(t);
            }
        }
        data = ShardReader.open(p);
    }

    static List<Batcher.PaddedRows> take(Batcher b, int n) {
        List<Batcher.PaddedRows> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(b.next());
        return out;
    }

    @Test
    void batchesHoldPaddedRowsInAPerEpochPermutation() {
        List<Batcher.PaddedRows> batches;
        try (Batcher b = new Batcher(data, 3, 4, 999, 42, Batcher.Position.START, 2)) {
            long t0 = System.nanoTime();
            batches = take(b, 7);
            long elapsed = System.nanoTime() - t0;
            assertEquals(new Batcher.Position(2, 1), b.position());
            assertEquals(7, b.batches());
            // the time next() blocked is part of the time the seven calls took, never more
            assertTrue(b.waitNanos() >= 0 && b.waitNanos() <= elapsed, b.waitNanos() + " ns waited in " + elapsed + " ns");
            assertEquals((double) b.waitNanos() / elapsed, b.waitShare(elapsed), 1e-12);
        }
        long[] seen = batches.stream().flatMapToLong(x -> Arrays.stream(x.instances())).toArray();
        int[] epoch0 = Batcher.order(10, 42, 0), epoch1 = Batcher.order(10, 42, 1);
        for (int i = 0; i < 10; i++) {
            assertEquals(epoch0[i], seen[i]);
            assertEquals(epoch1[i], seen[10 + i]);
        }
        assertEquals(Batcher.order(10, 42, 2)[0], seen[20]);
        int[] sorted = epoch0.clone();
        Arrays.sort(sorted);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted);
        assertFalse(Arrays.equals(epoch0, epoch1), "each epoch draws its own order");

        for (var batch : batches) {
            assertEquals(12, batch.tokens().length);
            for (int r = 0; r < 3; r++) {
                int i = (int) batch.instances()[r];
                int len = Math.min(2 + i % 4, 4);   // instance 3 and 7 (5 tokens) are cut to the width
                assertEquals(len, batch.lengths()[r]);
                for (int k = 0; k < 4; k++)
                    assertEquals(k < len ? 100 * k + i : 999, batch.tokens()[r * 4 + k], "row " + r + " col " + k);
            }
        }
    }

    @Test
    void resumingFromASavedPositionGivesTheSameBatches() {
        List<Batcher.PaddedRows> straight;
        Batcher.Position saved;
        try (Batcher b = new Batcher(data, 4, 6, 0, 7, Batcher.Position.START, 3)) {
            straight = take(b, 8);
        }
        try (Batcher b = new Batcher(data, 4, 6, 0, 7, Batcher.Position.START, 3)) {
            take(b, 3);
            saved = b.position();
        }
        assertEquals(straight.get(2).next(), saved);
        try (Batcher b = new Batcher(data, 4, 6, 0, 7, saved, 1)) {
            List<Batcher.PaddedRows> resumed = take(b, 5);
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(straight.get(3 + i).tokens(), resumed.get(i).tokens(), "batch " + (3 + i));
                assertArrayEquals(straight.get(3 + i).instances(), resumed.get(i).instances());
                assertEquals(straight.get(3 + i).next(), resumed.get(i).next());
            }
        }
    }

    @Test
    void otherSeedOtherOrder_andBadArgumentsAreNamed() {
        assertFalse(Arrays.equals(Batcher.order(10, 1, 0), Batcher.order(10, 2, 0)));
        assertArrayEquals(Batcher.order(10, 1, 0), Batcher.order(10, 1, 0));
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Batcher(data, 2, 4, 0, 1, new Batcher.Position(0, 10), 1));
        assertEquals("data position Position[epoch=0, index=10] is outside [0, 10) instances", e.getMessage());
    }
}
