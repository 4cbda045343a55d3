package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MegatronIndexedDatasetTest {
    @TempDir Path dir;

    @Test
    void uint16_writesTheFairseqMmapLayoutByteForByte() throws Exception {
        Path prefix = dir.resolve("data_0");
        try (var w = MegatronIndexedDataset.create(prefix, MegatronIndexedDataset.UINT16)) {
            w.add(new int[] {1, 2, 3});
            w.endDocument();
            w.add(new int[] {65535});
            w.endDocument();
        }
        String idx = ""
                + "4d4d49444944580000"   // "MMIDIDX\0\0"
                + "0100000000000000"     // version 1
                + "08"                   // dtype code 8 = uint16
                + "0200000000000000"     // 2 sequences
                + "0300000000000000"     // 3 doc_idx entries
                + "03000000" + "01000000"                     // sizes (int32)
                + "0000000000000000" + "0600000000000000"     // pointers (byte offsets, int64)
                + "0000000000000000" + "0100000000000000" + "0200000000000000"; // doc_idx
        assertEquals(idx, HexFormat.of().formatHex(Files.readAllBytes(dir.resolve("data_0.idx"))));
        assertEquals("010002000300ffff", HexFormat.of().formatHex(Files.readAllBytes(dir.resolve("data_0.bin"))));

        try (var d = MegatronIndexedDataset.open(dir.resolve("data_0.idx"))) {
            assertEquals(2, d.size());
            assertEquals(4, d.totalTokens());
            assertArrayEquals(new int[] {1, 2, 3}, d.get(0));
            assertArrayEquals(new int[] {65535}, d.get(1));
            assertArrayEquals(new long[] {0, 1, 2}, d.docIndex());
            assertEquals(MegatronIndexedDataset.UINT16, d.dtype());
        }
    }

    @Test
    void int32ForLargeVocabularies_asMiniPlmChooses() throws Exception {
        assertEquals(MegatronIndexedDataset.UINT16, MegatronIndexedDataset.dtypeFor(65_499));
        assertEquals(MegatronIndexedDataset.INT32, MegatronIndexedDataset.dtypeFor(65_500));
        Path prefix = dir.resolve("big");
        try (var w = MegatronIndexedDataset.create(prefix, MegatronIndexedDataset.dtypeFor(151_936))) {
            w.add(new int[] {151_935, 7});
            w.add(new int[] {9});
        }
        try (var d = MegatronIndexedDataset.open(prefix)) {
            assertEquals(MegatronIndexedDataset.INT32, d.dtype());
            assertArrayEquals(new int[] {151_935, 7}, d.get(0));
            assertArrayEquals(new int[] {9}, d.get(1));
            assertArrayEquals(new long[] {0}, d.docIndex());   // no endDocument: doc_idx = [0], as MiniPLM writes
        }
        assertEquals(8 + 4, Files.size(dir.resolve("big.bin")));
    }

    @Test
    void readsAnIndexWrittenByHand_withInt64Tokens() throws Exception {
        // A .idx/.bin pair built here from the format description alone (dtype 5 = int64, one doc).
        ByteBuffer idx = ByteBuffer.allocate(34 + 12 * 2 + 8).order(ByteOrder.LITTLE_ENDIAN);
        idx.put("MMIDIDX".getBytes()).put((byte) 0).put((byte) 0).putLong(1).put((byte) 5).putLong(2).putLong(1)
                .putInt(1).putInt(2).putLong(0).putLong(8).putLong(0);
        ByteBuffer bin = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(42).putLong(7).putLong(100_000);
        Files.write(dir.resolve("h.idx"), idx.array());
        Files.write(dir.resolve("h.bin"), bin.array());
        try (var d = MegatronIndexedDataset.open(dir.resolve("h"))) {
            assertArrayEquals(new int[] {42}, d.get(0));
            assertArrayEquals(new int[] {7, 100_000}, d.get(1));
        }
    }

    @Test
    void badIndexesAreReportedWithFileAndOffset() throws Exception {
        Path prefix = dir.resolve("t");
        try (var w = MegatronIndexedDataset.create(prefix, MegatronIndexedDataset.UINT16)) {
            w.add(new int[] {1, 2, 3});
        }
        // A .bin that lost its last token: the sequence now runs past the end.
        Path bin = dir.resolve("t.bin");
        Files.write(bin, java.util.Arrays.copyOf(Files.readAllBytes(bin), 4));
        var e = assertThrows(DataFormatException.class, () -> MegatronIndexedDataset.open(prefix));
        assertEquals(dir.resolve("t.idx") + ": byte 34: sequence 0 (size 3, pointer 0) lies outside t.bin (4 bytes of 2-byte tokens)",
                e.getMessage());

        Files.writeString(dir.resolve("u.idx"), "TNTIDX\0\0 and more bytes to pass the header length check");
        Files.writeString(dir.resolve("u.bin"), "");
        var f = assertThrows(DataFormatException.class, () -> MegatronIndexedDataset.open(dir.resolve("u")));
        assertTrue(f.getMessage().startsWith(dir.resolve("u.idx") + ": byte 0: expected magic"), f.getMessage());
        assertTrue(f.getMessage().contains("older fairseq 'cached' index"), f.getMessage());

        var g = assertThrows(DataFormatException.class, () -> MegatronIndexedDataset.open(dir.resolve("missing")));
        assertTrue(g.getMessage().contains("missing.idx: index file not found"), g.getMessage());
    }
}
