/*
 * Reads a kd4j token shard (layout in ShardWriter) through a memory map: opening costs a header check, reading a
 * sequence touches only its pages. Every header field is checked against the file size before use, so a
 * truncated or foreign file is reported with the byte offset of the first inconsistency.
 */
package kd4j.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

public final class ShardReader implements TokenSequences {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int tokenBytes;
    private final long sequences;
    private final long tokens;
    private final long offsetsAt;

    public static ShardReader open(Path path) throws IOException {
        return new ShardReader(path);
    }

    private ShardReader(Path path) throws IOException {
        this.path = path;
        this.arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < ShardWriter.HEADER_BYTES)
                throw DataFormatException.atByte(path, size, "file ends inside the 32-byte header (size " + size + "); not a kd4j token shard or truncated");
            this.file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            byte[] magic = file.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE);
            if (!Arrays.equals(magic, ShardWriter.MAGIC))
                throw DataFormatException.atByte(path, 0, "expected magic \"KD4JTOK\\0\", found " + printable(magic)
                        + (magic[0] == 'M' && magic[1] == 'M' ? " (a Megatron index: open it with MegatronIndexedDataset)" : ""));
            int version = file.get(U32, 8);
            if (version != ShardWriter.VERSION)
                throw DataFormatException.atByte(path, 8, "unsupported shard version " + version + " (this kd4j reads version " + ShardWriter.VERSION + ")");
            this.tokenBytes = file.get(U32, 12);
            if (tokenBytes != 2 && tokenBytes != 4)
                throw DataFormatException.atByte(path, 12, "bytes per token must be 2 or 4, found " + tokenBytes);
            this.sequences = file.get(I64, 16);
            this.tokens = file.get(I64, 24);
            if (sequences < 0 || tokens < 0)
                throw DataFormatException.atByte(path, 16, "negative counts (sequences " + sequences + ", tokens " + tokens + ")");
            long tokenEnd = ShardWriter.HEADER_BYTES + tokens * tokenBytes;
            this.offsetsAt = (tokenEnd + 7) / 8 * 8;
            long expected = offsetsAt + (sequences + 1) * 8;
            if (expected != size)
                throw DataFormatException.atByte(path, size, "file size " + size + " does not match its header (" + sequences
                        + " sequences, " + tokens + " tokens of " + tokenBytes + " bytes need " + expected + " bytes); truncated or not finished");
            long last = file.get(I64, offsetsAt + sequences * 8);
            if (file.get(I64, offsetsAt) != 0 || last != tokens)
                throw DataFormatException.atByte(path, offsetsAt, "offset table must run from 0 to " + tokens + ", found "
                        + file.get(I64, offsetsAt) + " .. " + last);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static String printable(byte[] b) {
        StringBuilder s = new StringBuilder("\"");
        for (byte x : b) s.append(x >= 32 && x < 127 ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xFF));
        return s.append('"').toString();
    }

    @Override
    public long size() {
        return sequences;
    }

    /** Token offset where sequence i starts (offsets[size()] = totalTokens()). */
    public long offset(long i) {
        return file.get(I64, offsetsAt + i * 8);
    }

    @Override
    public int length(long i) {
        checkIndex(i);
        return (int) (offset(i + 1) - offset(i));
    }

    @Override
    public int read(long i, int[] dst, int dstOffset) {
        checkIndex(i);
        long start = offset(i);
        int n = (int) (offset(i + 1) - start);
        readTokens(start, n, dst, dstOffset);
        return n;
    }

    /** Copies n tokens starting at token position start (across sequence boundaries) into dst. */
    public void readTokens(long start, int n, int[] dst, int dstOffset) {
        long base = ShardWriter.HEADER_BYTES + start * tokenBytes;
        if (tokenBytes == 2) {
            for (int k = 0; k < n; k++) dst[dstOffset + k] = Short.toUnsignedInt(file.get(U16, base + 2L * k));
        } else {
            for (int k = 0; k < n; k++) dst[dstOffset + k] = file.get(U32, base + 4L * k);
        }
    }

    private int maxId;                   // compared unsigned; valid once maxIdKnown
    private boolean maxIdKnown;

    @Override
    public synchronized int maxTokenIdUnsigned() {
        if (maxIdKnown) return maxId;
        int max = 0;
        long base = ShardWriter.HEADER_BYTES;
        if (tokenBytes == 2) {
            for (long k = 0; k < tokens; k++) max = Math.max(max, Short.toUnsignedInt(file.get(U16, base + 2 * k)));
        } else {
            for (long k = 0; k < tokens; k++) {
                int v = file.get(U32, base + 4 * k);
                if (Integer.compareUnsigned(v, max) > 0) max = v;
            }
        }
        maxId = max;
        maxIdKnown = true;
        return max;
    }

    private void checkIndex(long i) {
        if (i < 0 || i >= sequences)
            throw new IndexOutOfBoundsException(path + ": sequence " + i + " out of range [0, " + sequences + ")");
    }

    @Override
    public long totalTokens() {
        return tokens;
    }

    public int tokenBytes() {
        return tokenBytes;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public void close() {
        arena.close();
    }
}
