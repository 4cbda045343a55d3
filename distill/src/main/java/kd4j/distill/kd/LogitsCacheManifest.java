/*
 * What a logits cache holds: which corpus (checksum, instance count), tokenizer, teacher (ModelId and parameter
 * count), how each token was truncated and stored, and which instances [start, end) this shard covers (slice
 * shardIndex of shardCount, as kd4j score's Shard). A cache is used for training only when corpus, tokenizer and
 * vocabulary agree with the run, and shards are joined only when everything but the range agrees: those checks
 * live here, once. complete, tokens and bytes are filled in when the shard is finished.
 * precision: the teacher's linear layers' GEMM input precision ("fp32", or "bf16" on an OpenCL device); shards of one
 * cache share it. A manifest written before it existed reads as fp32.
 */
package kd4j.distill.kd;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import kd4j.data.Shard;

public record LogitsCacheManifest(
        String format,
        int version,
        String corpusChecksum,
        long corpusInstances,
        String tokenizerFingerprint,
        String teacherId,
        long teacherParameters,
        String precision,
        int vocabSize,
        int idBytes,
        int probBits,
        String truncation,
        double topP,
        int topK,
        int sampled,
        long seed,
        int shardIndex,
        int shardCount,
        long start,
        long end,
        boolean complete,
        long tokens,
        long bytes) {

    public LogitsCacheManifest {
        if (precision == null) precision = "fp32";               // a manifest written before precision was recorded
    }

    public static final String FORMAT = "kd4j-logits";
    public static final int VERSION = 1;

    /** The manifest of a new cache run (not complete). */
    public static LogitsCacheManifest of(String corpusChecksum, long corpusInstances, String tokenizerFingerprint,
                                         String teacherId, long teacherParameters, int vocabSize,
                                         TopPkLogits.Truncation truncation, int probBits, long seed, Shard shard) {
        if (probBits != 16 && probBits != 32)
            throw new IllegalArgumentException("--prob-bits must be 16 or 32, got " + probBits);
        String kind;
        double p = 1;
        int k, sampled = 0;
        switch (truncation) {
            case TopPkLogits.Truncation.TopK t -> { kind = "top-k"; k = t.k(); }
            case TopPkLogits.Truncation.TopPK t -> { kind = "top-p-k"; p = t.p(); k = t.k(); }
            case TopPkLogits.Truncation.Sampled s -> { kind = "sampled"; k = s.n(); sampled = s.n(); }
        }
        return new LogitsCacheManifest(FORMAT, VERSION, corpusChecksum, corpusInstances, tokenizerFingerprint,
                teacherId, teacherParameters, "fp32", vocabSize, idBytes(vocabSize), probBits, kind, p, k, sampled, seed,
                shard.index(), shard.count(), shard.start(corpusInstances), shard.end(corpusInstances), false, 0, 0);
    }

    /** Bytes per id: the fewest that hold vocabSize - 1. */
    public static int idBytes(int vocabSize) {
        int bytes = 1;
        while (bytes < 4 && (vocabSize - 1) >>> (8 * bytes) != 0) bytes++;
        return bytes;
    }

    /** Bytes of the per-token kept-id count (1 when at most 255 ids are kept). */
    public int countBytes() { return maxKept() <= 255 ? 1 : 2; }

    /** The most ids one token keeps. */
    public int maxKept() { return Math.min(topK, vocabSize); }

    public boolean keepsSamples() { return "sampled".equals(truncation); }

    public TopPkLogits.Truncation truncationSpec() {
        return switch (truncation) {
            case "top-k" -> new TopPkLogits.Truncation.TopK(topK);
            case "top-p-k" -> new TopPkLogits.Truncation.TopPK(topP, topK);
            case "sampled" -> new TopPkLogits.Truncation.Sampled(sampled);
            default -> throw new IllegalArgumentException("unknown truncation '" + truncation + "'");
        };
    }

    public long instances() { return end - start; }

    public LogitsCacheManifest completed(long tokens, long bytes) {
        return new LogitsCacheManifest(format, version, corpusChecksum, corpusInstances, tokenizerFingerprint, teacherId,
                teacherParameters, precision, vocabSize, idBytes, probBits, truncation, topP, topK, sampled, seed, shardIndex,
                shardCount, start, end, true, tokens, bytes);
    }

    /** The same manifest for a teacher run at precision ("fp32" or "bf16"). */
    public LogitsCacheManifest withPrecision(String precision) {
        return new LogitsCacheManifest(format, version, corpusChecksum, corpusInstances, tokenizerFingerprint, teacherId,
                teacherParameters, precision, vocabSize, idBytes, probBits, truncation, topP, topK, sampled, seed, shardIndex,
                shardCount, start, end, complete, tokens, bytes);
    }

    /** Average stored bytes per token (ids, probabilities, count and left-out mass; headers excluded). */
    public double bytesPerToken() { return tokens == 0 ? 0 : (double) bytes / tokens; }

    /** "top-p-k (p 0.95, k 50), 16-bit probabilities, 3-byte ids". */
    public String describeStorage() {
        String how = switch (truncation) {
            case "top-p-k" -> "top-p-k (p " + topP + ", k " + topK + ")";
            case "top-k" -> "top-k (k " + topK + ")";
            default -> "sampled (" + sampled + " draws, seed " + seed + ")";
        };
        return how + ", " + probBits + "-bit probabilities, " + idBytes + "-byte ids";
    }

    /** True when both describe the same cache run (everything but completion figures agrees). */
    public boolean sameRun(LogitsCacheManifest o) {
        return differences(o).isEmpty();
    }

    /** Human-readable differences, e.g. "teacher: 'a' vs 'b'"; empty when both describe the same run. */
    public List<String> differences(LogitsCacheManifest o) {
        List<String> d = sameCacheDifferences(o);
        if (shardIndex != o.shardIndex || shardCount != o.shardCount)
            d.add("shard: " + shardIndex + "/" + shardCount + " vs " + o.shardIndex + "/" + o.shardCount);
        if (start != o.start || end != o.end) d.add("instances: [" + start + ", " + end + ") vs [" + o.start + ", " + o.end + ")");
        return d;
    }

    /** Differences that keep two shards from being parts of one cache (everything but the range). */
    public List<String> sameCacheDifferences(LogitsCacheManifest o) {
        List<String> d = new ArrayList<>();
        if (!Objects.equals(format, o.format) || version != o.version)
            d.add("format: " + format + " v" + version + " vs " + o.format + " v" + o.version);
        if (!Objects.equals(corpusChecksum, o.corpusChecksum)) d.add("corpus checksum: " + corpusChecksum + " vs " + o.corpusChecksum);
        if (corpusInstances != o.corpusInstances) d.add("corpus instances: " + corpusInstances + " vs " + o.corpusInstances);
        if (!Objects.equals(tokenizerFingerprint, o.tokenizerFingerprint))
            d.add("tokenizer: " + tokenizerFingerprint + " vs " + o.tokenizerFingerprint);
        if (!Objects.equals(teacherId, o.teacherId)) d.add("teacher: '" + teacherId + "' vs '" + o.teacherId + "'");
        if (!Objects.equals(precision, o.precision)) d.add("precision: " + precision + " vs " + o.precision);
        if (vocabSize != o.vocabSize) d.add("vocabulary: " + vocabSize + " vs " + o.vocabSize);
        if (!describeStorage().equals(o.describeStorage())) d.add("storage: " + describeStorage() + " vs " + o.describeStorage());
        return d;
    }
}
