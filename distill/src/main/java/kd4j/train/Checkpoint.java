/*
 * kd4j's own training checkpoint: every tensor a run needs to continue exactly (weights and optimizer moments,
 * in one safetensors file) plus state.json (step, tokens seen, RNG state, data position, checksum).
 *
 *   checkpoints/step-00000500/{tensors.safetensors, state.json}    checkpoints/latest  (one line: step-00000500)
 *
 * Writes are atomic: a checkpoint is written into a temporary folder, flushed to disk, then renamed into place,
 * and only then does `latest` move to it (itself by write-then-rename). A failure at any point (disk full,
 * killed process) leaves the previous checkpoint and `latest` untouched. Not the HF export: that is Models.save.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import kd4j.tensor.DType;
import kd4j.tensor.Tensor;

public final class Checkpoint {
    public static final String TENSORS = "tensors.safetensors";
    public static final String STATE = "state.json";
    public static final String LATEST = "latest";
    private static final String FORMAT = "kd4j-checkpoint";
    private static final int VERSION = 1;
    private static final ObjectMapper JSON = TrainConfig.MAPPER;

    /**
     * The scalar state of a run at the end of step `step`: tokens consumed so far, the trainer's RNG state, the
     * data loader's position (opaque JSON owned by the data source) and free-form extra fields.
     */
    public record State(long step, long tokens, long rngState, JsonNode dataPosition, ObjectNode extra) {}

    /** Opens a file for writing; tests substitute one that fails part-way, as a full disk does. */
    @FunctionalInterface
    interface Opener {
        WritableByteChannel open(Path file) throws IOException;
    }

    private static final Opener DISK = file -> FileChannel.open(file, StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE);

    private Checkpoint() {}

    /** The folder name of a step's checkpoint ("step-00000500"). */
    public static String dirName(long step) { return String.format("step-%08d", step); }

    /**
     * Writes tensors (name → tensor, any backend) and state atomically as checkpointsDir/step-N, points `latest`
     * at it, then deletes all but the newest `keep` checkpoints. Returns the checkpoint folder.
     */
    public static Path save(Path checkpointsDir, State state, Map<String, Tensor> tensors, int keep) throws IOException {
        return save(checkpointsDir, state, tensors, keep, DISK);
    }

    static Path save(Path checkpointsDir, State state, Map<String, Tensor> tensors, int keep, Opener opener)
            throws IOException {
        Files.createDirectories(checkpointsDir);
        removeStaleTemporaries(checkpointsDir);
        String name = dirName(state.step());
        Path tmp = checkpointsDir.resolve(".tmp-" + name + "-" + ProcessHandle.current().pid());
        Path target = checkpointsDir.resolve(name);
        try {
            Files.createDirectories(tmp);
            String sha = writeTensors(tmp.resolve(TENSORS), tensors, opener);
            ObjectNode json = JSON.createObjectNode();
            json.put("format", FORMAT).put("version", VERSION).put("step", state.step()).put("tokens", state.tokens())
                    .put("rngState", state.rngState()).put("tensorsSha256", sha).put("tensorCount", tensors.size());
            json.set("dataPosition", state.dataPosition());
            json.set("extra", state.extra() == null ? JSON.createObjectNode() : state.extra());
            writeSmall(tmp.resolve(STATE), JSON.writeValueAsBytes(json), opener);
            fsyncDirectory(tmp);
            if (Files.exists(target)) deleteTree(target);       // re-saving a step after a resume
            moveAtomically(tmp, target);
            Path latestTmp = checkpointsDir.resolve(LATEST + ".tmp");
            Files.deleteIfExists(latestTmp);
            writeSmall(latestTmp, (name + "\n").getBytes(StandardCharsets.UTF_8), opener);
            moveAtomically(latestTmp, checkpointsDir.resolve(LATEST));
            fsyncDirectory(checkpointsDir);
        } catch (IOException | RuntimeException e) {
            try { deleteTree(tmp); } catch (IOException ignored) { /* the temporary is removed next time */ }
            Optional<Path> previous = latestOrEmpty(checkpointsDir);
            String message = "checkpoint for step " + state.step() + " not written to " + checkpointsDir + ": "
                    + e.getMessage() + (previous.isPresent() ? "; the previous checkpoint " + previous.get().getFileName()
                    + " is intact" : "");
            if (kd4j.data.DiskFullException.isDiskFull(e)) {
                long bytes = 0;
                for (Tensor t : tensors.values()) bytes += t.numel() * t.dtype().byteSize();
                throw kd4j.data.DiskFullException.named(new IOException(message, e), target, bytes);
            }
            throw new IOException(message, e);
        }
        prune(checkpointsDir, keep);
        return target;
    }

    /** The checkpoint `latest` names, or the newest complete step-N folder; empty when there is none. */
    public static Optional<Path> latest(Path checkpointsDir) throws IOException {
        return latestOrEmpty(checkpointsDir);
    }

    private static Optional<Path> latestOrEmpty(Path checkpointsDir) {
        if (!Files.isDirectory(checkpointsDir)) return Optional.empty();
        try {
            Path pointer = checkpointsDir.resolve(LATEST);
            if (Files.exists(pointer)) {
                Path p = checkpointsDir.resolve(Files.readString(pointer).strip());
                if (Files.exists(p.resolve(STATE))) return Optional.of(p);
            }
            List<Path> all = complete(checkpointsDir);
            return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Complete checkpoints (step-N folders with a state.json), oldest first. */
    static List<Path> complete(Path checkpointsDir) throws IOException {
        try (Stream<Path> s = Files.list(checkpointsDir)) {
            return s.filter(p -> p.getFileName().toString().matches("step-\\d{8,}"))
                    .filter(p -> Files.exists(p.resolve(STATE)))
                    .sorted().toList();
        }
    }

    /** Reads a checkpoint's state (verifying the tensors' checksum) without touching any tensor. */
    public static State readState(Path dir) throws IOException {
        Path stateFile = dir.resolve(STATE);
        JsonNode json;
        try {
            json = JSON.readTree(Files.readAllBytes(stateFile));
        } catch (NoSuchFileException e) {
            throw new CheckpointFormatException(stateFile, "missing: " + dir + " is not a complete kd4j checkpoint");
        } catch (IOException e) {
            throw new CheckpointFormatException(stateFile, "not valid JSON (" + e.getMessage() + ")");
        }
        if (!FORMAT.equals(json.path("format").asText()))
            throw new CheckpointFormatException(stateFile, "\"format\" is not \"" + FORMAT + "\"");
        if (json.path("version").asInt() != VERSION)
            throw new CheckpointFormatException(stateFile, "version " + json.path("version") + " (this kd4j reads "
                    + VERSION + ")");
        for (String k : List.of("step", "tokens", "rngState", "tensorsSha256"))
            if (!json.has(k)) throw new CheckpointFormatException(stateFile, "missing field \"" + k + "\"");
        String sha = sha256(dir.resolve(TENSORS));
        if (!sha.equals(json.get("tensorsSha256").asText()))
            throw new CheckpointFormatException(dir.resolve(TENSORS), "SHA-256 " + sha + " differs from "
                    + json.get("tensorsSha256").asText() + " recorded in state.json (file damaged or truncated)");
        JsonNode extra = json.get("extra");
        return new State(json.get("step").asLong(), json.get("tokens").asLong(), json.get("rngState").asLong(),
                json.get("dataPosition"), extra instanceof ObjectNode o ? o : JSON.createObjectNode());
    }

    /**
     * Copies the checkpoint's tensors into the given ones (same names, dtypes and shapes; any backend) and
     * returns its state. Every mismatch is reported at once; nothing is copied when there is one.
     */
    public static State load(Path dir, Map<String, Tensor> into) throws IOException {
        State state = readState(dir);
        Path file = dir.resolve(TENSORS);
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            Map<String, Entry> entries = readHeader(file, all);
            List<String> problems = new ArrayList<>();
            for (var e : into.entrySet()) {
                Entry en = entries.get(e.getKey());
                Tensor t = e.getValue();
                if (en == null) problems.add("tensor '" + e.getKey() + "' is missing");
                else if (en.dtype != t.dtype() || !Arrays.equals(en.shape, t.shape()))
                    problems.add("tensor '" + e.getKey() + "' is " + en.dtype + Arrays.toString(en.shape)
                            + ", expected " + t.dtype() + Arrays.toString(t.shape()));
            }
            for (String k : entries.keySet())
                if (!into.containsKey(k)) problems.add("tensor '" + k + "' is not part of this model/optimizer");
            if (!problems.isEmpty())
                throw new CheckpointFormatException(file, problems.size() + " mismatch"
                        + (problems.size() == 1 ? "" : "es") + " with the run being resumed: "
                        + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                        + (problems.size() > 5 ? "; " + (problems.size() - 5) + " more" : ""));
            for (var e : into.entrySet()) {
                Entry en = entries.get(e.getKey());
                e.getValue().backend().copyIn(e.getValue(), all.asSlice(en.begin, en.end - en.begin));
            }
        }
        return state;
    }

    // ==== safetensors I/O ====

    private record Entry(DType dtype, int[] shape, long begin, long end) {}

    private static String writeTensors(Path file, Map<String, Tensor> tensors, Opener opener) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            long bytes = t.numel() * t.dtype().byteSize();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", t.dtype().safetensorsName());
            var shape = n.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        header.putObject("__metadata__").put("format", "kd4j");
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        int padded = (headerBytes.length + 7) / 8 * 8;     // 8-byte aligned data start, as safetensors writers do
        MessageDigest sha = sha256();
        try (WritableByteChannel ch = opener.open(file)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(headerBytes);
            while (head.hasRemaining()) head.put((byte) ' ');
            writeFully(ch, head.flip(), sha);
            for (Tensor t : tensors.values()) {
                Tensor src = t.contiguous();
                long bytes = src.numel() * src.dtype().byteSize();
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment host = arena.allocate(Math.max(1, bytes), 64);
                    src.backend().copyOut(src, host.asSlice(0, bytes));
                    writeFully(ch, host.asSlice(0, bytes).asByteBuffer(), sha);
                }
            }
            if (ch instanceof FileChannel fc) fc.force(true);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static Map<String, Entry> readHeader(Path file, MemorySegment all) throws IOException {
        if (all.byteSize() < 8) throw new CheckpointFormatException(file, 0, "an 8-byte header length", all.byteSize() + " bytes");
        long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (n < 2 || 8 + n > all.byteSize())
            throw new CheckpointFormatException(file, 0, "a header length within the file (" + all.byteSize() + " bytes)", String.valueOf(n));
        byte[] headerBytes = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header = JSON.readTree(headerBytes);
        Map<String, Entry> out = new LinkedHashMap<>();
        long dataStart = 8 + n;
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            JsonNode v = e.getValue();
            DType dtype = DType.fromSafetensorsName(v.path("dtype").asText());
            if (dtype == null) throw new CheckpointFormatException(file, 8, "a supported dtype for '" + e.getKey() + "'", v.path("dtype").toString());
            int[] shape = new int[v.path("shape").size()];
            for (int i = 0; i < shape.length; i++) shape[i] = v.path("shape").get(i).asInt();
            long begin = dataStart + v.path("data_offsets").path(0).asLong(), end = dataStart + v.path("data_offsets").path(1).asLong();
            if (end - begin != Tensor.numel(shape) * dtype.byteSize() || end > all.byteSize())
                throw new CheckpointFormatException(file, begin, "'" + e.getKey() + "' to hold "
                        + Tensor.numel(shape) * dtype.byteSize() + " bytes within the file", (end - begin) + " bytes ending at " + end);
            out.put(e.getKey(), new Entry(dtype, shape, begin, end));
        }
        return out;
    }

    // ==== file-system helpers ====

    private static void writeFully(WritableByteChannel ch, ByteBuffer buf, MessageDigest sha) throws IOException {
        if (sha != null) sha.update(buf.duplicate());
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static void writeSmall(Path file, byte[] bytes, Opener opener) throws IOException {
        try (WritableByteChannel ch = opener.open(file)) {
            writeFully(ch, ByteBuffer.wrap(bytes), null);
            if (ch instanceof FileChannel fc) fc.force(true);
        }
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the file system of " + to.getParent() + " cannot rename atomically; "
                    + "checkpoints need a local disk", e);
        }
    }

    /** Makes a rename durable (POSIX: fsync the directory); silently skipped where directories cannot be opened. */
    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Windows cannot open a directory; its renames are durable enough for our purpose.
        }
    }

    private static void removeStaleTemporaries(Path checkpointsDir) throws IOException {
        try (Stream<Path> s = Files.list(checkpointsDir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).toList()) deleteTree(p);
        }
    }

    private static void prune(Path checkpointsDir, int keep) throws IOException {
        List<Path> all = complete(checkpointsDir);
        Optional<Path> latest = latestOrEmpty(checkpointsDir);
        for (int i = 0; i < all.size() - keep; i++)
            if (latest.isEmpty() || !all.get(i).equals(latest.get())) deleteTree(all.get(i));
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.deleteIfExists(q);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf) > 0) { buf.flip(); md.update(buf); buf.clear(); }
        } catch (NoSuchFileException e) {
            throw new CheckpointFormatException(file, "missing");
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
