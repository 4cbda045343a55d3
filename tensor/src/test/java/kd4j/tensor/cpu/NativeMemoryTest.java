/* NativeMemory: dropped tensors are collected before native memory outgrows the budget; live ones are never lost. */
package kd4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NativeMemoryTest {
    private static final long MIB = 1 << 20;

    @Test
    void droppedSegments_areCollectedSoOutstandingBytesStayNearTheBudget() throws InterruptedException {
        NativeMemory mem = new NativeMemory(32 * MIB);
        long max = 0;
        for (int i = 0; i < 1024; i++) {   // 1 GiB in all, 32x the budget; the heap alone would never collect
            MemorySegment s = mem.allocate(MIB, 64);
            s.set(ValueLayout.JAVA_BYTE, MIB - 1, (byte) 1);
            max = Math.max(max, mem.outstandingBytes());
        }
        assertTrue(mem.collections() > 0, "no collection was requested");
        // Exactly the budget when each GC finds every dropped segment; a slow cleaner may let it double once or twice.
        assertTrue(max <= 4 * 32 * MIB, "outstanding native bytes reached " + max / MIB + " MiB with a 32 MiB budget");
        for (int i = 0; i < 50 && mem.outstandingBytes() > 0; i++) { System.gc(); Thread.sleep(20); }
        assertEquals(0, mem.outstandingBytes(), "bytes still counted after every segment was dropped and collected");
    }

    @Test
    void liveSegmentsBeyondTheBudget_areAllocatedAndKeepTheirContents() {
        NativeMemory mem = new NativeMemory(4 * MIB);
        List<MemorySegment> live = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            MemorySegment s = mem.allocate(MIB, 64);
            s.set(ValueLayout.JAVA_INT, 0, i);
            live.add(s);
        }
        assertTrue(mem.outstandingBytes() >= 12 * MIB, "live segments were uncounted: " + mem.outstandingBytes());
        assertTrue(mem.collections() <= 3, "a live set above the budget should cost one GC per doubling, not "
                + mem.collections());
        for (int i = 0; i < live.size(); i++) {
            assertEquals(i, live.get(i).get(ValueLayout.JAVA_INT, 0));
            assertEquals(0, live.get(i).address() % 64);
        }
    }

    @Test
    void budgetProperty_parsesUnitsAndRejectsNonsense() {
        assertEquals(4L << 30, NativeMemory.parseBytes("4g"));
        assertEquals(512L << 20, NativeMemory.parseBytes("512M"));
        assertEquals(1000, NativeMemory.parseBytes("1000"));
        var e = assertThrows(IllegalArgumentException.class, () -> NativeMemory.parseBytes("lots"));
        assertTrue(e.getMessage().contains("kd4j.cpu.maxNativeBytes=lots"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativeMemory.parseBytes("-5k"));
        assertTrue(NativeMemory.GLOBAL.budgetBytes() > 0);
    }
}
