package kd4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;
import kd4j.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir Path dir;
    private final Backend be = new CpuBackend(1);

    @AfterEach
    void close() { be.close(); }

    private Map<String, Tensor> tensors(float base) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("param.w", be.fromFloats(new float[] {base, base + 1, Float.MIN_VALUE, -0f, 1e-30f, 3.4e38f}, 2, 3));
        m.put("param.b", be.fromFloats(new float[] {base * 0.5f}, 1));
        m.put("optimizer.step", be.fromInts(new int[] {(int) base}, 1));
        return m;
    }

    private static Checkpoint.State state(long step) {
        return new Checkpoint.State(step, step * 100, 0xDEADBEEFL + step,
                JsonNodeFactory.instance.objectNode().put("epoch", 1).put("cursor", step), null);
    }

    private Map<String, Tensor> emptyLike(Map<String, Tensor> src) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (var e : src.entrySet()) m.put(e.getKey(), be.empty(e.getValue().dtype(), e.getValue().shape()));
        return m;
    }

    @Test
    void saveThenLoad_restoresEveryBitAndTheState() throws IOException {
        Path ck = dir.resolve("checkpoints");
        Map<String, Tensor> saved = tensors(7.25f);
        Path written = Checkpoint.save(ck, state(500), saved, 2);
        assertEquals(ck.resolve("step-00000500"), written);
        assertEquals(written, Checkpoint.latest(ck).orElseThrow());
        Map<String, Tensor> into = emptyLike(saved);
        Checkpoint.State s = Checkpoint.load(written, into);
        assertEquals(500, s.step());
        assertEquals(50_000, s.tokens());
        assertEquals(0xDEADBEEFL + 500, s.rngState());
        assertEquals(500, s.dataPosition().get("cursor").asLong());
        for (String k : List.of("param.w", "param.b"))
            assertArrayEquals(saved.get(k).toFloatArray(), into.get(k).toFloatArray(), k);
        assertArrayEquals(new int[] {7}, into.get("optimizer.step").toIntArray());
    }

    @Test
    void keepsOnlyTheNewest() throws IOException {
        Path ck = dir.resolve("checkpoints");
        for (long step : new long[] {10, 20, 30}) Checkpoint.save(ck, state(step), tensors(step), 2);
        assertEquals(List.of(ck.resolve("step-00000020"), ck.resolve("step-00000030")), Checkpoint.complete(ck));
    }

    /** A channel that accepts `budget` bytes, then fails as a full disk does. */
    private static Checkpoint.Opener diskFullAfter(long budget) {
        long[] left = {budget};
        return file -> {
            FileChannel real = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            return new WritableByteChannel() {
                public int write(ByteBuffer src) throws IOException {
                    if (left[0] <= 0) throw new IOException("No space left on device");
                    int n = (int) Math.min(src.remaining(), left[0]);
                    ByteBuffer part = src.slice(src.position(), n);
                    int w = real.write(part);
                    src.position(src.position() + w);
                    left[0] -= w;
                    return w;
                }
                public boolean isOpen() { return real.isOpen(); }
                public void close() throws IOException { real.close(); }
            };
        };
    }

    @Test
    void failedWrite_leavesThePreviousCheckpointIntact() throws IOException {
        Path ck = dir.resolve("checkpoints");
        Map<String, Tensor> first = tensors(1f);
        Checkpoint.save(ck, state(100), first, 2);
        // Fail in the middle of the tensor data, and again while writing state.json and the latest pointer.
        long tensorBytes = Files.size(ck.resolve("step-00000100").resolve(Checkpoint.TENSORS));
        for (long budget : new long[] {0, 40, tensorBytes - 5, tensorBytes + 10}) {
            IOException e = assertThrows(IOException.class,
                    () -> Checkpoint.save(ck, state(200), tensors(2f), 2, diskFullAfter(budget)));
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            assertTrue(e.getMessage().contains("the previous checkpoint step-00000100 is intact"), e.getMessage());
            assertEquals(ck.resolve("step-00000100"), Checkpoint.latest(ck).orElseThrow());
            try (Stream<Path> s = Files.list(ck)) {
                assertEquals(List.of("latest", "step-00000100"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                        "budget " + budget);
            }
            Map<String, Tensor> into = emptyLike(first);
            assertEquals(100, Checkpoint.load(Checkpoint.latest(ck).orElseThrow(), into).step());
            assertArrayEquals(first.get("param.w").toFloatArray(), into.get("param.w").toFloatArray());
        }
    }

    @Test
    void damagedOrMismatchedCheckpoint_isReportedWithTheFile() throws IOException {
        Path ck = dir.resolve("checkpoints");
        Path written = Checkpoint.save(ck, state(5), tensors(3f), 2);
        Map<String, Tensor> wrongShape = emptyLike(tensors(3f));
        wrongShape.put("param.w", be.empty(DType.F32, 3, 2));
        wrongShape.put("param.extra", be.empty(DType.F32, 4));
        CheckpointFormatException m = assertThrows(CheckpointFormatException.class,
                () -> Checkpoint.load(written, wrongShape));
        assertTrue(m.getMessage().contains("tensor 'param.w' is F32[2, 3], expected F32[3, 2]"), m.getMessage());
        assertTrue(m.getMessage().contains("tensor 'param.extra' is missing"), m.getMessage());

        Path tensorsFile = written.resolve(Checkpoint.TENSORS);
        byte[] bytes = Files.readAllBytes(tensorsFile);
        Files.write(tensorsFile, java.util.Arrays.copyOf(bytes, bytes.length - 4));
        CheckpointFormatException t = assertThrows(CheckpointFormatException.class,
                () -> Checkpoint.load(written, emptyLike(tensors(3f))));
        assertTrue(t.getMessage().startsWith(tensorsFile.toString()), t.getMessage());
        assertTrue(t.getMessage().contains("damaged or truncated"), t.getMessage());
        assertFalse(Files.exists(ck.resolve("step-00000005").resolve("missing")));
    }
}
