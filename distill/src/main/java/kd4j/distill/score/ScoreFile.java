/*
 * A compact columnar file of per-instance scores: for instances [start, end) of a corpus, the sum and the mean of
 * token log-probabilities (f64) and the number of tokens counted (i32). Instance ids are implicit (start + row).
 * The JSON manifest sits in the header as plain UTF-8, so `head -c 600 FILE` shows what a file is.
 *
 * Layout (little-endian):   "KD4JSCR1" | u32 manifest length M | M bytes manifest JSON | zero pad to 8 |
 *                           f64 sum[n] | f64 mean[n] | i32 count[n]          (n = end - start)
 * The manifest's columnsCrc32 covers the column bytes. Files are written to a temp file, forced and renamed, so a
 * reader never sees half a file.
 */
package kd4j.distill.score;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32;
import kd4j.data.AtomicFiles;

public final class ScoreFile {
    static final byte[] MAGIC = "KD4JSCR1".getBytes(StandardCharsets.US_ASCII);
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final ScoreManifest manifest;
    private final double[] sum;
    private final double[] mean;
    private final int[] count;

    /** Columns of equal length manifest.instances(); the arrays are taken, not copied. */
    public ScoreFile(ScoreManifest manifest, double[] sum, double[] mean, int[] count) {
        long n = manifest.instances();
        if (sum.length != n || mean.length != n || count.length != n)
            throw new IllegalArgumentException("score columns have " + sum.length + "/" + mean.length + "/"
                    + count.length + " rows, manifest says " + n + " (instances [" + manifest.start() + ", "
                    + manifest.end() + "))");
        this.manifest = manifest;
        this.sum = sum;
        this.mean = mean;
        this.count = count;
    }

    public ScoreManifest manifest() { return manifest; }
    public int size() { return count.length; }
    public long start() { return manifest.start(); }
    public long end() { return manifest.end(); }

    /** Sum of log p over the counted tokens of instance start()+row. */
    public double sum(int row) { return sum[row]; }
    /** Mean log p per counted token (NaN when no token was counted). */
    public double mean(int row) { return mean[row]; }
    /** Number of counted tokens (positions whose input token is neither EOS nor padding). */
    public int count(int row) { return count[row]; }

    /** True when this file covers the whole corpus (a single-shard run or a merge). */
    public boolean isComplete() { return manifest.start() == 0 && manifest.end() == manifest.corpusInstances(); }

    // ---- writing ----

    /** Writes atomically (temp file, force, rename); the manifest's columnsCrc32 is filled in. */
    public void write(Path path) throws IOException {
        byte[] columns = columnBytes(sum, mean, count);
        ScoreManifest m = manifest.withColumnsCrc32(crc32(columns));
        byte[] header = JSON.writeValueAsBytes(m);
        int headerEnd = MAGIC.length + 4 + header.length;
        int padding = (8 - headerEnd % 8) % 8;
        ByteBuffer head = ByteBuffer.allocate(headerEnd + padding).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).putInt(header.length).put(header);
        head.position(head.limit()).flip();
        AtomicFiles.write(path, head, ByteBuffer.wrap(columns));
    }

    static byte[] columnBytes(double[] sum, double[] mean, int[] count) {
        int n = count.length;
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(n, 20)).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : sum) b.putDouble(v);
        for (double v : mean) b.putDouble(v);
        for (int v : count) b.putInt(v);
        return b.array();
    }

    static String crc32(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return String.format("%08x", crc.getValue());
    }

    // ---- reading ----

    /** Reads a score file, checking the magic, the manifest, the size and the column checksum. */
    public static ScoreFile read(Path path) throws IOException {
        byte[] all;
        try {
            all = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new ScoreFileException(path + ": no such score file");
        }
        ScoreManifest m = readManifest(path, all);
        int columnsAt = columnsOffset(all);
        long n = m.instances();
        long expected = columnsAt + 20L * n;
        if (all.length != expected)
            throw new ScoreFileException(path + ": file is " + all.length + " bytes, expected " + expected
                    + " (header " + columnsAt + " + 20 bytes x " + n + " instances); it is truncated or not a "
                    + "finished score file");
        byte[] columns = Arrays.copyOfRange(all, columnsAt, all.length);
        String crc = crc32(columns);
        if (m.columnsCrc32() == null || !m.columnsCrc32().equals(crc))
            throw new ScoreFileException(path + ": column checksum is " + crc + ", the manifest says "
                    + m.columnsCrc32() + "; the file is corrupt");
        ByteBuffer b = ByteBuffer.wrap(columns).order(ByteOrder.LITTLE_ENDIAN);
        int rows = (int) n;
        double[] sum = new double[rows], mean = new double[rows];
        int[] count = new int[rows];
        for (int i = 0; i < rows; i++) sum[i] = b.getDouble();
        for (int i = 0; i < rows; i++) mean[i] = b.getDouble();
        for (int i = 0; i < rows; i++) count[i] = b.getInt();
        return new ScoreFile(m, sum, mean, count);
    }

    /** Reads only the manifest from the header. */
    public static ScoreManifest readManifest(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            while (head.hasRemaining() && ch.read(head) >= 0) { }
            if (head.hasRemaining()) throw notScoreFile(path);
            int len = head.getInt(8);
            if (len < 0 || len > 1 << 20) throw notScoreFile(path);
            ByteBuffer all = ByteBuffer.allocate(12 + len);
            ch.position(0);
            while (all.hasRemaining() && ch.read(all) >= 0) { }
            return readManifest(path, all.array());
        } catch (NoSuchFileException e) {
            throw new ScoreFileException(path + ": no such score file");
        }
    }

    private static ScoreManifest readManifest(Path path, byte[] all) throws ScoreFileException {
        if (all.length < 12 || !Arrays.equals(Arrays.copyOf(all, 8), MAGIC)) throw notScoreFile(path);
        int len = ByteBuffer.wrap(all, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (len < 0 || 12L + len > all.length) throw notScoreFile(path);
        ScoreManifest m;
        try {
            m = JSON.readValue(all, 12, len, ScoreManifest.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new ScoreFileException(path + ": manifest at byte 12 is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ScoreFileException(path + ": manifest at byte 12 cannot be read: " + e.getMessage());
        }
        if (!ScoreManifest.FORMAT.equals(m.format()) || m.version() != ScoreManifest.VERSION)
            throw new ScoreFileException(path + ": manifest format is '" + m.format() + "' version " + m.version()
                    + ", expected '" + ScoreManifest.FORMAT + "' version " + ScoreManifest.VERSION);
        if (m.corpusChecksum() == null || m.tokenizerFingerprint() == null || m.modelId() == null
                || m.start() < 0 || m.end() < m.start() || m.end() > m.corpusInstances() || m.instances() > Integer.MAX_VALUE)
            throw new ScoreFileException(path + ": manifest is incomplete or its range [" + m.start() + ", " + m.end()
                    + ") does not fit a corpus of " + m.corpusInstances() + " instances");
        return m;
    }

    private static int columnsOffset(byte[] all) {
        int end = 12 + ByteBuffer.wrap(all, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return end + (8 - end % 8) % 8;
    }

    private static ScoreFileException notScoreFile(Path path) {
        return new ScoreFileException(path + ": not a kd4j score file (expected the magic \"KD4JSCR1\" and a "
                + "manifest length at bytes 0..11)");
    }

    // ---- merging ----

    /**
     * Joins shard files into one file covering the whole corpus. Refuses files of different corpora,
     * tokenizers, models or precisions, overlapping ranges, and gaps (including a missing first or last slice).
     */
    public static ScoreFile merge(List<Path> paths) throws IOException {
        if (paths.isEmpty()) throw new IllegalArgumentException("score-merge: no score files given");
        List<ScoreFile> files = new ArrayList<>();
        List<Path> order = new ArrayList<>(paths);
        for (Path p : paths) files.add(read(p));
        ScoreManifest first = files.getFirst().manifest();
        for (int i = 1; i < files.size(); i++) {
            ScoreManifest m = files.get(i).manifest();
            first.requireSameCorpus(paths.getFirst(), m, paths.get(i));
            if (!first.modelId().equals(m.modelId()))
                throw new ScoreFileException(paths.getFirst() + " and " + paths.get(i) + " were scored by different "
                        + "models ('" + first.modelId() + "' vs '" + m.modelId() + "'); merge shards of one model only");
            if (!first.precision().equals(m.precision()))
                throw new ScoreFileException(paths.getFirst() + " and " + paths.get(i) + " were scored at different "
                        + "precisions (" + first.precision() + " vs " + m.precision() + "); merge shards of one precision only");
        }
        Integer[] idx = new Integer[files.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, Comparator.comparingLong((Integer i) -> files.get(i).start()).thenComparingLong(i -> files.get(i).end()));
        long total = first.corpusInstances();
        long at = 0;
        Path previous = null;
        for (Integer i : idx) {
            ScoreFile f = files.get(i);
            Path p = order.get(i);
            if (f.start() > at)
                throw new ScoreFileException("score-merge: gap: no scores for instances [" + at + ", " + f.start()
                        + ")" + (previous == null ? " before " : " between " + previous + " and ") + p
                        + " [" + f.start() + ", " + f.end() + "). Score the missing shard and merge again.");
            if (f.start() < at)
                throw new ScoreFileException("score-merge: overlap: " + p + " [" + f.start() + ", " + f.end()
                        + ") overlaps " + previous + " on instances [" + f.start() + ", " + Math.min(at, f.end())
                        + "). Give each shard once.");
            at = f.end();
            previous = p;
        }
        if (at != total)
            throw new ScoreFileException("score-merge: gap: no scores for instances [" + at + ", " + total
                    + ") after " + previous + " (the corpus has " + total + " instances). Score the missing shard "
                    + "and merge again.");
        int n = Math.toIntExact(total);
        double[] sum = new double[n], mean = new double[n];
        int[] count = new int[n];
        for (ScoreFile f : files) {
            int off = (int) f.start();
            System.arraycopy(f.sum, 0, sum, off, f.size());
            System.arraycopy(f.mean, 0, mean, off, f.size());
            System.arraycopy(f.count, 0, count, off, f.size());
        }
        return new ScoreFile(first.withRange(0, 1, 0, total), sum, mean, count);
    }
}
