/*
 * Writes a kd4j token shard: sequences of token ids packed back to back as uint16 (when the vocabulary has at
 * most 65,536 ids) or uint32, followed by the sequence offsets, in one memory-mappable file. The file appears
 * under its final name only when close() succeeds (written as "<name>.tmp", then renamed atomically), so a
 * killed run never leaves a partial shard that looks finished.
 *
 * Layout, little-endian:
 *   0  8 bytes  magic "KD4JTOK\0"
 *   8  u32      version (1)
 *   12 u32      bytes per token (2 or 4)
 *   16 u64      N, number of sequences
 *   24 u64      T, number of tokens
 *   32          T tokens
 *   32 + T*w rounded up to 8:  (N+1) int64 token offsets; offsets[0] = 0, offsets[N] = T
 */
package kd4j.data;

import it.unimi.dsi.fastutil.longs.LongArrayList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

public final class ShardWriter implements AutoCloseable {
    static final byte[] MAGIC = {'K', 'D', '4', 'J', 'T', 'O', 'K', 0};
    static final int VERSION = 1;
    static final int HEADER_BYTES = 32;

    private final Path path;
    private final FileChannel channel;
    private final int tokenBytes;
    private final int maxId;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private final LongArrayList offsets = new LongArrayList();
    private long tokens;
    private boolean closed;

    /** Bytes per token for a vocabulary: 2 when every id fits in uint16, else 4. */
    public static int tokenBytesFor(int vocabSize) {
        return vocabSize <= 65536 ? 2 : 4;
    }

    public ShardWriter(Path path, int vocabSize) throws IOException {
        this.path = path;
        this.tokenBytes = tokenBytesFor(vocabSize);
        this.maxId = vocabSize - 1;
        this.channel = AtomicFiles.openTmp(path);
        channel.position(HEADER_BYTES);
        offsets.add(0);
    }

    /** Appends one sequence: tokens[from .. from+length). Ids must be in [0, vocabSize). */
    public void add(int[] ids, int from, int length) throws IOException {
        for (int i = from; i < from + length; i++) {
            int id = ids[i];
            if (id < 0 || id > maxId)
                throw new IllegalArgumentException(path + ": token id " + id + " of sequence " + (offsets.size() - 1)
                        + " is outside the vocabulary [0, " + maxId + "]");
            if (buffer.remaining() < 4) flush();
            if (tokenBytes == 2) buffer.putShort((short) id);
            else buffer.putInt(id);
        }
        tokens += length;
        offsets.add(tokens);
    }

    public void add(int[] ids) throws IOException {
        add(ids, 0, ids.length);
    }

    public long sequences() {
        return offsets.size() - 1;
    }

    public long tokens() {
        return tokens;
    }

    public Path path() {
        return path;
    }

    private void flush() throws IOException {
        buffer.flip();
        try {
            while (buffer.hasRemaining()) channel.write(buffer);
        } catch (IOException e) {
            throw DiskFullException.named(e, AtomicFiles.tmpOf(path), -1);
        }
        buffer.clear();
    }

    /** Writes the offsets and header, forces the data to disk and renames the file to its final name. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        try (channel) {
            long pad = (8 - (tokens * tokenBytes) % 8) % 8;
            for (int i = 0; i < pad; i++) {
                if (!buffer.hasRemaining()) flush();
                buffer.put((byte) 0);
            }
            for (int i = 0; i < offsets.size(); i++) {
                if (buffer.remaining() < 8) flush();
                buffer.putLong(offsets.getLong(i));
            }
            flush();
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.put(MAGIC).putInt(VERSION).putInt(tokenBytes).putLong(sequences()).putLong(tokens).flip();
            try {
                while (header.hasRemaining()) channel.write(header, header.position());
                channel.force(true);
            } catch (IOException e) {
                throw DiskFullException.named(e, AtomicFiles.tmpOf(path), -1);
            }
        }
        AtomicFiles.commit(path);
    }

    /** Drops the partial file (used when a job fails half way). */
    public void abort() {
        if (closed) return;
        closed = true;
        try {
            channel.close();
            Files.deleteIfExists(AtomicFiles.tmpOf(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
