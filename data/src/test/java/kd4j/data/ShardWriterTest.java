package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardWriterTest {
    @TempDir Path dir;

    @Test
    void uint16Shard_hasTheDocumentedBytes_andReadsBack() throws Exception {
        Path p = dir.resolve("a.kd4j");
        try (ShardWriter w = new ShardWriter(p, 258)) {
            w.add(new int[] {1, 2, 3});
            w.add(new int[] {256});
            assertFalse(Files.exists(p), "the final name appears only on close");
        }
        String expected = ""
                + "4b44344a544f4b00" // "KD4JTOK\0"
                + "01000000"         // version 1
                + "02000000"         // 2 bytes per token
                + "0200000000000000" // 2 sequences
                + "0400000000000000" // 4 tokens
                + "0100020003000001" // 1, 2, 3, 256 as uint16 LE (8 bytes: already 8-aligned)
                + "0000000000000000" + "0300000000000000" + "0400000000000000"; // offsets 0, 3, 4
        assertEquals(expected, HexFormat.of().formatHex(Files.readAllBytes(p)));
        try (ShardReader r = ShardReader.open(p)) {
            assertEquals(2, r.size());
            assertEquals(4, r.totalTokens());
            assertArrayEquals(new int[] {1, 2, 3}, r.get(0));
            assertArrayEquals(new int[] {256}, r.get(1));
            assertEquals(1, r.length(1));
        }
    }

    @Test
    void uint32ShardForLargeVocabularies_padsTokensTo8Bytes() throws Exception {
        Path p = dir.resolve("b.kd4j");
        try (ShardWriter w = new ShardWriter(p, 151_936)) {
            w.add(new int[] {151_935, 0, 70_000});
            w.add(new int[] {});
        }
        // 32 header + 12 token bytes + 4 padding + 3 offsets * 8
        assertEquals(32 + 12 + 4 + 24, Files.size(p));
        try (ShardReader r = ShardReader.open(p)) {
            assertEquals(4, r.tokenBytes());
            assertArrayEquals(new int[] {151_935, 0, 70_000}, r.get(0));
            assertArrayEquals(new int[] {}, r.get(1));
        }
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() throws Exception {
        try (ShardWriter w = new ShardWriter(dir.resolve("c.kd4j"), 258)) {
            var e = assertThrows(IllegalArgumentException.class, () -> w.add(new int[] {5, 258}));
            assertEquals(dir.resolve("c.kd4j") + ": token id 258 of sequence 0 is outside the vocabulary [0, 257]", e.getMessage());
        }
    }

    @Test
    void truncatedOrForeignFilesAreReportedWithTheByteOffset() throws Exception {
        Path p = dir.resolve("d.kd4j");
        try (ShardWriter w = new ShardWriter(p, 258)) {
            w.add(new int[] {1, 2, 3});
        }
        byte[] all = Files.readAllBytes(p);
        Path cut = dir.resolve("cut.kd4j");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 3));
        var e = assertThrows(DataFormatException.class, () -> ShardReader.open(cut));
        assertTrue(e.getMessage().startsWith(cut + ": byte " + (all.length - 3) + ": file size " + (all.length - 3)
                + " does not match its header"), e.getMessage());

        Path foreign = dir.resolve("x.kd4j");
        Files.writeString(foreign, "hello, this is not a shard at all....");
        var f = assertThrows(DataFormatException.class, () -> ShardReader.open(foreign));
        assertEquals(foreign + ": byte 0: expected magic \"KD4JTOK\\0\", found \"hello, t\"", f.getMessage());
    }

    @Test
    void abortLeavesNoFile() throws Exception {
        Path p = dir.resolve("e.kd4j");
        ShardWriter w = new ShardWriter(p, 258);
        w.add(new int[] {1});
        w.abort();
        assertFalse(Files.exists(p));
        assertFalse(Files.exists(dir.resolve("e.kd4j.tmp")));
    }
}
