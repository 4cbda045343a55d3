/*
 * What a score file is about: which corpus (its checksum and instance count), which tokenizer, which model, and
 * which instances [start, end) of the corpus it holds (slice shardIndex of shardCount). Two score files can be
 * compared or merged only when their corpus and tokenizer agree, and that check lives here, once.
 * columnsCrc32 is the CRC-32 of the column bytes; it is null in the manifest of a run that is still going.
 * data is the path of the scored data set as given (informational; identity is the checksum).
 * precision is the linear layers' GEMM input precision the scores were computed with ("fp32", or "bf16" on an
 * OpenCL device): a run resumes, and shards merge, only at one precision. Files written before it existed read as fp32.
 */
package kd4j.distill.score;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kd4j.data.Shard;

public record ScoreManifest(
        String format,
        int version,
        String corpusChecksum,
        long corpusInstances,
        String tokenizerFingerprint,
        String modelId,
        int eosId,
        int padId,
        String precision,
        int shardIndex,
        int shardCount,
        long start,
        long end,
        String columnsCrc32,
        String data) {

    public static final String FORMAT = "kd4j-scores";
    public static final int VERSION = 1;

    public ScoreManifest {
        if (precision == null) precision = "fp32";               // a file written before precision was recorded
    }

    /** The manifest of a new scoring run of model over shard of a corpus (no checksum yet). */
    public static ScoreManifest of(String corpusChecksum, long corpusInstances, String tokenizerFingerprint,
                                   String modelId, int eosId, int padId, Shard shard) {
        return new ScoreManifest(FORMAT, VERSION, corpusChecksum, corpusInstances, tokenizerFingerprint, modelId,
                eosId, padId, "fp32", shard.index(), shard.count(), shard.start(corpusInstances), shard.end(corpusInstances),
                null, null);
    }

    public long instances() { return end - start; }

    public ScoreManifest withColumnsCrc32(String crc) {
        return new ScoreManifest(format, version, corpusChecksum, corpusInstances, tokenizerFingerprint, modelId,
                eosId, padId, precision, shardIndex, shardCount, start, end, crc, data);
    }

    /** The same manifest recording where the scored data set lives (informational: select reads it by default). */
    public ScoreManifest withData(String dataPath) {
        return new ScoreManifest(format, version, corpusChecksum, corpusInstances, tokenizerFingerprint, modelId,
                eosId, padId, precision, shardIndex, shardCount, start, end, columnsCrc32, dataPath);
    }

    /** The same manifest for scores computed at precision ("fp32" or "bf16"). */
    public ScoreManifest withPrecision(String precision) {
        return new ScoreManifest(format, version, corpusChecksum, corpusInstances, tokenizerFingerprint, modelId,
                eosId, padId, precision, shardIndex, shardCount, start, end, columnsCrc32, data);
    }

    public ScoreManifest withRange(int shardIndex, int shardCount, long start, long end) {
        return new ScoreManifest(format, version, corpusChecksum, corpusInstances, tokenizerFingerprint, modelId,
                eosId, padId, precision, shardIndex, shardCount, start, end, null, data);
    }

    /** True when both describe the same run (everything but the column checksum agrees). */
    public boolean sameRun(ScoreManifest o) {
        return withColumnsCrc32(null).withData(null).equals(o.withColumnsCrc32(null).withData(null));
    }

    /** Human-readable differences between this run and another, e.g. "model: 'a' vs 'b'"; empty when sameRun. */
    public List<String> differences(ScoreManifest o) {
        List<String> d = new ArrayList<>();
        corpusDifferences(o, d);
        if (!modelId.equals(o.modelId)) d.add("model: '" + modelId + "' vs '" + o.modelId + "'");
        if (!precision.equals(o.precision)) d.add("precision: " + precision + " vs " + o.precision);
        if (shardIndex != o.shardIndex || shardCount != o.shardCount)
            d.add("shard: " + shardIndex + "/" + shardCount + " vs " + o.shardIndex + "/" + o.shardCount);
        if (start != o.start || end != o.end)
            d.add("instances: [" + start + ", " + end + ") vs [" + o.start + ", " + o.end + ")");
        return d;
    }

    private void corpusDifferences(ScoreManifest o, List<String> d) {
        if (!corpusChecksum.equals(o.corpusChecksum))
            d.add("corpus checksum: " + corpusChecksum + " vs " + o.corpusChecksum);
        if (corpusInstances != o.corpusInstances)
            d.add("corpus instances: " + corpusInstances + " vs " + o.corpusInstances);
        if (!tokenizerFingerprint.equals(o.tokenizerFingerprint))
            d.add("tokenizer: " + tokenizerFingerprint + " vs " + o.tokenizerFingerprint);
        if (eosId != o.eosId || padId != o.padId)
            d.add("eos/pad ids: " + eosId + "/" + padId + " vs " + o.eosId + "/" + o.padId);
    }

    /**
     * Refuses a pair of score files from different corpora or tokenizers: their scores are of different
     * instances and cannot be subtracted or merged.
     */
    public void requireSameCorpus(Path self, ScoreManifest other, Path otherPath) throws ScoreFileException {
        List<String> d = new ArrayList<>();
        corpusDifferences(other, d);
        if (!d.isEmpty())
            throw new ScoreFileException(self + " and " + otherPath + " score different corpora or tokenizers ("
                    + String.join("; ", d) + "). Score both with the same prepared data set.");
    }
}
