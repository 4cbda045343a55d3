/* SafeTensors read/write round trips and every kind of lying or truncated file, with the messages users see. */
package kd4j.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    final Backend be = new ReferenceBackend();
    @TempDir Path tmp;

    @Test
    void writeThenRead_roundTripsValuesDtypesShapesAndMetadata() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", be.fromFloats(new float[] {1.5f, -2f, 3.25f, 0f, 1e-3f, 7f}, 2, 3));
        Tensor bf = be.empty(DType.BF16, 3);
        be.copy(be.fromFloats(new float[] {1f, -0.5f, 3.140625f}, 3), bf);
        tensors.put("b.bf16", bf);
        tensors.put("ids", be.fromInts(new int[] {4, 5, 6, 7}, 4));
        tensors.put("scalar", be.fromFloats(new float[] {8.75f}));
        Path f = tmp.resolve("t.safetensors");
        SafeTensors.write(f, tensors, Map.of("format", "pt"));

        SafeTensors st = SafeTensors.open(f);
        assertEquals(java.util.List.of("a", "b.bf16", "ids", "scalar"), java.util.List.copyOf(st.names()));
        assertEquals("pt", st.metadata().get("format"));
        assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 0f, 1e-3f, 7f}, st.load("a", be).toFloatArray());
        assertArrayEquals(new int[] {2, 3}, st.entry("a").shape());
        assertEquals(DType.BF16, st.entry("b.bf16").dtype());
        assertArrayEquals(new float[] {1f, -0.5f, 3.140625f}, st.load("b.bf16", be, DType.F32).toFloatArray());
        assertArrayEquals(new int[] {4, 5, 6, 7}, st.load("ids", be).toIntArray());
        assertEquals(8.75, st.load("scalar", be).item(), 0);
        assertEquals(0, st.entry("scalar").shape().length);
        // the header is padded so that data starts 8-byte aligned
        assertEquals(0, (8 + headerLength(f)) % 8);
    }

    @Test
    void map_onHostBackend_readsTheFileInPlace() {
        Path f = tmp.resolve("m.safetensors");
        SafeTensors.write(f, Map.of("w", be.fromFloats(new float[] {1, 2, 3, 4}, 2, 2)), Map.of());
        Tensor t = SafeTensors.open(f).map("w", be);
        assertArrayEquals(new float[] {1, 2, 3, 4}, t.toFloatArray());
        assertTrue(t.storage() instanceof kd4j.tensor.HostStorage h && h.segment().isReadOnly(),
                "a mapped tensor should sit on the read-only mapping");
    }

    @Test
    void truncatedFile_namesFileAndTensor() throws IOException {
        Path f = tmp.resolve("trunc.safetensors");
        SafeTensors.write(f, Map.of("model.w", be.fromFloats(new float[64], 8, 8)), Map.of());
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, all.length - 10));
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("tensor 'model.w'") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void tinyFile_isTruncatedAtTheHeaderLength() throws IOException {
        Path f = tmp.resolve("tiny.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("3 bytes, expected at least 8"), e.getMessage());
    }

    @Test
    void headerLengthPastTheEnd_isRefused() throws IOException {
        Path f = write("big.safetensors", 1_000_000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("header length 1000000"), e.getMessage());
    }

    @Test
    void offsetsBeyondTheData_nameTheTensor() throws IOException {
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}";
        Path f = write("lie.safetensors", -1, header.getBytes(StandardCharsets.UTF_8), new byte[16]);
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("tensor 'y'") && e.getMessage().contains("data ends at byte 32"),
                e.getMessage());
    }

    @Test
    void offsetsThatDisagreeWithTheShape_areRefused() throws IOException {
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}";
        Path f = write("size.safetensors", -1, header.getBytes(StandardCharsets.UTF_8), new byte[24]);
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("tensor 'x'") && e.getMessage().contains("expected 24 for F32 [2, 3]"),
                e.getMessage());
    }

    @Test
    void overlappingRanges_areRefused() throws IOException {
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        Path f = write("overlap.safetensors", -1, header.getBytes(StandardCharsets.UTF_8), new byte[16]);
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
    }

    @Test
    void overlapHiddenBehindAnEmptyTensor_isRefused() throws IOException {
        // x [0, 16) and y [8, 24) overlap; the empty z at 4 sorts between them and used to hide it.
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}";
        Path f = write("hidden.safetensors", -1, header.getBytes(StandardCharsets.UTF_8), new byte[24]);
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("hidden.safetensors") && e.getMessage().contains("tensor 'z'")
                && e.getMessage().contains("overlap those of 'x' [0, 16]"), e.getMessage());
        // an empty tensor between two ranges that only touch is fine, and so is one at a range's boundary
        String ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,16]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}";
        Path g = write("touching.safetensors", -1, ok.getBytes(StandardCharsets.UTF_8), new byte[24]);
        assertEquals(4, SafeTensors.open(g).names().size());
        // the empty tensor's own place is checked too: strictly inside another tensor's bytes is a lie
        String inside = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}";
        Path h = write("inside.safetensors", -1, inside.getBytes(StandardCharsets.UTF_8), new byte[16]);
        var e2 = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(h));
        assertTrue(e2.getMessage().contains("tensor 'z'"), e2.getMessage());
    }

    @Test
    void headerThatIsNotJson_isRefused() throws IOException {
        Path f = write("junk.safetensors", -1, "{not json".getBytes(StandardCharsets.UTF_8), new byte[0]);
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.open(f));
        assertTrue(e.getMessage().contains("header: is not valid JSON"), e.getMessage());
    }

    @Test
    void unsupportedDtypeAndMissingName_areClearErrors() throws IOException {
        String header = "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}";
        Path f = write("f8.safetensors", -1, header.getBytes(StandardCharsets.UTF_8), new byte[4]);
        SafeTensors st = SafeTensors.open(f);
        var e = assertThrows(CheckpointFormatException.class, () -> st.load("q", be));
        assertTrue(e.getMessage().contains("dtype F8_E4M3 is not supported"), e.getMessage());
        var m = assertThrows(CheckpointFormatException.class, () -> st.entry("nope"));
        assertTrue(m.getMessage().contains("tensor 'nope': not found"), m.getMessage());
    }

    private long headerLength(Path f) {
        try {
            return ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A raw file: length (or the real header length when -1), header bytes, data bytes. */
    private Path write(String name, long declaredLength, byte[] header, byte[] data) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(declaredLength < 0 ? header.length : declaredLength).put(header).put(data);
        Path f = tmp.resolve(name);
        Files.write(f, buf.array());
        return f;
    }

    /**
     * #19: tensor offsets past 2^31 bytes. A sparse file (a 2 GiB + 64 B hole, then 16 floats) costs no disk; the
     * header is read, the far tensor is read through the mapping, and the 2 GiB one is never touched.
     */
    @Test
    void offsetsBeyond2GiB_areReadThroughTheMappingWithoutMaterialisingTheFile() throws IOException {
        long padBytes = (1L << 31) + 64;                                 // F32 [2^29 + 16]
        String json = "{\"pad\":{\"dtype\":\"F32\",\"shape\":[" + (padBytes / 4) + "],\"data_offsets\":[0," + padBytes
                + "]},\"w\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[" + padBytes + "," + (padBytes + 64) + "]}}";
        byte[] header = (json + " ".repeat((8 - json.length() % 8) % 8)).getBytes(StandardCharsets.UTF_8);
        Path f = tmp.resolve("sparse.safetensors");
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = 0.5f * i - 3;
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header).flip();
            ch.write(head);
            ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : w) data.putFloat(v);
            data.flip();
            ch.write(data, 8 + header.length + padBytes);                 // everything before is a hole
        }
        assertEquals(8 + header.length + padBytes + 64, Files.size(f));
        long heapBefore = usedHeap();
        SafeTensors st = SafeTensors.open(f);
        assertEquals(padBytes, st.entry("pad").end());
        assertArrayEquals(w, st.load("w", be, DType.F32).toFloatArray());
        Tensor mapped = st.map("w", kd4j.tensor.Backends.cpu());
        assertArrayEquals(w, mapped.toFloatArray());
        assertEquals(padBytes, st.bytes("w").address() - st.bytes("pad").address(), "w is mapped 2 GiB + 64 B in");
        assertTrue(usedHeap() - heapBefore < 256L << 20, "opening and reading must not copy the 2 GiB tensor to the heap");
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }
}
