/*
 * An offline-KD logits cache on disk (`kd4j cache-logits`), read for training. A folder holds one manifest per
 * shard (manifest-<i>-of-<N>.json) and chunk files chunk-<first instance>.bin, written atomically:
 *   magic "KD4JLGC1" | i64 first instance | i32 instances | i32 reserved 0 | i64 offsets[instances + 1]
 *   | payload | i64 CRC-32 of offsets and payload.
 * The payload of one instance: i32 positions, then per position (the teacher's prediction of token t + 1):
 *   kept-id count (1 byte, 2 when more than 255 ids can be kept) | ids (idBytes each, little-endian, the fewest
 *   bytes that hold the vocabulary) | probabilities (IEEE fp16, or fp32) | left-out mass (same format).
 * Probabilities are the teacher's at tau = 1 over the full vocabulary (for a sampled cache: the weights count/n).
 * Readers map the chunks (no full load) and check them against the manifest; a cache from another teacher,
 * tokenizer or corpus is refused by requireMatches.
 */
package kd4j.distill.kd;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import kd4j.data.ChunkFiles;

public final class LogitsCache {
    static final byte[] MAGIC = "KD4JLGC1".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = 24;
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private record Chunk(Path file, long first, int instances, ByteBuffer data, long payloadStart) {}

    /** Chunks whose CRC was checked in this process: each is checked when a run first reads from it. */
    private final java.util.Set<Long> verified = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Path dir;
    private final LogitsCacheManifest manifest;     // of the whole cache: shard 0/1 over [0, corpusInstances)
    private final TreeMap<Long, Chunk> chunks;

    private LogitsCache(Path dir, LogitsCacheManifest manifest, TreeMap<Long, Chunk> chunks) {
        this.dir = dir;
        this.manifest = manifest;
        this.chunks = chunks;
    }

    public Path dir() { return dir; }

    /** The cache as a whole: its identity, with tokens and bytes summed over shards, covering every instance. */
    public LogitsCacheManifest manifest() { return manifest; }

    static String manifestName(int index, int count) { return "manifest-" + index + "-of-" + count + ".json"; }

    static String chunkName(long first) { return ChunkFiles.name(first); }

    /**
     * Opens a finished cache: every shard manifest must be complete and agree on everything but its range, and
     * the shards must tile the corpus's instances without gaps or overlaps.
     */
    public static LogitsCache open(Path dir) throws IOException {
        if (!Files.isDirectory(dir))
            throw new LogitsCacheException(dir + ": no such logits cache folder (make one with kd4j cache-logits)");
        List<LogitsCacheManifest> shards = new ArrayList<>();
        List<Path> names = new ArrayList<>();
        TreeMap<Long, Chunk> chunks = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.matches("manifest-\\d+-of-\\d+\\.json")) {
                    LogitsCacheManifest m;
                    try {
                        m = JSON.readValue(p.toFile(), LogitsCacheManifest.class);
                    } catch (IOException e) {
                        throw new LogitsCacheException(p + ": not a logits cache manifest (" + e.getMessage().lines().findFirst().orElse("") + ")");
                    }
                    if (!LogitsCacheManifest.FORMAT.equals(m.format()) || m.version() != LogitsCacheManifest.VERSION)
                        throw new LogitsCacheException(p + ": format " + m.format() + " v" + m.version() + ", expected "
                                + LogitsCacheManifest.FORMAT + " v" + LogitsCacheManifest.VERSION);
                    shards.add(m);
                    names.add(p);
                } else if (ChunkFiles.isChunk(n)) {
                    Chunk c = mapChunk(p);
                    chunks.put(c.first(), c);
                }
            }
        }
        if (shards.isEmpty())
            throw new LogitsCacheException(dir + ": no manifest-<i>-of-<N>.json (not a logits cache, or kd4j cache-logits has not started)");
        shards.sort((a, b) -> Long.compare(a.start(), b.start()));
        LogitsCacheManifest first = shards.get(0);
        long at = 0, tokens = 0, bytes = 0;
        for (int i = 0; i < shards.size(); i++) {
            LogitsCacheManifest m = shards.get(i);
            List<String> d = first.sameCacheDifferences(m);
            if (!d.isEmpty())
                throw new LogitsCacheException(dir + ": shards " + first.shardIndex() + "/" + first.shardCount() + " and "
                        + m.shardIndex() + "/" + m.shardCount() + " are from different runs (" + String.join("; ", d) + ")");
            if (!m.complete())
                throw new LogitsCacheException(dir + ": shard " + m.shardIndex() + "/" + m.shardCount() + " is unfinished; "
                        + "run kd4j cache-logits again with the same arguments to resume it");
            if (m.start() != at)
                throw new LogitsCacheException(dir + ": instances [" + at + ", " + m.start() + ") are in no shard "
                        + (m.start() > at ? "(a missing shard?)" : "(shards overlap)"));
            at = m.end();
            tokens += m.tokens();
            bytes += m.bytes();
        }
        if (at != first.corpusInstances())
            throw new LogitsCacheException(dir + ": instances [" + at + ", " + first.corpusInstances() + ") are in no shard (a missing shard?)");
        LogitsCacheManifest whole = new LogitsCacheManifest(first.format(), first.version(), first.corpusChecksum(),
                first.corpusInstances(), first.tokenizerFingerprint(), first.teacherId(), first.teacherParameters(),
                first.precision(), first.vocabSize(), first.idBytes(), first.probBits(), first.truncation(), first.topP(), first.topK(),
                first.sampled(), first.seed(), 0, 1, 0, first.corpusInstances(), true, tokens, bytes);
        long covered = 0;
        for (Chunk c : chunks.values()) {
            if (c.first() != covered)
                throw new LogitsCacheException(c.file() + ": starts at instance " + c.first() + ", expected " + covered
                        + " (a chunk is missing or extra)");
            covered += c.instances();
        }
        if (covered != whole.corpusInstances())
            throw new LogitsCacheException(dir + ": chunks cover " + covered + " instances, the manifests "
                    + whole.corpusInstances());
        return new LogitsCache(dir, whole, chunks);
    }

    private static Chunk mapChunk(Path p) throws IOException {
        ByteBuffer data;
        try (FileChannel ch = FileChannel.open(p)) {
            long size = ch.size();
            if (size < HEADER + 16)
                throw new LogitsCacheException(p + ": " + size + " bytes, too short for a chunk (truncated?)");
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            data = m.order(ByteOrder.LITTLE_ENDIAN);
        }
        byte[] magic = new byte[8];
        data.get(0, magic);
        if (!Arrays.equals(magic, MAGIC))
            throw new LogitsCacheException(p + ": bad magic (expected KD4JLGC1: not a kd4j logits chunk)");
        long first = data.getLong(8);
        int n = data.getInt(16);
        long payloadStart = HEADER + 8L * (n + 1);
        if (n < 1 || payloadStart + 8 > data.capacity())
            throw new LogitsCacheException(p + ": header says " + n + " instances, which does not fit its " + data.capacity() + " bytes");
        long previous = 0;
        for (int i = 0; i <= n; i++) {
            long off = data.getLong(HEADER + 8 * i);
            if (off < previous || payloadStart + off > data.capacity() - 8)
                throw new LogitsCacheException(p + ": offset of instance " + (first + i) + " is " + off + ", outside the payload (truncated?)");
            previous = off;
        }
        if (payloadStart + previous != data.capacity() - 8)
            throw new LogitsCacheException(p + ": payload ends at " + (payloadStart + previous) + ", the file at "
                    + (data.capacity() - 8) + " (truncated or padded)");
        return new Chunk(p, first, n, data, payloadStart);
    }

    /** A flipped byte must not be trained on: the CRC of a chunk is checked the first time it is read. */
    private void verifyOnce(Chunk c) throws LogitsCacheException {
        if (verified.contains(c.first())) return;
        ByteBuffer b = c.data();
        CRC32 crc = new CRC32();
        crc.update(b.slice(HEADER, b.capacity() - HEADER - 8));
        long stored = b.getLong(b.capacity() - 8);
        if (crc.getValue() != stored)
            throw new LogitsCacheException(c.file() + ": CRC-32 " + Long.toHexString(crc.getValue()) + " of its "
                    + (b.capacity() - HEADER - 8) + " bytes of offsets and payload does not match the stored "
                    + Long.toHexString(stored) + " (corrupt chunk)\n---> run the same kd4j cache-logits command again: "
                    + "it redoes chunks that fail their check");
        verified.add(c.first());
    }

    /** True when the chunk's CRC matches (reads every byte; the writer checks chunks before resuming). */
    static boolean crcMatches(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        if (all.length < HEADER + 16) return false;
        CRC32 crc = new CRC32();
        crc.update(all, HEADER, all.length - HEADER - 8);
        return crc.getValue() == ByteBuffer.wrap(all, all.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /**
     * Refuses this cache for a run on another corpus, tokenizer or teacher. teacherId may be null (not checked:
     * offline KD needs no teacher), and so may corpus and tokenizer when the run has none.
     */
    public void requireMatches(String corpusChecksum, long corpusInstances, String tokenizerFingerprint, String teacherId)
            throws LogitsCacheException {
        List<String> d = new ArrayList<>();
        if (corpusChecksum != null && !corpusChecksum.equals(manifest.corpusChecksum()))
            d.add("corpus checksum " + manifest.corpusChecksum() + ", the training data's is " + corpusChecksum);
        if (corpusInstances >= 0 && corpusInstances != manifest.corpusInstances())
            d.add(manifest.corpusInstances() + " instances, the training data has " + corpusInstances);
        if (tokenizerFingerprint != null && !tokenizerFingerprint.equals(manifest.tokenizerFingerprint()))
            d.add("tokenizer " + manifest.tokenizerFingerprint() + ", the training data's is " + tokenizerFingerprint);
        if (teacherId != null && !teacherId.equals(manifest.teacherId()))
            d.add("teacher '" + manifest.teacherId() + "', this run names '" + teacherId + "'");
        if (!d.isEmpty())
            throw new LogitsCacheException(dir + ": this logits cache does not belong to this run: it was made with "
                    + String.join("; ", d) + ".\n---> make a cache for this data and teacher with kd4j cache-logits "
                    + "--model TEACHER --data DATA --out DIR");
    }

    /** One instance's cached positions, decoded into targets rows [row0, row0 + min(positions, maxRows)). */
    private int decode(long instance, SparseTargets into, int row0, int maxRows) throws LogitsCacheException {
        Map.Entry<Long, Chunk> e = chunks.floorEntry(instance);
        if (e == null || instance >= e.getValue().first() + e.getValue().instances() || instance < 0)
            throw new LogitsCacheException(dir + ": instance " + instance + " is not in the cache (it holds [0, "
                    + manifest.corpusInstances() + ")); was the cache made for another data set?");
        Chunk c = e.getValue();
        verifyOnce(c);
        ByteBuffer b = c.data();
        int i = (int) (instance - c.first());
        long at = c.payloadStart() + b.getLong(HEADER + 8 * i), end = c.payloadStart() + b.getLong(HEADER + 8 * (i + 1));
        int positions = b.getInt((int) at);
        int pos = (int) at + 4;
        int k = into.k(), idBytes = manifest.idBytes(), countBytes = manifest.countBytes();
        boolean half = manifest.probBits() == 16;
        int vocab = manifest.vocabSize();
        for (int t = 0; t < positions; t++) {
            if (pos + countBytes > end) throw truncated(c, instance, t);
            int count = countBytes == 1 ? b.get(pos) & 0xff : b.getShort(pos) & 0xffff;
            pos += countBytes;
            long need = (long) count * idBytes + (long) (count + 1) * (half ? 2 : 4);
            if (count > k || pos + need > end) throw truncated(c, instance, t);
            boolean keep = t < maxRows;
            int row = (row0 + t) * k;
            for (int j = 0; j < count; j++) {
                int id = 0;
                for (int q = 0; q < idBytes; q++) id |= (b.get(pos + q) & 0xff) << (8 * q);
                pos += idBytes;
                if (id >= vocab)
                    throw new LogitsCacheException(c.file() + ": instance " + instance + ", position " + t + ": id " + id
                            + " is outside the vocabulary [0, " + vocab + ") of the manifest (corrupt chunk)");
                if (keep) into.ids()[row + j] = id;
            }
            for (int j = 0; j <= count; j++) {
                float v = half ? Float.float16ToFloat(b.getShort(pos)) : b.getFloat(pos);
                pos += half ? 2 : 4;
                if (!keep) continue;
                if (j < count) into.probs()[row + j] = v;
                else into.leftOut()[row0 + t] = v;
            }
        }
        if (pos != end) throw truncated(c, instance, positions);
        return Math.min(positions, maxRows);
    }

    private LogitsCacheException truncated(Chunk c, long instance, int position) {
        return new LogitsCacheException(c.file() + ": instance " + instance + " is malformed at position " + position
                + " (its bytes do not match the manifest's layout: " + manifest.describeStorage() + ")");
    }

    /**
     * Targets for a batch: row b holds instance instances[b]'s positions 0..seqLength-1 (rows past its end are
     * empty, ids -1). K is the cache's maxKept().
     */
    public SparseTargets targets(long[] instances, int seqLength) {
        int k = manifest.maxKept();
        SparseTargets t = SparseTargets.empty(instances.length * seqLength, k, manifest.keepsSamples());
        try {
            for (int b = 0; b < instances.length; b++) decode(instances[b], t, b * seqLength, seqLength);
        } catch (LogitsCacheException e) {
            throw new java.io.UncheckedIOException(e);         // bad input (exit 3), named by the message
        }
        return t;
    }

    /** All cached positions of one instance (tests, inspection). */
    public SparseTargets instance(long instance) throws LogitsCacheException {
        Map.Entry<Long, Chunk> e = chunks.floorEntry(instance);
        int positions = e == null ? 0 : positionsOf(instance);
        SparseTargets t = SparseTargets.empty(positions, manifest.maxKept(), manifest.keepsSamples());
        decode(instance, t, 0, positions);
        return t;
    }

    private int positionsOf(long instance) {
        Map.Entry<Long, Chunk> e = chunks.floorEntry(instance);
        Chunk c = e.getValue();
        int i = (int) (instance - c.first());
        if (i < 0 || i >= c.instances()) return 0;
        return c.data().getInt((int) (c.payloadStart() + c.data().getLong(HEADER + 8 * i)));
    }
}
