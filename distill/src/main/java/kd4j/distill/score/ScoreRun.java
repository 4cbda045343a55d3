/*
 * A resumable scoring job: scores one shard of a corpus into a score file. Work is done in chunks of whole
 * batches; each finished chunk is written atomically to OUT.parts/chunk-<start>.bin beside the run's manifest
 * (kd4j.data.ChunkFiles, as kd4j cache-logits writes its chunks). A killed run, started again with the same
 * arguments, keeps its finished chunks that pass their checks and scores only the rows no kept chunk covers:
 * nothing is scored twice or lost, and because a gap is cut into chunks from its start as an uninterrupted run
 * cuts them, the batches, and hence the file, are the same as an uninterrupted run's. At the end the chunks are joined into OUT (atomic) and the parts
 * folder is removed. Not thread-safe; one run per OUT.
 */
package kd4j.distill.score;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import kd4j.data.AtomicFiles;
import kd4j.data.ChunkFiles;
import kd4j.data.TokenSequences;
import kd4j.data.Shard;

public final class ScoreRun {
    /** Progress after each chunk; throwing from it abandons the run (finished chunks stay). */
    @FunctionalInterface
    public interface Listener {
        void chunkDone(Progress progress);
    }

    /** Where a run stands: instances and tokens done in this process, overall, and timing. */
    public record Progress(long instancesDone, long instancesTotal, long resumedFrom, long tokensThisRun,
                           long instancesThisRun, double secondsThisRun) {
        public double tokensPerSecond() { return secondsThisRun > 0 ? tokensThisRun / secondsThisRun : 0; }

        public double instancesPerSecond() { return secondsThisRun > 0 ? instancesThisRun / secondsThisRun : 0; }

        /** Seconds left at the rate of this run, or NaN before the first chunk. */
        public double etaSeconds() {
            double rate = instancesPerSecond();
            return rate > 0 ? (instancesTotal - instancesDone) / rate : Double.NaN;
        }

        /** "scored 1,024/10,000 instances (10.2%)  5,321 tok/s  31.4 inst/s  ETA 4m47s". */
        public String line() {
            double pct = instancesTotal == 0 ? 100 : 100.0 * instancesDone / instancesTotal;
            double eta = etaSeconds();
            return String.format("scored %,d/%,d instances (%.1f%%)  %,.0f tok/s  %,.1f inst/s  ETA %s",
                    instancesDone, instancesTotal, pct, tokensPerSecond(), instancesPerSecond(),
                    Double.isNaN(eta) ? "?" : duration(eta));
        }

        static String duration(double seconds) {
            long s = Math.round(seconds);
            if (s >= 3600) return String.format("%dh%02dm", s / 3600, s / 60 % 60);
            if (s >= 60) return String.format("%dm%02ds", s / 60, s % 60);
            return s + "s";
        }
    }

    private static final byte[] CHUNK_MAGIC = "KD4JSCC1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final TokenSequences source;
    private final TeacherScorer scorer;
    private ScoreManifest manifest;
    private final Path out;
    private final int chunkInstances;

    /**
     * chunkBatches: batches per chunk (the most work a kill can lose). modelId names the scoring model in the
     * manifest (e.g. its directory and config checksum).
     */
    public ScoreRun(TokenSequences source, TeacherScorer scorer, String modelId, Shard shard, Path out, int chunkBatches) {
        if (chunkBatches < 1) throw new IllegalArgumentException("chunk must hold at least one batch, got " + chunkBatches);
        this.source = source;
        this.scorer = scorer;
        this.out = out;
        this.chunkInstances = Math.multiplyExact(chunkBatches, scorer.batchSize());
        this.manifest = ScoreManifest.of(source.corpusChecksum(), source.size(), source.tokenizerFingerprint(),
                modelId, source.eosId(), source.padId(), shard).withPrecision(scorer.precision().label());
    }

    public ScoreManifest manifest() { return manifest; }

    /** Records the data set's path in the manifest (informational; `kd4j select` uses it when --data is not given). */
    public ScoreRun recordDataPath(String path) {
        manifest = manifest.withData(path);
        return this;
    }

    /** The folder holding finished chunks while the run is under way. */
    public Path partsDir() { return out.resolveSibling(out.getFileName() + ".parts"); }

    /**
     * Scores what is left and writes OUT. If OUT already holds this run's finished result it is returned as is;
     * if OUT or the parts folder hold a different run, the run is refused.
     */
    public ScoreFile run(Listener listener) throws IOException {
        source.requireIdsBelow(scorer.vocabSize(), "the scoring model (vocab_size " + scorer.vocabSize() + ")");
        if (Files.exists(out)) {
            ScoreManifest done = ScoreFile.readManifest(out);
            if (done.sameRun(manifest)) return ScoreFile.read(out);
            throw new ScoreFileException(out + " already holds other scores (" + String.join("; ",
                    manifest.differences(done)) + "). Choose another --out or delete it.");
        }
        Path parts = partsDir();
        Files.createDirectories(parts);
        Path runManifest = parts.resolve("manifest.json");
        if (Files.exists(runManifest)) {
            ScoreManifest previous = ScoreFile.JSON.readValue(runManifest.toFile(), ScoreManifest.class);
            if (!previous.sameRun(manifest))
                throw new ScoreFileException(parts + " holds an unfinished run with other settings ("
                        + String.join("; ", manifest.differences(previous)) + "). Resume it with its own "
                        + "arguments, or delete " + parts + " to start over.");
        } else {
            AtomicFiles.write(runManifest, ByteBuffer.wrap(ScoreFile.JSON.writeValueAsBytes(manifest)));
        }

        int n = Math.toIntExact(manifest.instances());
        double[] sum = new double[n], mean = new double[n];
        int[] count = new int[n];
        ChunkFiles.Coverage kept = ChunkFiles.scan(parts, 0, n, (p, first) -> readChunk(p, (int) first, sum, mean, count));
        long resumed = kept.rows(), done = resumed;

        long t0 = System.nanoTime();
        long tokens = 0;
        for (long[] gap : kept.gaps()) {
            for (int at = (int) gap[0]; at < gap[1]; at += chunkInstances) {
                int len = (int) Math.min(chunkInstances, gap[1] - at);
                long first = manifest.start() + at;
                tokens += scorer.score(source, first, first + len, sum, mean, count, at);
                writeChunk(parts, at, len, sum, mean, count);
                done += len;
                if (listener != null)
                    listener.chunkDone(new Progress(done, n, resumed, tokens, done - resumed, (System.nanoTime() - t0) / 1e9));
            }
        }
        ScoreFile result = new ScoreFile(manifest, sum, mean, count);
        result.write(out);
        deleteParts(parts);
        return ScoreFile.read(out);
    }

    /** Chunk file: magic | i64 first row | i32 rows | columns (as in ScoreFile) | u32 crc of the columns. */
    private void writeChunk(Path parts, int at, int len, double[] sum, double[] mean, int[] count) throws IOException {
        byte[] columns = ScoreFile.columnBytes(java.util.Arrays.copyOfRange(sum, at, at + len),
                java.util.Arrays.copyOfRange(mean, at, at + len), java.util.Arrays.copyOfRange(count, at, at + len));
        ByteBuffer head = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        head.put(CHUNK_MAGIC).putLong(at).putInt(len).flip();
        ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        tail.putLong(Long.parseLong(ScoreFile.crc32(columns), 16)).flip();
        ChunkFiles.write(parts, at, head, ByteBuffer.wrap(columns), tail);
    }

    /** Rows read, or -1 when the chunk is not a valid chunk starting at row at. */
    private int readChunk(Path p, int at, double[] sum, double[] mean, int[] count) throws IOException {
        byte[] all = Files.readAllBytes(p);
        if (all.length < 28) return -1;
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        long first = b.getLong();
        int rows = b.getInt();
        if (!java.util.Arrays.equals(magic, CHUNK_MAGIC) || first != at || rows <= 0 || at + (long) rows > sum.length
                || all.length != 28L + 20L * rows) return -1;
        byte[] columns = java.util.Arrays.copyOfRange(all, 20, 20 + 20 * rows);
        if (Long.parseLong(ScoreFile.crc32(columns), 16) != ByteBuffer.wrap(all, all.length - 8, 8)
                .order(ByteOrder.LITTLE_ENDIAN).getLong()) return -1;
        ByteBuffer c = ByteBuffer.wrap(columns).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows; i++) sum[at + i] = c.getDouble();
        for (int i = 0; i < rows; i++) mean[at + i] = c.getDouble();
        for (int i = 0; i < rows; i++) count[at + i] = c.getInt();
        return rows;
    }

    private static void deleteParts(Path parts) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parts)) {
            for (Path p : ds) Files.delete(p);
        }
        Files.delete(parts);
    }

    /** Chunks currently finished in the parts folder (for tests and `kd4j score` status lines). */
    public List<Path> finishedChunks() throws IOException { return ChunkFiles.list(partsDir()); }
}
