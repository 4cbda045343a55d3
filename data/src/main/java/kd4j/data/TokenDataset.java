/*
 * A prepared token data set on disk, as `kd4j prepare` writes it, or a bare Megatron .bin/.idx pair (as MiniPLM
 * releases its Pile corpora). The prepared directory holds:
 *   manifest.json                 counts, tokenizer fingerprint, options, every data file with its SHA-256
 *   shards/docs-NNNNN.kd4j        documents' tokens (EOS appended), packed uint16/uint32 (ShardWriter)
 *   shards/docs-NNNNN.jsonl       per document of that shard: id, source, chars
 *   documents.jsonl               every document: ordinal, id, source, shard, index in shard, tokens, split
 *   instances-{train,valid}.kd4j  or  {train,valid}_0.bin/.idx: the packed instances (InstanceBuilder)
 * The split is by document (no document contributes to both) and depends only on the document's file name, id
 * and the split seed, never on thread timing or input order.
 */
package kd4j.data;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

public final class TokenDataset implements AutoCloseable {
    public static final String MANIFEST = "manifest.json";
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public enum Split {
        TRAIN("train"), VALID("valid");
        public final String label;

        Split(String label) {
            this.label = label;
        }
    }

    /** One data file of the set, with its checksum. sequences/tokens are set for token files. */
    public record FileEntry(String path, long bytes, String sha256, long sequences, long tokens) {}

    public record TokenizerInfo(String fingerprint, int vocabSize, int eosId, int bosId) {}

    public record Counts(long documents, long documentTokens, long instances, long instanceTokens) {}

    /** manifest.json. instanceFormat is "kd4j" or "megatron". */
    public record Manifest(String format, int version, TokenizerInfo tokenizer, int tokenBytes, String field,
                           int seq, int instanceLength, String instanceFormat, double validationFraction, long splitSeed,
                           Counts total, Counts train, Counts valid, long unpackedTokens, List<String> inputs,
                           List<FileEntry> files) {
        public Counts counts(Split split) {
            return split == Split.TRAIN ? train : valid;
        }
    }

    /** One line of documents.jsonl. tokens counts the appended EOS. */
    public record DocumentEntry(long ordinal, String id, String source, int shard, long index, int tokens, String split) {}

    private final Path dir;
    private final Manifest manifest;
    private final Path megatronPrefix;
    private final Map<Split, TokenSequences> instances = new EnumMap<>(Split.class);
    private List<DocumentEntry> documents;
    private final List<ShardReader> shards = new ArrayList<>();

    private TokenDataset(Path dir, Manifest manifest, Path megatronPrefix) {
        this.dir = dir;
        this.manifest = manifest;
        this.megatronPrefix = megatronPrefix;
    }

    /** Opens a prepared directory, or a Megatron dataset given as its prefix, .bin or .idx path. */
    public static TokenDataset open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path m = path.resolve(MANIFEST);
            if (!Files.isRegularFile(m))
                throw DataFormatException.of(path, "not a prepared data set: no " + MANIFEST
                        + (Files.exists(path.resolve("prepare-plan.json")) ? " (kd4j prepare did not finish; run it again to resume)" : " (run kd4j prepare)"));
            TokenDataset set = new TokenDataset(path, readManifest(m), null);
            set.checkSizes();
            return set;
        }
        Path prefix = MegatronIndexedDataset.prefixOf(path);
        if (Files.isRegularFile(prefix.resolveSibling(prefix.getFileName() + ".idx")))
            return new TokenDataset(prefix.getParent(), null, prefix);
        throw DataFormatException.of(path, "not found (expected a prepared directory or a Megatron .bin/.idx pair)");
    }

    static Manifest readManifest(Path m) throws IOException {
        try {
            Manifest manifest = JSON.readValue(m.toFile(), Manifest.class);
            if (!"kd4j-tokens".equals(manifest.format()))
                throw DataFormatException.of(m, "\"format\" is " + manifest.format() + ", expected \"kd4j-tokens\"");
            return manifest;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw DataFormatException.of(m, "unreadable manifest: " + e.getOriginalMessage());
        }
    }

    /** The manifest; empty for a bare Megatron dataset. */
    public Optional<Manifest> manifest() {
        return Optional.ofNullable(manifest);
    }

    public Path directory() {
        return dir;
    }

    /** The packed instances of a split (a bare Megatron dataset has only TRAIN). */
    public synchronized TokenSequences instances(Split split) throws IOException {
        TokenSequences s = instances.get(split);
        if (s != null) return s;
        if (manifest == null) {
            if (split != Split.TRAIN)
                throw DataFormatException.of(megatronPrefix, "a bare Megatron dataset has no " + split.label + " split; prepare one with kd4j prepare");
            s = MegatronIndexedDataset.open(megatronPrefix);
        } else if (manifest.instanceFormat().equals("megatron")) {
            verifyChecksum(split.label + "_0.bin");
            verifyChecksum(split.label + "_0.idx");
            s = MegatronIndexedDataset.open(dir.resolve(split.label + "_0"));
        } else {
            verifyChecksum("instances-" + split.label + ".kd4j");
            s = ShardReader.open(dir.resolve("instances-" + split.label + ".kd4j"));
        }
        try {
            if (idLimit > 0) s.requireIdsBelow(idLimit, idOwner);
        } catch (DataFormatException e) {
            s.close();
            throw e;
        }
        instances.put(split, s);
        return s;
    }

    /** Tokens per instance (seq + 1); for a bare Megatron dataset, its longest sequence. */
    public int instanceLength() throws IOException {
        if (manifest != null) return manifest.instanceLength();
        TokenSequences s = instances(Split.TRAIN);
        int max = 0;
        for (long i = 0; i < s.size(); i++) max = Math.max(max, s.length(i));
        return max;
    }

    /** Every document in reading order (empty for a bare Megatron dataset). */
    public synchronized List<DocumentEntry> documents() throws IOException {
        if (documents != null) return documents;
        List<DocumentEntry> out = new ArrayList<>();
        if (manifest != null) {
            Path p = dir.resolve("documents.jsonl");
            verifyChecksum("documents.jsonl");
            try (BufferedReader r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
                String line;
                long n = 0;
                while ((line = r.readLine()) != null) {
                    n++;
                    try {
                        out.add(JSON.readValue(line, DocumentEntry.class));
                    } catch (com.fasterxml.jackson.core.JacksonException e) {
                        throw DataFormatException.atLine(p, n, "not a document entry: " + e.getOriginalMessage());
                    }
                }
            }
        }
        documents = List.copyOf(out);
        return documents;
    }

    /** The documents of one split. */
    public List<DocumentEntry> documents(Split split) throws IOException {
        return documents().stream().filter(d -> d.split().equals(split.label)).toList();
    }

    /** A document's tokens, EOS last. */
    public int[] documentTokens(DocumentEntry d) throws IOException {
        ShardReader r = shard(d.shard());
        return r.get(d.index());
    }

    private synchronized ShardReader shard(int k) throws IOException {
        while (shards.size() <= k) shards.add(null);
        if (shards.get(k) == null) {
            verifyChecksum(Prepare.shardName(k));
            ShardReader r = ShardReader.open(dir.resolve(Prepare.shardName(k)));
            try {
                if (idLimit > 0) r.requireIdsBelow(idLimit, idOwner);
            } catch (DataFormatException e) {
                r.close();
                throw e;
            }
            shards.set(k, r);
        }
        return shards.get(k);
    }

    // ==== integrity: what the manifest promises ====

    private int idLimit;
    private String idOwner;
    private final java.util.Set<String> checksummed = new java.util.HashSet<>();

    /**
     * From now on every token file of this set, open or opened later, must hold ids in [0, vocab) (whose: the
     * model, for the message); each file is scanned once. A bare Megatron dataset is checked the same way.
     */
    public synchronized void requireIdsBelow(int vocab, String whose) throws IOException {
        idLimit = vocab;
        idOwner = whose;
        for (TokenSequences s : instances.values()) s.requireIdsBelow(vocab, whose);
        for (ShardReader r : shards) if (r != null) r.requireIdsBelow(vocab, whose);
    }

    /** Every file the manifest lists must exist with its recorded size (a stat per file, at open). */
    private void checkSizes() throws IOException {
        for (FileEntry f : manifest.files()) {
            Path p = dir.resolve(f.path());
            if (!Files.isRegularFile(p))
                throw DataFormatException.of(p, "missing (listed in " + MANIFEST + "); run kd4j prepare again to redo it");
            long size = Files.size(p);
            if (size != f.bytes())
                throw DataFormatException.atByte(p, Math.min(size, f.bytes()), "has " + size + " bytes, " + MANIFEST
                        + " says " + f.bytes() + " (truncated or changed after prepare); run kd4j prepare again to redo it");
        }
    }

    /**
     * The SHA-256 of a listed file against the manifest, the first time this set opens the file (a flipped byte
     * must not be trained on or scored). Files the manifest does not list are not checked.
     */
    private void verifyChecksum(String relative) throws IOException {
        if (manifest == null || !checksummed.add(relative)) return;
        for (FileEntry f : manifest.files()) {
            if (!f.path().equals(relative)) continue;
            Path p = dir.resolve(f.path());
            String sha = AtomicFiles.sha256(p);
            if (!sha.equals(f.sha256())) {
                checksummed.remove(relative);
                throw DataFormatException.of(p, "SHA-256 " + sha + " does not match " + MANIFEST + " (" + f.sha256()
                        + "): the file is corrupt or changed after prepare; run kd4j prepare again to redo it");
            }
        }
    }

    /** Recomputes every file's size and SHA-256 against the manifest; throws on the first mismatch. */
    public void verify() throws IOException {
        if (manifest == null) return;
        for (FileEntry f : manifest.files()) {
            Path p = dir.resolve(f.path());
            if (!Files.isRegularFile(p)) throw DataFormatException.of(p, "missing (listed in " + MANIFEST + ")");
            if (Files.size(p) != f.bytes())
                throw DataFormatException.of(p, "has " + Files.size(p) + " bytes, " + MANIFEST + " says " + f.bytes());
            String sha = AtomicFiles.sha256(p);
            if (!sha.equals(f.sha256()))
                throw DataFormatException.of(p, "SHA-256 " + sha + " does not match " + MANIFEST + " (" + f.sha256() + "); the file changed after prepare");
        }
    }

    @Override
    public synchronized void close() {
        instances.values().forEach(TokenSequences::close);
        instances.clear();
        for (ShardReader r : shards) if (r != null) r.close();
        shards.clear();
    }
}
