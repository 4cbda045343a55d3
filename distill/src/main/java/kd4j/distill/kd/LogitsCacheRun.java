/*
 * `kd4j cache-logits` as a resumable job, mirroring kd4j score's ScoreRun: the teacher runs once over one shard
 * of a corpus (GradMode.off, batches padded and masked like TeacherScorer) and each finished chunk of whole
 * batches is written atomically into the cache folder. A killed run started again with the same arguments keeps
 * its finished chunks (checked by CRC) and continues after the last one; a folder holding another run's shard
 * manifest is refused. Sampled truncation draws from a generator seeded per instance, so a resumed cache is
 * byte-identical to an uninterrupted one. Not thread-safe; one run per shard.
 */
package kd4j.distill.kd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import kd4j.autograd.MatmulPrecision;
import kd4j.data.AtomicFiles;
import kd4j.data.ChunkFiles;
import kd4j.data.Shard;
import kd4j.data.TokenSequences;
import kd4j.models.CausalLM;
import kd4j.models.ChunkedLogits;
import kd4j.models.NextTokenBatch;
import kd4j.tensor.Backend;

public final class LogitsCacheRun {
    /** Where a run stands after a chunk. */
    public record Progress(long instancesDone, long instancesTotal, long resumedFrom, long tokens, long bytes,
                           double secondsThisRun) {
        public double bytesPerToken() { return tokens == 0 ? 0 : (double) bytes / tokens; }

        /** "cached 1,024/10,000 instances (10.2%)  148.3 B/token  ETA 4m47s". */
        public String line() {
            double pct = instancesTotal == 0 ? 100 : 100.0 * instancesDone / instancesTotal;
            double rate = secondsThisRun > 0 ? (instancesDone - resumedFrom) / secondsThisRun : 0;
            String eta = rate > 0 ? Math.round((instancesTotal - instancesDone) / rate) + "s" : "?";
            return String.format("cached %,d/%,d instances (%.1f%%)  %.1f B/token  ETA %s", instancesDone,
                    instancesTotal, pct, bytesPerToken(), eta);
        }
    }

    @FunctionalInterface
    public interface Listener {
        void chunkDone(Progress progress);
    }

    private final TokenSequences source;
    private final CausalLM teacher;
    private final LogitsCacheManifest manifest;
    private final Path out;
    private final int batchSize;
    private final int chunkInstances;
    /** Bytes of one block of teacher logits (ChunkedLogits' default); it reaches the heap 16 MiB at a time. */
    public static final long LOGITS_BLOCK_BYTES = ChunkedLogits.DEFAULT_CHUNK_BYTES;
    private static final long HOST_COPY_BYTES = 16L << 20;
    private final ChunkedLogits logits;
    private final MatmulPrecision precision;

    public LogitsCacheRun(TokenSequences source, CausalLM teacher, String teacherId, TopPkLogits.Truncation truncation,
                          int probBits, long seed, Shard shard, Path out, int batchSize, int chunkBatches) {
        this(source, teacher, teacherId, truncation, probBits, seed, shard, out, batchSize, chunkBatches, MatmulPrecision.FP32);
    }

    /** As above, the teacher's linear layers at precision (BF16 only on a backend with supportsBf16Matmul). */
    public LogitsCacheRun(TokenSequences source, CausalLM teacher, String teacherId, TopPkLogits.Truncation truncation,
                          int probBits, long seed, Shard shard, Path out, int batchSize, int chunkBatches,
                          MatmulPrecision precision) {
        java.util.Objects.requireNonNull(precision, "precision").requireSupportedBy(teacher.backend(), "--precision");
        this.precision = precision;
        if (batchSize < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batchSize);
        if (chunkBatches < 1) throw new IllegalArgumentException("a chunk must hold at least one batch, got " + chunkBatches);
        this.source = source;
        this.logits = new ChunkedLogits(teacher, LOGITS_BLOCK_BYTES);
        this.teacher = teacher;
        this.out = out;
        this.batchSize = batchSize;
        this.chunkInstances = Math.multiplyExact(batchSize, chunkBatches);
        this.manifest = LogitsCacheManifest.of(source.corpusChecksum(), source.size(), source.tokenizerFingerprint(),
                teacherId, KdLoss.parameterCount(teacher), teacher.config().vocabSize(), truncation, probBits, seed, shard)
                .withPrecision(precision.label());
    }

    public LogitsCacheManifest manifest() { return manifest; }

    private Path manifestPath() { return out.resolve(LogitsCache.manifestName(manifest.shardIndex(), manifest.shardCount())); }

    /** Caches what is left of the shard and returns its completed manifest (bytes per token included). */
    public LogitsCacheManifest run(Listener listener) throws IOException {
        source.requireIdsBelow(manifest.vocabSize(), "the teacher (vocab_size " + manifest.vocabSize() + ")");
        Files.createDirectories(out);
        Path mf = manifestPath();
        if (Files.exists(mf)) {
            LogitsCacheManifest previous = LogitsCache.JSON.readValue(mf.toFile(), LogitsCacheManifest.class);
            if (!previous.sameRun(manifest))
                throw new LogitsCacheException(out + " holds a logits cache of another run (the folder's vs this run's: " + String.join("; ",
                        previous.differences(manifest)) + "). Resume it with its own arguments, or choose another --out.");
            if (previous.complete()) {
                // A finished shard is kept only while every chunk passes its check; a bad chunk is redone.
                if (keptChunks().gaps().isEmpty()) return previous;
                AtomicFiles.write(mf, LogitsCache.JSON.writeValueAsBytes(manifest));
            }
        } else {
            AtomicFiles.write(mf, LogitsCache.JSON.writeValueAsBytes(manifest));
        }
        Coverage kept = keptChunks();
        long tokens = kept.tokens(), bytes = kept.bytes(), done = kept.instances();
        long t0 = System.nanoTime();
        TopPkLogits truncator = new TopPkLogits(manifest.truncationSpec(), manifest.vocabSize());
        for (long[] gap : kept.gaps()) {
            for (long at = gap[0]; at < gap[1]; at += chunkInstances) {
                int len = (int) Math.min(chunkInstances, gap[1] - at);
                Encoder enc = new Encoder(manifest, len);
                for (long i = at; i < at + len; i += batchSize) {
                    int b = (int) Math.min(batchSize, at + len - i);
                    cacheBatch(i, b, truncator, enc);
                }
                byte[] chunk = enc.finish(at);
                ChunkFiles.write(out, at, ByteBuffer.wrap(chunk));
                tokens += enc.tokens;
                bytes += enc.tokenBytes;
                done += len;
                if (listener != null)
                    listener.chunkDone(new Progress(done, manifest.instances(), kept.instances(), tokens, bytes,
                            (System.nanoTime() - t0) / 1e9));
            }
        }
        LogitsCacheManifest finished = manifest.completed(tokens, bytes);
        AtomicFiles.write(mf, LogitsCache.JSON.writeValueAsBytes(finished));
        return finished;
    }

    /** The finished chunks of this shard that are kept: instances, tokens and bytes, and the ranges left to do. */
    private record Coverage(long instances, long tokens, long bytes, List<long[]> gaps) {}

    /**
     * Keeps every finished chunk of this shard that passes its CRC and header checks and overlaps no chunk kept
     * before it; any other chunk in the range (a flipped byte, a truncated file, a .tmp leftover) is deleted, so
     * a rerun caches exactly those instances again and nothing twice (kd4j.data.ChunkFiles).
     */
    private Coverage keptChunks() throws IOException {
        long[] tokensAndBytes = new long[2];
        ChunkFiles.Coverage kept = ChunkFiles.scan(out, manifest.start(), manifest.end(), (p, first) -> {
            if (!LogitsCache.crcMatches(p)) return -1;
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
            int n = b.getInt(16);
            if (b.getLong(8) != first || n <= 0) return -1;
            long payload = LogitsCache.HEADER + 8L * (n + 1);
            for (int k = 0; k < n; k++) tokensAndBytes[0] += b.getInt((int) (payload + b.getLong(LogitsCache.HEADER + 8 * k)));
            tokensAndBytes[1] += b.getLong(LogitsCache.HEADER + 8 * n) - 4L * n;
            return n;
        });
        return new Coverage(kept.rows(), tokensAndBytes[0], tokensAndBytes[1], kept.gaps());
    }

    private void cacheBatch(long first, int b, TopPkLogits truncator, Encoder enc) {
        int[][] batch = new int[b][];
        int maxLength = 0;
        int vocab = manifest.vocabSize();
        for (int j = 0; j < b; j++) {
            batch[j] = source.get(first + j);
            for (int t = 0; t < batch[j].length; t++)
                if (batch[j][t] < 0 || batch[j][t] >= vocab)
                    throw new IllegalArgumentException("instance " + (first + j) + ", position " + t + ": token id "
                            + batch[j][t] + " is outside the teacher's vocabulary [0, " + vocab + "); was the corpus "
                            + "made with another tokenizer? (for a teacher with another tokenizer use Difference Sampling)");
            maxLength = Math.max(maxLength, batch[j].length);
        }
        int tLen = maxLength - 1;
        if (tLen < 1) {
            for (int j = 0; j < b; j++) enc.beginInstance(0);
            return;
        }
        NextTokenBatch rows = NextTokenBatch.of(batch, b, tLen, Math.max(0, source.padId() >= 0 ? source.padId() : source.eosId()),
                NextTokenBatch.ALL, true);
        Backend be = teacher.backend();
        int[] kept = new int[manifest.maxKept()];
        float[] probs = new float[manifest.maxKept()];
        int[] positions = new int[b];
        for (int j = 0; j < b; j++) positions[j] = Math.max(0, batch[j].length - 1);
        SplittableRandom[] rng = new SplittableRandom[1];
        int[] begun = {-1};                                     // the last instance handed to enc.beginInstance
        // Rows b*T + t arrive in order, one block of positions at a time (never [B, T, V] whole).
        try (var precisionScope = MatmulPrecision.use(precision)) {   // the teacher's linear layers at the run's precision
            logits.forEach(be.fromInts(rows.inputs(), b, tLen),
                    rows.keyMask() == null ? null : be.fromInts(rows.keyMask(), b, tLen), (r0, block) -> {
                if (block.dim(1) != vocab)
                    throw new IllegalStateException("teacher returned " + block.dim(1) + " logits per token, its config says " + vocab);
                int rowsPerCopy = ChunkedLogits.rowsPerBlock(vocab, HOST_COPY_BYTES);
                for (int c0 = 0; c0 < block.dim(0); c0 += rowsPerCopy) {
                    int n = Math.min(rowsPerCopy, block.dim(0) - c0);
                    float[] host = block.narrow(0, c0, n).toFloatArray();
                    for (int r = 0; r < n; r++) {
                        int j = (r0 + c0 + r) / tLen, t = (r0 + c0 + r) % tLen;
                        while (begun[0] < j) {
                            int next = ++begun[0];
                            enc.beginInstance(positions[next]);
                            rng[0] = manifest.keepsSamples()
                                    ? new SplittableRandom(manifest.seed() ^ (first + next) * 0x9E3779B97F4A7C15L) : null;
                        }
                        if (t >= positions[j]) continue;
                        for (int q = r * vocab; q < (r + 1) * vocab; q++)
                            if (!Float.isFinite(host[q]))
                                throw new kd4j.train.NonFiniteResultException("instance " + (first + j) + ", position " + t
                                        + ": the teacher's logit of token " + (q - r * vocab) + " is " + host[q]
                                        + "; its output is not finite, so nothing of this chunk is cached");
                        int c = truncator.truncate(host, r * vocab, kept, probs, rng[0]);
                        double mass = 0;
                        for (int q = 0; q < c; q++) mass += probs[q];
                        enc.token(kept, probs, c, manifest.keepsSamples() ? 0f : (float) Math.max(0, 1 - mass));
                    }
                }
            });
        }
        while (begun[0] < b - 1) enc.beginInstance(positions[++begun[0]]);
    }

    /** Builds one chunk in memory: offsets, then instances as documented in LogitsCache. */
    static final class Encoder {
        private final int idBytes, countBytes;
        private final boolean half;
        private final long[] offsets;
        private int instance = -1;
        private ByteBuffer payload = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        long tokens, tokenBytes;

        Encoder(LogitsCacheManifest m, int instances) {
            this.idBytes = m.idBytes();
            this.countBytes = m.countBytes();
            this.half = m.probBits() == 16;
            this.offsets = new long[instances + 1];
        }

        void beginInstance(int positions) {
            offsets[++instance] = payload.position();
            ensure(4);
            payload.putInt(positions);
        }

        void token(int[] ids, float[] probs, int count, float leftOut) {
            int need = countBytes + count * idBytes + (count + 1) * (half ? 2 : 4);
            ensure(need);
            if (countBytes == 1) payload.put((byte) count);
            else payload.putShort((short) count);
            for (int j = 0; j < count; j++)
                for (int q = 0; q < idBytes; q++) payload.put((byte) (ids[j] >>> (8 * q)));
            for (int j = 0; j <= count; j++) {
                float v = j < count ? probs[j] : leftOut;
                if (half) payload.putShort(Float.floatToFloat16(v));
                else payload.putFloat(v);
            }
            tokens++;
            tokenBytes += need;
        }

        private void ensure(int n) {
            if (payload.remaining() >= n) return;
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(payload.capacity() * 2, payload.position() + n))
                    .order(ByteOrder.LITTLE_ENDIAN);
            payload.flip();
            bigger.put(payload);
            payload = bigger;
        }

        byte[] finish(long first) {
            if (instance + 1 != offsets.length - 1)
                throw new IllegalStateException("chunk at " + first + " got " + (instance + 1) + " of " + (offsets.length - 1) + " instances");
            offsets[offsets.length - 1] = payload.position();
            int n = offsets.length - 1;
            ByteBuffer all = ByteBuffer.allocate(LogitsCache.HEADER + 8 * (n + 1) + payload.position() + 8)
                    .order(ByteOrder.LITTLE_ENDIAN);
            all.put(LogitsCache.MAGIC).putLong(first).putInt(n).putInt(0);
            for (long o : offsets) all.putLong(o);
            all.put(payload.array(), 0, payload.position());
            CRC32 crc = new CRC32();
            crc.update(all.array(), LogitsCache.HEADER, all.position() - LogitsCache.HEADER);
            all.putLong(crc.getValue());
            return all.array();
        }
    }
}
