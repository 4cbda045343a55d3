/*
 * The `kd4j prepare` job: corpus files → tokenized document shards → packed instances + manifest.
 *
 * Stage 1 reads documents in order, groups them into shards (a fixed number of documents or characters, so
 * shard boundaries depend only on the input), tokenizes each shard on all cores and writes it atomically. A
 * shard already on disk is skipped, so a killed run resumes where it stopped; prepare-plan.json records the
 * inputs and tokenizer so a resume never mixes two corpora. Stage 2 splits documents into train/validation by
 * a hash of (file name, id, seed) and packs each split's documents with InstanceBuilder (MiniPLM's rule); it
 * is cheap and always rerun, so --seq, --val-fraction and --format can change without re-tokenizing.
 * manifest.json is written last: its presence marks a finished data set.
 */
package kd4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import kd4j.tokenizers.Tokenizer;

public final class Prepare {
    public enum Format { KD4J, MEGATRON }

    /**
     * @param inputs             files and folders (text, JSONL, .gz)
     * @param field              JSONL text field
     * @param seq                sequence length; instances hold seq + 1 tokens
     * @param validationFraction share of documents held out, in [0, 1)
     * @param threads            tokenizer threads (0: all cores)
     * @param documentsPerShard  shard size in documents; a shard also ends after charsPerShard characters
     */
    public record Options(List<Path> inputs, Path out, String field, int seq, double validationFraction, long splitSeed,
                          int threads, Format format, int documentsPerShard, long charsPerShard) {
        public Options {
            if (seq < 1) throw new IllegalArgumentException("--seq must be at least 1, got " + seq);
            if (!(validationFraction >= 0 && validationFraction < 1))
                throw new IllegalArgumentException("--val-fraction must be in [0, 1), got " + validationFraction);
            if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
            if (documentsPerShard < 1 || charsPerShard < 1)
                throw new IllegalArgumentException("shard size must be positive, got " + documentsPerShard + " documents / " + charsPerShard + " chars");
        }

        public static Options defaults(List<Path> inputs, Path out) {
            return new Options(inputs, out, "text", 256, 0.01, 1234, 0, Format.KD4J, 4096, 64L << 20);
        }

        public Options withSeq(int s) { return new Options(inputs, out, field, s, validationFraction, splitSeed, threads, format, documentsPerShard, charsPerShard); }
        public Options withValidation(double f) { return new Options(inputs, out, field, seq, f, splitSeed, threads, format, documentsPerShard, charsPerShard); }
        public Options withField(String f) { return new Options(inputs, out, f, seq, validationFraction, splitSeed, threads, format, documentsPerShard, charsPerShard); }
        public Options withThreads(int t) { return new Options(inputs, out, field, seq, validationFraction, splitSeed, t, format, documentsPerShard, charsPerShard); }
        public Options withFormat(Format f) { return new Options(inputs, out, field, seq, validationFraction, splitSeed, threads, f, documentsPerShard, charsPerShard); }
        public Options withShardSize(int docs, long chars) { return new Options(inputs, out, field, seq, validationFraction, splitSeed, threads, format, docs, chars); }
    }

    /** What a run did: the manifest written and how many shards were tokenized now or kept from a previous run. */
    public record Result(TokenDataset.Manifest manifest, int shardsTokenized, int shardsKept) {}

    private Prepare() {}

    static String shardName(int k) {
        return String.format(Locale.ROOT, "shards/docs-%05d.kd4j", k);
    }

    static String shardMetaName(int k) {
        return String.format(Locale.ROOT, "shards/docs-%05d.jsonl", k);
    }

    /** A fingerprint of the tokenizer's behaviour-defining tables: every token string, the vocabulary size, EOS, BOS. */
    public static String fingerprint(Tokenizer t) {
        var md = AtomicFiles.newSha256();
        md.update((t.vocabSize() + "|" + t.eosId() + "|" + t.bosId() + "|").getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < t.vocabSize(); i++) {
            String s = t.idToToken(i);
            md.update((s == null ? "\u0000null" : s).getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    /**
     * Why a shard left by an earlier run cannot be kept (null: it can): its size or SHA-256 differs from what the
     * earlier manifest recorded, or (with no manifest) it is not a readable shard of the expected documents.
     */
    private static String keptShardProblem(Path out, int k, int documents, Map<String, TokenDataset.FileEntry> promised) {
        Path p = out.resolve(shardName(k));
        try {
            TokenDataset.FileEntry f = promised.get(shardName(k));
            if (f != null) {
                if (Files.size(p) != f.bytes()) return "has " + Files.size(p) + " bytes, the earlier manifest says " + f.bytes();
                if (!AtomicFiles.sha256(p).equals(f.sha256())) return "its SHA-256 does not match the earlier manifest";
            }
            try (ShardReader r = ShardReader.open(p)) {
                if (r.size() != documents) return "holds " + r.size() + " documents, expected " + documents;
            }
            return null;
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /** Runs (or resumes) the job. log receives progress and warnings, one line each. */
    public static Result run(Options o, Tokenizer tokenizer, Consumer<String> log) throws IOException {
        if (tokenizer.eosId() < 0)
            throw new IllegalArgumentException("the tokenizer has no EOS token; instances need one to mark where documents end");
        Files.createDirectories(o.out().resolve("shards"));
        // The previous manifest's checksums vouch for the shards a rerun keeps; read them before it goes.
        Map<String, TokenDataset.FileEntry> promised = new java.util.HashMap<>();
        Path oldManifest = o.out().resolve(TokenDataset.MANIFEST);
        if (Files.isRegularFile(oldManifest)) {
            try {
                for (TokenDataset.FileEntry f : TokenDataset.readManifest(oldManifest).files()) promised.put(f.path(), f);
            } catch (IOException unreadable) {
                log.accept(oldManifest + ": unreadable (" + unreadable.getMessage() + "); kept shards are checked by structure only");
            }
        }
        Files.deleteIfExists(oldManifest);
        String fingerprint = fingerprint(tokenizer);
        checkPlan(o, fingerprint);

        // ---- stage 1: documents → token shards (resumable) ----
        int threads = o.threads() == 0 ? Runtime.getRuntime().availableProcessors() : o.threads();
        int tokenized = 0, kept = 0;
        List<String> inputs = new ArrayList<>();
        try (CorpusReader reader = new CorpusReader(o.inputs(), o.field(), log);
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (Path p : reader.files()) inputs.add(p.toString());
            List<Document> docs = new ArrayList<>();
            Document pendingDoc = reader.read();
            for (int k = 0; pendingDoc != null; k++) {
                docs.clear();
                long chars = 0;
                while (pendingDoc != null && docs.size() < o.documentsPerShard() && chars < o.charsPerShard()) {
                    docs.add(pendingDoc);
                    chars += pendingDoc.text().length();
                    pendingDoc = reader.read();
                }
                if (Files.isRegularFile(o.out().resolve(shardName(k)))) {
                    String bad = keptShardProblem(o.out(), k, docs.size(), promised);
                    if (bad == null) {
                        kept++;
                        continue;
                    }
                    log.accept("shard " + k + ": " + bad + "; tokenizing it again");
                    Files.delete(o.out().resolve(shardName(k)));
                }
                writeShard(o.out(), k, docs, tokenizer, pool);
                tokenized++;
                log.accept(String.format(Locale.ROOT, "shard %d: %,d documents tokenized (through document %,d)",
                        k, docs.size(), docs.getLast().ordinal() + 1));
            }
        }
        if (kept > 0) log.accept("kept " + kept + " shard(s) from an earlier run");
        return new Result(pack(o, tokenizer, fingerprint, inputs), tokenized, kept);
    }

    private static void checkPlan(Options o, String fingerprint) throws IOException {
        ObjectNode plan = TokenDataset.JSON.createObjectNode();
        plan.put("version", 1);
        var files = plan.putArray("inputs");
        for (Path p : CorpusReader.expand(o.inputs()))
            files.addObject().put("path", p.toAbsolutePath().normalize().toString()).put("bytes", Files.size(p))
                    .put("modified", Files.getLastModifiedTime(p).toMillis());
        plan.put("field", o.field());
        plan.put("tokenizer", fingerprint);
        plan.put("documentsPerShard", o.documentsPerShard());
        plan.put("charsPerShard", o.charsPerShard());
        String json = TokenDataset.JSON.writeValueAsString(plan);
        Path planPath = o.out().resolve("prepare-plan.json");
        if (Files.isRegularFile(planPath)) {
            String old = Files.readString(planPath);
            if (old.equals(json)) return;
            throw new IllegalStateException(o.out() + " holds an unfinished or finished prepare run with other inputs, field, tokenizer"
                    + " or shard size (see " + planPath + "); use a new --out or delete that folder");
        }
        AtomicFiles.write(planPath, json);
    }

    private static void writeShard(Path out, int k, List<Document> docs, Tokenizer tokenizer, ExecutorService pool) throws IOException {
        int n = docs.size();
        int[][] ids = new int[n][];
        int eos = tokenizer.eosId();
        List<Callable<Void>> tasks = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int d = i;
            tasks.add(() -> {
                int[] t = tokenizer.encode(docs.get(d).text());
                int[] withEos = java.util.Arrays.copyOf(t, t.length + 1);
                withEos[t.length] = eos;
                ids[d] = withEos;
                return null;
            });
        }
        try {
            for (Future<Void> f : pool.invokeAll(tasks)) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while tokenizing shard " + k, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IOException(e.getCause());
        }
        StringBuilder meta = new StringBuilder();
        for (Document d : docs) {
            ObjectNode line = TokenDataset.JSON.createObjectNode();
            line.put("ordinal", d.ordinal()).put("id", d.id()).put("source", d.source()).put("chars", d.text().length());
            meta.append(line.toString()).append('\n');
        }
        // Metadata first, tokens last: the token shard's presence is what marks the shard finished.
        AtomicFiles.write(out.resolve(shardMetaName(k)), meta.toString());
        ShardWriter w = new ShardWriter(out.resolve(shardName(k)), tokenizer.vocabSize());
        try {
            for (int[] t : ids) w.add(t);
            w.close();
        } catch (IOException | RuntimeException e) {
            w.abort();
            throw e;
        }
    }

    // ---- stage 2: split + pack + manifest ----

    private interface InstanceWriter extends InstanceBuilder.Sink, AutoCloseable {
        long sequences();
        @Override void close() throws IOException;
    }

    private static InstanceWriter instanceWriter(Options o, TokenDataset.Split split, int vocabSize) throws IOException {
        if (o.format() == Format.MEGATRON) {
            var w = MegatronIndexedDataset.create(o.out().resolve(split.label + "_0"), MegatronIndexedDataset.dtypeFor(vocabSize));
            return new InstanceWriter() {
                public void accept(int[] ids, int from, int length) throws IOException { w.add(ids, from, length); }
                public long sequences() { return w.sequences(); }
                public void close() throws IOException { w.close(); }
            };
        }
        var w = new ShardWriter(o.out().resolve("instances-" + split.label + ".kd4j"), vocabSize);
        return new InstanceWriter() {
            public void accept(int[] ids, int from, int length) throws IOException { w.add(ids, from, length); }
            public long sequences() { return w.sequences(); }
            public void close() throws IOException { w.close(); }
        };
    }

    private static TokenDataset.Manifest pack(Options o, Tokenizer tokenizer, String fingerprint, List<String> inputs) throws IOException {
        Path out = o.out();
        // Documents of every finished shard, in order.
        List<ShardReader> shards = new ArrayList<>();
        List<List<ObjectNode>> metas = new ArrayList<>();
        try {
            for (int k = 0; Files.isRegularFile(out.resolve(shardName(k))); k++) {
                ShardReader r = ShardReader.open(out.resolve(shardName(k)));
                shards.add(r);
                List<ObjectNode> meta = new ArrayList<>();
                Path mp = out.resolve(shardMetaName(k));
                long ln = 0;
                for (String line : Files.readAllLines(mp, StandardCharsets.UTF_8)) {
                    ln++;
                    if (!(TokenDataset.JSON.readTree(line) instanceof ObjectNode node))
                        throw DataFormatException.atLine(mp, ln, "expected a JSON object");
                    meta.add(node);
                }
                if (meta.size() != r.size())
                    throw DataFormatException.of(mp, meta.size() + " documents listed but " + shardName(k) + " holds " + r.size());
                metas.add(meta);
            }
            // Split by document: a hash of (file name, id, seed), so it is the same on every machine and run.
            int total = metas.stream().mapToInt(List::size).sum();
            boolean[] valid = new boolean[total];
            double best = 2;
            int bestIndex = -1, validCount = 0, d = 0;
            for (List<ObjectNode> meta : metas)
                for (ObjectNode m : meta) {
                    double u = splitHash(Path.of(m.get("source").asText()).getFileName().toString(), m.get("id").asText(), o.splitSeed());
                    valid[d] = u < o.validationFraction();
                    if (valid[d]) validCount++;
                    if (u < best) { best = u; bestIndex = d; }
                    d++;
                }
            // A positive fraction always holds out at least one document (when there are two or more).
            if (o.validationFraction() > 0 && validCount == 0 && total >= 2) valid[bestIndex] = true;

            InstanceBuilder.SentenceEnds ends = InstanceBuilder.SentenceEnds.of(tokenizer);
            int length = o.seq() + 1;
            long[] docTokens = new long[2], docCount = new long[2];
            long unpacked;
            TokenDataset.Counts[] counts = new TokenDataset.Counts[2];
            try (InstanceWriter trainOut = instanceWriter(o, TokenDataset.Split.TRAIN, tokenizer.vocabSize());
                 InstanceWriter validOut = instanceWriter(o, TokenDataset.Split.VALID, tokenizer.vocabSize());
                 BufferedWriter docs = Files.newBufferedWriter(AtomicFiles.tmpOf(out.resolve("documents.jsonl")), StandardCharsets.UTF_8)) {
                InstanceBuilder train = new InstanceBuilder(ends, length, tokenizer.bosId(), trainOut);
                InstanceBuilder validation = new InstanceBuilder(ends, length, tokenizer.bosId(), validOut);
                int[] tokens = new int[1 << 12];
                d = 0;
                for (int k = 0; k < shards.size(); k++) {
                    ShardReader r = shards.get(k);
                    for (int i = 0; i < r.size(); i++, d++) {
                        int n = r.length(i);
                        if (tokens.length < n) tokens = new int[Math.max(n, tokens.length * 2)];
                        r.read(i, tokens, 0);
                        int s = valid[d] ? 1 : 0;
                        (valid[d] ? validation : train).addDocument(tokens, 0, n);
                        docTokens[s] += n;
                        docCount[s]++;
                        ObjectNode m = metas.get(k).get(i);
                        ObjectNode line = TokenDataset.JSON.createObjectNode();
                        line.put("ordinal", m.get("ordinal").asLong()).put("id", m.get("id").asText())
                                .put("source", m.get("source").asText()).put("shard", k).put("index", i).put("tokens", n)
                                .put("split", valid[d] ? "valid" : "train");
                        docs.write(line.toString());
                        docs.write('\n');
                    }
                }
                unpacked = train.pending() + validation.pending() + train.tokensDropped() + validation.tokensDropped();
                counts[0] = new TokenDataset.Counts(docCount[0], docTokens[0], train.instances(), train.tokensWritten());
                counts[1] = new TokenDataset.Counts(docCount[1], docTokens[1], validation.instances(), validation.tokensWritten());
            }
            AtomicFiles.commit(out.resolve("documents.jsonl"));
            var trainCounts = counts[0];
            var validCounts = counts[1];

            List<TokenDataset.FileEntry> files = new ArrayList<>();
            for (int k = 0; k < shards.size(); k++) {
                files.add(entry(out, shardName(k), shards.get(k).size(), shards.get(k).totalTokens()));
                files.add(entry(out, shardMetaName(k), metas.get(k).size(), 0));
            }
            files.add(entry(out, "documents.jsonl", total, 0));
            for (var split : TokenDataset.Split.values()) {
                var c = split == TokenDataset.Split.TRAIN ? trainCounts : validCounts;
                if (o.format() == Format.MEGATRON) {
                    files.add(entry(out, split.label + "_0.bin", c.instances(), c.instanceTokens()));
                    files.add(entry(out, split.label + "_0.idx", c.instances(), 0));
                } else {
                    files.add(entry(out, "instances-" + split.label + ".kd4j", c.instances(), c.instanceTokens()));
                }
            }
            var totalCounts = new TokenDataset.Counts(trainCounts.documents() + validCounts.documents(),
                    trainCounts.documentTokens() + validCounts.documentTokens(),
                    trainCounts.instances() + validCounts.instances(), trainCounts.instanceTokens() + validCounts.instanceTokens());
            var manifest = new TokenDataset.Manifest("kd4j-tokens", 1,
                    new TokenDataset.TokenizerInfo(fingerprint, tokenizer.vocabSize(), tokenizer.eosId(), tokenizer.bosId()),
                    ShardWriter.tokenBytesFor(tokenizer.vocabSize()), o.field(), o.seq(), length,
                    o.format().name().toLowerCase(Locale.ROOT), o.validationFraction(), o.splitSeed(),
                    totalCounts, trainCounts, validCounts, unpacked, inputs, files);
            AtomicFiles.write(out.resolve(TokenDataset.MANIFEST), TokenDataset.JSON.writeValueAsBytes(manifest));
            return manifest;
        } finally {
            for (ShardReader r : shards) r.close();
        }
    }

    private static TokenDataset.FileEntry entry(Path out, String name, long sequences, long tokens) throws IOException {
        Path p = out.resolve(name);
        return new TokenDataset.FileEntry(name, Files.size(p), AtomicFiles.sha256(p), sequences, tokens);
    }

    /** A uniform number in [0, 1) from the document's file name, id and the seed (FNV-1a 64, then SplitMix64). */
    static double splitHash(String fileName, String id, long seed) {
        long h = 0xcbf29ce484222325L;
        for (byte b : (fileName + "\u0000" + id).getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        long z = (h ^ seed) + 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z ^= z >>> 31;
        return (z >>> 11) * 0x1.0p-53;
    }
}
