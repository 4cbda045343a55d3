package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A toy chunk format: i64 first row, i32 rows, then one i32 per row (its row number), checked on read. */
class ChunkFilesTest {
    @TempDir Path dir;

    static void writeChunk(Path dir, long first, int rows) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(12 + 4 * rows).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(first).putInt(rows);
        for (int i = 0; i < rows; i++) b.putInt((int) first + i);
        ChunkFiles.write(dir, first, b.flip());
    }

    /** Rows, or -1 when the header or any row disagrees (a torn or corrupted file). */
    static long readChunk(Path p, long first) throws IOException {
        byte[] all = Files.readAllBytes(p);
        if (all.length < 12) return -1;
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong() != first) return -1;
        int rows = b.getInt();
        if (rows <= 0 || all.length != 12 + 4 * rows) return -1;
        for (int i = 0; i < rows; i++) if (b.getInt() != first + i) return -1;
        return rows;
    }

    /** A pass over [start, end) in chunks of size rows, doing only the gaps; returns the chunks it wrote. */
    static List<Long> pass(Path dir, long start, long end, int size) throws IOException {
        List<Long> written = new ArrayList<>();
        for (long[] gap : ChunkFiles.scan(dir, start, end, ChunkFilesTest::readChunk).gaps())
            for (long at = gap[0]; at < gap[1]; at += size) {
                writeChunk(dir, at, (int) Math.min(size, gap[1] - at));
                written.add(at);
            }
        return written;
    }

    @Test
    void names_sortInRowOrder_andParseBack() {
        assertEquals("chunk-000000001024.bin", ChunkFiles.name(1024));
        assertEquals(1024, ChunkFiles.first("chunk-000000001024.bin"));
        assertTrue(ChunkFiles.isChunk("chunk-000000000000.bin"));
        assertFalse(ChunkFiles.isChunk("chunk-000000000000.bin.tmp"));
        assertFalse(ChunkFiles.isChunk("chunk-12.bin"));
        assertThrows(IllegalArgumentException.class, () -> ChunkFiles.first("manifest.json"));
    }

    @Test
    void resume_skipsFinishedChunks_andRedoesATornAndACorruptedOne() throws IOException {
        assertEquals(List.of(0L, 4L, 8L, 12L, 16L), pass(dir, 0, 18, 4), "a fresh pass does everything");
        assertEquals(List.of(), pass(dir, 0, 18, 4), "a finished pass does nothing");

        // A kill mid-write leaves a .tmp; a torn chunk (cut short) and a flipped byte must not pass as finished.
        Files.writeString(dir.resolve("chunk-000000000016.bin.tmp"), "half-written");
        Path torn = dir.resolve(ChunkFiles.name(4)), flipped = dir.resolve(ChunkFiles.name(12));
        Files.write(torn, java.util.Arrays.copyOf(Files.readAllBytes(torn), 20));
        byte[] b = Files.readAllBytes(flipped);
        b[b.length - 1] ^= 1;
        Files.write(flipped, b);

        ChunkFiles.Coverage c = ChunkFiles.scan(dir, 0, 18, ChunkFilesTest::readChunk);
        assertEquals(18 - 8, c.rows(), "rows of the kept chunks 0, 8 and 16");
        assertEquals("[4, 8) [12, 16)", gaps(c));
        assertFalse(Files.exists(dir.resolve("chunk-000000000016.bin.tmp")), "leftover deleted");
        assertFalse(Files.exists(torn) || Files.exists(flipped), "bad chunks deleted");

        assertEquals(List.of(4L, 12L), pass(dir, 0, 18, 4), "only the two bad chunks are redone, at the same rows");
        assertEquals(List.of(Path.of(ChunkFiles.name(0)), Path.of(ChunkFiles.name(4)), Path.of(ChunkFiles.name(8)),
                Path.of(ChunkFiles.name(12)), Path.of(ChunkFiles.name(16))),
                ChunkFiles.list(dir).stream().map(Path::getFileName).toList());
        for (Path p : ChunkFiles.list(dir)) assertTrue(readChunk(p, ChunkFiles.first(p.getFileName().toString())) > 0, p.toString());
    }

    @Test
    void overlappingChunks_keepTheFirst_andAnotherShardsChunksAreLeftAlone() throws IOException {
        writeChunk(dir, 10, 4);     // [10, 14)
        writeChunk(dir, 12, 4);     // overlaps it: dropped
        writeChunk(dir, 14, 2);     // [14, 16)
        writeChunk(dir, 18, 4);     // runs past this shard's end (20): dropped
        writeChunk(dir, 30, 4);     // another shard's
        ChunkFiles.Coverage c = ChunkFiles.scan(dir, 10, 20, ChunkFilesTest::readChunk);
        assertEquals(6, c.rows());
        assertEquals("[16, 20)", gaps(c));
        assertFalse(Files.exists(dir.resolve(ChunkFiles.name(12))));
        assertFalse(Files.exists(dir.resolve(ChunkFiles.name(18))));
        assertTrue(Files.exists(dir.resolve(ChunkFiles.name(30))));
    }

    private static String gaps(ChunkFiles.Coverage c) {
        return String.join(" ", c.gaps().stream().map(g -> "[" + g[0] + ", " + g[1] + ")").toList());
    }
}
