/*
 * The safetensors format, read and written: an 8-byte little-endian header length, a JSON header naming every
 * tensor's dtype, shape and [begin, end) byte range, then the raw little-endian data. Files are memory-mapped
 * (FileChannel.map into a MemorySegment), so opening a multi-gigabyte checkpoint reads only its header, and
 * host backends can use the mapped bytes as tensor storage without a copy. Every header field is checked
 * against the file before a byte of data is used; a lie (offsets past the end, overlapping or wrongly sized
 * ranges) is a CheckpointFormatException naming the file and the tensor.
 */
package kd4j.models.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.HostStorage;
import kd4j.tensor.Tensor;

public final class SafeTensors {
    /** Headers larger than this are refused: real ones are a few hundred kB even for 7B models. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * One tensor as the header describes it. dtype is null when the header names a dtype kd4j does not support
     * (dtypeName keeps the original); begin and end are byte offsets into the data section.
     */
    public record Entry(String name, String dtypeName, DType dtype, int[] shape, long begin, long end) {
        public long numel() { return Tensor.numel(shape); }
        @Override public String toString() { return name + " " + dtypeName + " " + Arrays.toString(shape); }
    }

    private final Path file;
    private final MemorySegment mapped;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, MemorySegment mapped, long dataStart, Map<String, Entry> entries,
                        Map<String, String> metadata) {
        this.file = file;
        this.mapped = mapped;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Maps file (read-only) and validates its header. The mapping is unmapped when no tensor refers to it any more.
     */
    public static SafeTensors open(Path file) {
        if (!Files.isRegularFile(file))
            throw new CheckpointFormatException(file, null, "file not found");
        MemorySegment mapped;
        long size;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            mapped = size == 0 ? MemorySegment.ofArray(new byte[0])
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (size < 8)
            throw new CheckpointFormatException(file, "byte 0", "truncated: the file has " + size
                    + " bytes, expected at least 8 (the header length)");
        long headerLength = mapped.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8)
            throw new CheckpointFormatException(file, "byte 0", "header length " + headerLength
                    + " does not fit the file of " + size + " bytes (truncated, or not a safetensors file)");
        byte[] headerBytes = mapped.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JSON.readTree(headerBytes);
        } catch (IOException e) {
            String msg = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new CheckpointFormatException(file, "header", "is not valid JSON: " + msg);
        }
        if (header == null || !header.isObject())
            throw new CheckpointFormatException(file, "header", "expected a JSON object");
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                if (f.getValue().isObject())
                    f.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.put(f.getKey(), parseEntry(file, f.getKey(), f.getValue(), dataSize));
        }
        checkNoOverlap(file, entries);
        return new SafeTensors(file, mapped, dataStart, Collections.unmodifiableMap(entries),
                Collections.unmodifiableMap(metadata));
    }

    private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) throw new CheckpointFormatException(file, where, "expected an object in the header");
        JsonNode dt = node.get("dtype"), sh = node.get("shape"), off = node.get("data_offsets");
        if (dt == null || !dt.isTextual())
            throw new CheckpointFormatException(file, where, "has no string field \"dtype\"");
        if (sh == null || !sh.isArray())
            throw new CheckpointFormatException(file, where, "has no array field \"shape\"");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).canConvertToLong()
                || !off.get(1).canConvertToLong())
            throw new CheckpointFormatException(file, where, "field \"data_offsets\" must be [begin, end]");
        int[] shape = new int[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToInt() || d.asInt() < 0)
                throw new CheckpointFormatException(file, where, "shape " + sh + " has an invalid dimension " + d);
            shape[i] = d.asInt();
        }
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin)
            throw new CheckpointFormatException(file, where, "data_offsets [" + begin + ", " + end
                    + "] are not an increasing range");
        if (end > dataSize)
            throw new CheckpointFormatException(file, where, "data ends at byte " + end + " of the data section,"
                    + " but the file holds only " + dataSize + " data bytes (truncated, or the header lies)");
        DType dtype = DType.fromSafetensorsName(dt.asText());
        if (dtype != null) {
            long expected = Tensor.numel(shape) * dtype.byteSize();
            if (end - begin != expected)
                throw new CheckpointFormatException(file, where, "data_offsets [" + begin + ", " + end + "] span "
                        + (end - begin) + " bytes, expected " + expected + " for " + dt.asText() + " "
                        + Arrays.toString(shape));
        }
        return new Entry(name, dt.asText(), dtype, shape, begin, end);
    }

    /**
     * No two tensors share a byte, and no empty tensor sits strictly inside another's range. Sorted by begin, each
     * range is compared with the furthest-reaching range before it, not only its neighbour: an empty tensor between
     * two overlapping ones must not hide their overlap.
     */
    private static void checkNoOverlap(Path file, Map<String, Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        Entry reach = null;                    // the range with the largest end so far
        for (Entry b : sorted) {
            if (reach != null && b.begin() < reach.end() && (b.end() > b.begin() || b.begin() > reach.begin()))
                throw new CheckpointFormatException(file, "tensor '" + b.name() + "'", "data_offsets [" + b.begin()
                        + ", " + b.end() + "] overlap those of '" + reach.name() + "' [" + reach.begin() + ", "
                        + reach.end() + "]");
            if (reach == null || b.end() > reach.end()) reach = b;
        }
    }

    public Path file() { return file; }

    /** Tensor names in header order. */
    public Set<String> names() { return entries.keySet(); }

    public boolean contains(String name) { return entries.containsKey(name); }

    /** The __metadata__ strings of the header (empty when there are none). */
    public Map<String, String> metadata() { return metadata; }

    /** The header entry of name; a missing name is a CheckpointFormatException listing a few that exist. */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            List<String> some = new ArrayList<>(entries.keySet()).subList(0, Math.min(5, entries.size()));
            throw new CheckpointFormatException(file, "tensor '" + name + "'", "not found (the file holds "
                    + entries.size() + " tensors, e.g. " + some + ")");
        }
        return e;
    }

    /** The raw little-endian bytes of name, as a slice of the mapping (no copy). */
    public MemorySegment bytes(String name) {
        Entry e = supported(name);
        return mapped.asSlice(dataStart + e.begin(), e.end() - e.begin());
    }

    /**
     * The index of name's first NaN or infinite element, or -1 when every element is finite (or the dtype is an
     * integer). Reads the mapped bytes on the host, one pass, so it costs the same on every backend; an all-ones
     * exponent field means NaN or Inf in each float format.
     */
    public long firstNonFinite(String name) {
        Entry e = supported(name);
        if (!e.dtype().isFloating() || e.numel() == 0) return -1;
        MemorySegment b = bytes(name);
        long n = e.numel();
        switch (e.dtype()) {
            case F32 -> {
                for (long i = 0; i < n; i++) if ((b.get(LE_INT, 4 * i) & 0x7f800000) == 0x7f800000) return i;
            }
            case F64 -> {
                for (long i = 0; i < n; i++)
                    if ((b.get(LE_LONG, 8 * i) & 0x7ff0000000000000L) == 0x7ff0000000000000L) return i;
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) if ((b.get(LE_SHORT, 2 * i) & 0x7f80) == 0x7f80) return i;
            }
            case F16 -> {
                for (long i = 0; i < n; i++) if ((b.get(LE_SHORT, 2 * i) & 0x7c00) == 0x7c00) return i;
            }
            default -> { }
        }
        return -1;
    }

    private Entry supported(String name) {
        Entry e = entry(name);
        if (e.dtype() == null)
            throw new CheckpointFormatException(file, "tensor '" + name + "'", "dtype " + e.dtypeName()
                    + " is not supported (supported: F32, F64, BF16, F16, I32, I64)");
        return e;
    }

    /** A copy of name on be, in the file's dtype. */
    public Tensor load(String name, Backend be) {
        Entry e = supported(name);
        Tensor out = be.empty(e.dtype(), e.shape());
        if (e.numel() > 0) be.copyIn(out, bytes(name));
        return out;
    }

    /** A copy of name on be converted to dtype (widening bf16/fp16 exactly, or I64 → I32). */
    public Tensor load(String name, Backend be, DType dtype) {
        Entry e = supported(name);
        if (e.dtype() == dtype) return load(name, be);
        Tensor raw = map(name, be);
        Tensor out = be.empty(dtype, e.shape());
        if (e.numel() > 0) be.copy(raw, out);
        return out;
    }

    /**
     * name on be without a copy when be keeps its tensors in host memory and the bytes are aligned for the dtype
     * (the storage is then the read-only mapping itself: for frozen weights only); otherwise a copy, as load.
     */
    public Tensor map(String name, Backend be) {
        Entry e = supported(name);
        MemorySegment bytes = bytes(name);
        boolean aligned = bytes.address() % e.dtype().byteSize() == 0;
        if (aligned && e.numel() > 0 && isHost(be))
            return Tensor.of(new HostStorage(be, bytes), e.dtype(), e.shape());
        return load(name, be);
    }

    /** Whether be stores tensors as host MemorySegments (the CPU and reference backends). */
    static boolean isHost(Backend be) {
        return be.allocate(DType.F32, 1) instanceof HostStorage;
    }

    // ==== writing ====

    /**
     * Writes tensors (in map order) and metadata to file atomically (a temporary file, forced to disk, renamed
     * into place). Each tensor is written in its own dtype; views are made contiguous first.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                write(ch, tensors, metadata, null);
                ch.force(true);
            }
            // models sits below the data module's AtomicFiles, so the one rename of this layer is written here
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /**
     * Streams a safetensors file (header, then each tensor's bytes in map order) into ch, feeding every byte
     * written to digest as well when it is not null. The caller owns ch: opening, forcing and renaming. The
     * header's data starts 8-byte aligned, padded with spaces, as the reference writer does.
     */
    public static void write(WritableByteChannel ch, Map<String, Tensor> tensors, Map<String, String> metadata,
                             MessageDigest digest) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            long bytes = t.numel() * t.dtype().byteSize();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = n.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        writeFully(ch, head.flip(), digest);
        for (Tensor t : tensors.values()) {
            if (t.numel() == 0) continue;
            Tensor c = t.contiguous();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(c.numel() * c.dtype().byteSize(), 64);
                c.backend().copyOut(c, buf);
                writeFully(ch, buf.asByteBuffer(), digest);
            }
        }
    }

    private static void writeFully(WritableByteChannel ch, ByteBuffer buf, MessageDigest digest) throws IOException {
        if (digest != null) digest.update(buf.duplicate());
        while (buf.hasRemaining()) ch.write(buf);
    }
}
