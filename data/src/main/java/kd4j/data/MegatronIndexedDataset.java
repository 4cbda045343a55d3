/*
 * The Megatron / fairseq "mmap" indexed dataset: a .bin file of tokens packed back to back and a .idx file that
 * indexes them. MiniPLM's released tokenized and refined Pile corpora use it, so kd4j reads and writes it as is.
 * Follows fairseq's MMapIndexedDataset (as copied into Megatron-LM and MiniPLM's data_utils/indexed_dataset.py).
 *
 * .idx layout, little-endian:
 *   0  9 bytes  magic "MMIDIDX\0\0"
 *   9  u64      version (1)
 *   17 u8       dtype code: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float32, 7 float64, 8 uint16
 *   18 u64      N, number of sequences
 *   26 u64      D, number of doc_idx entries
 *   34          int32 sizes[N]      tokens per sequence
 *   34 + 4N     int64 pointers[N]   byte offset of each sequence in .bin
 *   34 + 12N    int64 doc_idx[D]    sequence index where each document starts, doc_idx[0] = 0
 */
package kd4j.data;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.LongArrayList;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

public final class MegatronIndexedDataset implements TokenSequences {
    static final byte[] MAGIC = {'M', 'M', 'I', 'D', 'I', 'D', 'X', 0, 0};
    static final int HEADER_BYTES = 34;
    public static final int UINT8 = 1, INT8 = 2, INT16 = 3, INT32 = 4, INT64 = 5, FLOAT32 = 6, FLOAT64 = 7, UINT16 = 8;

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path binPath, idxPath;
    private final Arena arena;
    private final MemorySegment idx, bin;
    private final int dtype, elementBytes;
    private final long sequences, docCount, totalTokens;

    /** Element size in bytes of a dtype code, or -1 for an unknown code. */
    public static int elementBytes(int code) {
        return switch (code) {
            case UINT8, INT8 -> 1;
            case INT16, UINT16 -> 2;
            case INT32, FLOAT32 -> 4;
            case INT64, FLOAT64 -> 8;
            default -> -1;
        };
    }

    /** MiniPLM's best_fitting_dtype: uint16 below 65,500 ids, else int32. */
    public static int dtypeFor(int vocabSize) {
        return vocabSize < 65500 ? UINT16 : INT32;
    }

    /** The path without .bin / .idx: "data/train_0" for "data/train_0.idx". */
    public static Path prefixOf(Path path) {
        String n = path.getFileName().toString();
        return n.endsWith(".bin") || n.endsWith(".idx") ? path.resolveSibling(n.substring(0, n.length() - 4)) : path;
    }

    /** Opens prefix.idx and prefix.bin (prefix may also be given with either extension). */
    public static MegatronIndexedDataset open(Path prefixOrFile) throws IOException {
        return new MegatronIndexedDataset(prefixOf(prefixOrFile));
    }

    private MegatronIndexedDataset(Path prefix) throws IOException {
        this.idxPath = prefix.resolveSibling(prefix.getFileName() + ".idx");
        this.binPath = prefix.resolveSibling(prefix.getFileName() + ".bin");
        if (!Files.isRegularFile(idxPath)) throw DataFormatException.of(idxPath, "index file not found (a Megatron dataset is a .bin and .idx pair)");
        if (!Files.isRegularFile(binPath)) throw DataFormatException.of(binPath, "data file not found (a Megatron dataset is a .bin and .idx pair)");
        this.arena = Arena.ofShared();
        try {
            this.idx = map(idxPath);
            this.bin = map(binPath);
            long size = idx.byteSize();
            if (size < HEADER_BYTES)
                throw DataFormatException.atByte(idxPath, size, "file ends inside the 34-byte header (size " + size + ")");
            byte[] magic = idx.asSlice(0, 9).toArray(ValueLayout.JAVA_BYTE);
            if (!Arrays.equals(magic, MAGIC))
                throw DataFormatException.atByte(idxPath, 0, "expected magic \"MMIDIDX\\0\\0\" (Megatron mmap index), found "
                        + new String(magic, 0, 6, java.nio.charset.StandardCharsets.ISO_8859_1).replaceAll("[^ -~]", "?")
                        + (magic[0] == 'T' ? "... (the older fairseq 'cached' index; re-export with the mmap implementation)" : "..."));
            long version = idx.get(I64, 9);
            if (version != 1) throw DataFormatException.atByte(idxPath, 9, "unsupported index version " + version + ", expected 1");
            this.dtype = Byte.toUnsignedInt(idx.get(ValueLayout.JAVA_BYTE, 17));
            this.elementBytes = elementBytes(dtype);
            if (elementBytes < 0 || dtype == FLOAT32 || dtype == FLOAT64)
                throw DataFormatException.atByte(idxPath, 17, "dtype code " + dtype + " is not a token type (expected 1, 2, 3, 4, 5 or 8)");
            this.sequences = idx.get(I64, 18);
            this.docCount = idx.get(I64, 26);
            long expected = HEADER_BYTES + sequences * 12 + docCount * 8;
            if (sequences < 0 || docCount < 0 || expected != size)
                throw DataFormatException.atByte(idxPath, 18, "header says " + sequences + " sequences and " + docCount
                        + " doc_idx entries, which need " + expected + " bytes, but the file has " + size);
            long total = 0, binSize = bin.byteSize();
            for (long i = 0; i < sequences; i++) {
                int n = idx.get(I32, HEADER_BYTES + 4 * i);
                long p = pointer(i);
                if (n < 0 || p < 0 || p % elementBytes != 0 || p + (long) n * elementBytes > binSize)
                    throw DataFormatException.atByte(idxPath, HEADER_BYTES + 4 * i, "sequence " + i + " (size " + n + ", pointer " + p
                            + ") lies outside " + binPath.getFileName() + " (" + binSize + " bytes of " + elementBytes + "-byte tokens)");
                // fairseq / Megatron / MiniPLM write sequences back to back: any other pointer means the sizes lie
                if (p != total * elementBytes)
                    throw DataFormatException.atByte(idxPath, HEADER_BYTES + 4 * sequences + 8 * i, "sequence " + i
                            + " starts at byte " + p + " of " + binPath.getFileName() + ", but the sizes before it end at byte "
                            + total * elementBytes + " (the index's sizes and pointers disagree)");
                total += n;
            }
            if (total * elementBytes != binSize)
                throw DataFormatException.atByte(binPath, total * elementBytes, "the file has " + binSize + " bytes, but "
                        + idxPath.getFileName() + " accounts for " + total + " tokens of " + elementBytes + " bytes = "
                        + total * elementBytes + " (the .bin and .idx do not belong together, or one is truncated)");
            this.totalTokens = total;
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private MemorySegment map(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    private long pointer(long i) {
        return idx.get(I64, HEADER_BYTES + 4 * sequences + 8 * i);
    }

    @Override
    public long size() {
        return sequences;
    }

    @Override
    public int length(long i) {
        checkIndex(i);
        return idx.get(I32, HEADER_BYTES + 4 * i);
    }

    @Override
    public int read(long i, int[] dst, int dstOffset) {
        int n = length(i);
        long p = pointer(i);
        switch (dtype) {
            case UINT16 -> { for (int k = 0; k < n; k++) dst[dstOffset + k] = Short.toUnsignedInt(bin.get(I16, p + 2L * k)); }
            case INT16 -> { for (int k = 0; k < n; k++) dst[dstOffset + k] = bin.get(I16, p + 2L * k); }
            case INT32 -> { for (int k = 0; k < n; k++) dst[dstOffset + k] = bin.get(I32, p + 4L * k); }
            // an id beyond int range reads as -1, which every vocabulary check (requireIdsBelow) refuses
            case INT64 -> { for (int k = 0; k < n; k++) { long v = bin.get(I64, p + 8L * k); dst[dstOffset + k] = v == (int) v ? (int) v : -1; } }
            case UINT8 -> { for (int k = 0; k < n; k++) dst[dstOffset + k] = Byte.toUnsignedInt(bin.get(ValueLayout.JAVA_BYTE, p + k)); }
            case INT8 -> { for (int k = 0; k < n; k++) dst[dstOffset + k] = bin.get(ValueLayout.JAVA_BYTE, p + k); }
            default -> throw new IllegalStateException("dtype " + dtype);
        }
        return n;
    }

    private int maxId;
    private boolean maxIdKnown;

    @Override
    public synchronized int maxTokenIdUnsigned() {
        if (maxIdKnown) return maxId;
        int max = 0;
        long n = totalTokens;
        for (long k = 0; k < n; k++) {
            int v = switch (dtype) {
                case UINT16 -> Short.toUnsignedInt(bin.get(I16, 2 * k));
                case INT16 -> bin.get(I16, 2 * k);
                case INT32 -> bin.get(I32, 4 * k);
                case INT64 -> { long w = bin.get(I64, 8 * k); yield w == (int) w ? (int) w : -1; }
                case UINT8 -> Byte.toUnsignedInt(bin.get(ValueLayout.JAVA_BYTE, k));
                default -> bin.get(ValueLayout.JAVA_BYTE, k);
            };
            if (Integer.compareUnsigned(v, max) > 0) max = v;
        }
        maxId = max;
        maxIdKnown = true;
        return max;
    }

    private void checkIndex(long i) {
        if (i < 0 || i >= sequences)
            throw new IndexOutOfBoundsException(idxPath + ": sequence " + i + " out of range [0, " + sequences + ")");
    }

    /** doc_idx: the sequence index where each document starts (MiniPLM writes just [0]). */
    public long[] docIndex() {
        long[] out = new long[(int) docCount];
        for (int d = 0; d < docCount; d++) out[d] = idx.get(I64, HEADER_BYTES + 12 * sequences + 8L * d);
        return out;
    }

    public int dtype() {
        return dtype;
    }

    @Override
    public long totalTokens() {
        return totalTokens;
    }

    @Override
    public Path path() {
        return binPath;
    }

    public Path indexPath() {
        return idxPath;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Starts writing prefix.bin / prefix.idx with the given dtype code (UINT16 or INT32 for tokens). */
    public static Writer create(Path prefix, int dtype) throws IOException {
        return new Writer(prefixOf(prefix), dtype);
    }

    /**
     * Streams sequences into prefix.bin.tmp and writes the index on close; then renames .bin and, last, .idx to
     * their final names, so an .idx on disk always describes a complete .bin.
     */
    public static final class Writer implements AutoCloseable {
        private final Path bin, idx;
        private final int dtype, elementBytes;
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private final IntArrayList sizes = new IntArrayList();
        private final LongArrayList docIdx = new LongArrayList(new long[] {0});
        private boolean closed;

        private Writer(Path prefix, int dtype) throws IOException {
            if (dtype != UINT16 && dtype != INT32 && dtype != INT64 && dtype != INT16 && dtype != UINT8 && dtype != INT8)
                throw new IllegalArgumentException("Megatron dtype code " + dtype + " is not a token type (use UINT16 or INT32)");
            this.dtype = dtype;
            this.elementBytes = elementBytes(dtype);
            this.bin = prefix.resolveSibling(prefix.getFileName() + ".bin");
            this.idx = prefix.resolveSibling(prefix.getFileName() + ".idx");
            this.channel = AtomicFiles.openTmp(bin);
        }

        /** Appends one sequence ids[from .. from+length). */
        public void add(int[] ids, int from, int length) throws IOException {
            long max = switch (dtype) { case UINT16 -> 65535; case INT16 -> Short.MAX_VALUE; case UINT8 -> 255; case INT8 -> 127; default -> Integer.MAX_VALUE; };
            for (int i = from; i < from + length; i++) {
                int id = ids[i];
                if (id < 0 || id > max)
                    throw new IllegalArgumentException(bin + ": token id " + id + " does not fit dtype code " + dtype);
                if (buffer.remaining() < 8) flush();
                switch (elementBytes) {
                    case 1 -> buffer.put((byte) id);
                    case 2 -> buffer.putShort((short) id);
                    case 4 -> buffer.putInt(id);
                    default -> buffer.putLong(id);
                }
            }
            sizes.add(length);
        }

        public void add(int[] ids) throws IOException {
            add(ids, 0, ids.length);
        }

        /** Marks a document boundary after the sequences added so far (fairseq end_document). */
        public void endDocument() {
            docIdx.add(sizes.size());
        }

        public long sequences() {
            return sizes.size();
        }

        private void flush() throws IOException {
            buffer.flip();
            try {
                while (buffer.hasRemaining()) channel.write(buffer);
            } catch (IOException e) {
                throw DiskFullException.named(e, AtomicFiles.tmpOf(bin), -1);
            }
            buffer.clear();
        }

        @Override
        public void close() throws IOException {
            if (closed) return;
            closed = true;
            try (channel) {
                flush();
                channel.force(true);
            } catch (IOException e) {
                throw DiskFullException.named(e, AtomicFiles.tmpOf(bin), -1);
            }
            int n = sizes.size();
            ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + 12 * n + 8 * docIdx.size()).order(ByteOrder.LITTLE_ENDIAN);
            out.put(MAGIC).putLong(1).put((byte) dtype).putLong(n).putLong(docIdx.size());
            for (int i = 0; i < n; i++) out.putInt(sizes.getInt(i));
            long address = 0;
            for (int i = 0; i < n; i++) {
                out.putLong(address);
                address += (long) sizes.getInt(i) * elementBytes;
            }
            for (int d = 0; d < docIdx.size(); d++) out.putLong(docIdx.getLong(d));
            out.flip();
            AtomicFiles.writeTmp(idx, out);
            AtomicFiles.commit(bin);
            AtomicFiles.commit(idx);
        }
    }
}
