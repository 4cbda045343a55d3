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
import java.nio.ByteBuffer;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import kd4j.data.AtomicFiles;
import kd4j.models.io.SafeTensors;
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
        SafeTensors st;
        try {
            st = SafeTensors.open(file);
        } catch (kd4j.models.io.CheckpointFormatException e) {
            throw new CheckpointFormatException(e);
        }
        List<String> problems = new ArrayList<>();
        for (var e : into.entrySet()) {
            Tensor t = e.getValue();
            if (!st.contains(e.getKey())) {
                problems.add("tensor '" + e.getKey() + "' is missing");
                continue;
            }
            SafeTensors.Entry en = st.entry(e.getKey());
            if (en.dtype() != t.dtype() || !Arrays.equals(en.shape(), t.shape()))
                problems.add("tensor '" + e.getKey() + "' is " + en.dtypeName() + Arrays.toString(en.shape())
                        + ", expected " + t.dtype() + Arrays.toString(t.shape()));
        }
        for (String k : st.names())
            if (!into.containsKey(k)) problems.add("tensor '" + k + "' is not part of this model/optimizer");
        if (!problems.isEmpty())
            throw new CheckpointFormatException(file, problems.size() + " mismatch"
                    + (problems.size() == 1 ? "" : "es") + " with the run being resumed: "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                    + (problems.size() > 5 ? "; " + (problems.size() - 5) + " more" : ""));
        for (var e : into.entrySet())
            if (e.getValue().numel() > 0) e.getValue().backend().copyIn(e.getValue(), st.bytes(e.getKey()));
        return state;
    }

    // ==== safetensors I/O ====

    /** Writes the tensors as one safetensors file through opener, forced to disk; returns the file's SHA-256. */
    private static String writeTensors(Path file, Map<String, Tensor> tensors, Opener opener) throws IOException {
        MessageDigest sha = AtomicFiles.newSha256();
        try (WritableByteChannel ch = opener.open(file)) {
            SafeTensors.write(ch, tensors, Map.of("format", "kd4j"), sha);
            if (ch instanceof FileChannel fc) fc.force(true);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    // ==== file-system helpers ====

    private static void writeSmall(Path file, byte[] bytes, Opener opener) throws IOException {
        try (WritableByteChannel ch = opener.open(file)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
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

    static String sha256(Path file) throws IOException {
        try {
            return AtomicFiles.sha256(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointFormatException(file, "missing");
        }
    }
}
