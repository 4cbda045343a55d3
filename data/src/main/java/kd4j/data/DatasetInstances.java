/*
 * The training instances of a prepared data set (`kd4j prepare`, kd4j or Megatron layout) or of a bare Megatron
 * .bin/.idx corpus (MiniPLM's released format), as TokenSequences for scoring. Its identity for score files:
 * the SHA-256 of the instance files (from the manifest, or computed for a bare corpus) and the tokenizer
 * fingerprint. EOS doubles as padding, as in MiniPLM. A bare Megatron corpus records no tokenizer, so one must
 * be given.
 */
package kd4j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import kd4j.tokenizers.Tokenizer;

public final class DatasetInstances implements TokenSequences {
    private final TokenDataset dataset;
    private final TokenSequences instances;
    private final int eosId;
    private final int bosId;
    private final String checksum;
    private final String fingerprint;

    private DatasetInstances(TokenDataset dataset, TokenSequences instances, int eosId, int bosId, String checksum,
                             String fingerprint) {
        this.dataset = dataset;
        this.instances = instances;
        this.eosId = eosId;
        this.bosId = bosId;
        this.checksum = checksum;
        this.fingerprint = fingerprint;
    }

    /**
     * Opens the train split of data (a prepared directory, or a Megatron prefix/.bin/.idx). tokenizer may be
     * null for a prepared directory (its manifest names one) and is required for a bare Megatron corpus.
     */
    public static DatasetInstances open(Path data, Tokenizer tokenizer) throws IOException {
        TokenDataset ds = TokenDataset.open(data);
        try {
            TokenSequences seq = ds.instances(TokenDataset.Split.TRAIN);
            var manifest = ds.manifest();
            if (manifest.isPresent()) {
                var m = manifest.get();
                StringBuilder files = new StringBuilder();
                for (var f : m.files())
                    if (f.path().startsWith("instances-train") || f.path().startsWith("train_0"))
                        files.append(f.path()).append('=').append(f.sha256()).append('\n');
                if (tokenizer != null && !Prepare.fingerprint(tokenizer).equals(m.tokenizer().fingerprint()))
                    throw DataFormatException.of(data, "prepared with another tokenizer than the one given "
                            + "(fingerprint " + m.tokenizer().fingerprint() + ")");
                return new DatasetInstances(ds, seq, m.tokenizer().eosId(), m.tokenizer().bosId(),
                        AtomicFiles.sha256(files.toString().getBytes(StandardCharsets.UTF_8)),
                        m.tokenizer().fingerprint());
            }
            if (tokenizer == null)
                throw DataFormatException.of(data, "a bare Megatron corpus records no tokenizer; pass --tokenizer "
                        + "DIR (the one it was tokenized with) so EOS and the fingerprint are known");
            MegatronIndexedDataset mm = (MegatronIndexedDataset) seq;
            String sum = AtomicFiles.sha256((AtomicFiles.sha256(mm.path()) + "\n" + AtomicFiles.sha256(mm.indexPath()))
                    .getBytes(StandardCharsets.UTF_8));
            return new DatasetInstances(ds, seq, tokenizer.eosId(), tokenizer.bosId(), sum, Prepare.fingerprint(tokenizer));
        } catch (IOException | RuntimeException e) {
            ds.close();
            throw e;
        }
    }

    public TokenDataset dataset() { return dataset; }

    @Override
    public void requireIdsBelow(int vocab, String whose) throws IOException { dataset.requireIdsBelow(vocab, whose); }

    @Override public long size() { return instances.size(); }
    @Override public int length(long i) { return instances.length(i); }
    @Override public int read(long i, int[] dst, int dstOffset) { return instances.read(i, dst, dstOffset); }
    @Override public long totalTokens() { return instances.totalTokens(); }
    @Override public Path path() { return instances.path(); }
    @Override public int eosId() { return eosId; }
    @Override public int padId() { return eosId; }
    @Override public String corpusChecksum() { return checksum; }
    @Override public String tokenizerFingerprint() { return fingerprint; }

    /**
     * The source file of the document each train instance starts in (for the selection report's kept share per
     * source), or "unknown" (see instanceDocuments).
     */
    public List<String> instanceSources() throws IOException {
        List<String> out = new ArrayList<>((int) size());
        for (TokenDataset.DocumentEntry d : instanceDocuments())
            out.add(d == null ? "unknown" : Path.of(d.source()).getFileName().toString());
        return out;
    }

    /**
     * The document each train instance starts in, or null when unknown. Instances are packed from the train
     * documents in order (InstanceBuilder), so each instance, less a leading BOS, is a contiguous run of the
     * stream of train documents, starting at or after the end of the previous one: packing drops a one-token
     * chunk now and then, and more after MiniPLM's per-document chunk limit. Each instance is located by matching
     * all of its tokens against the stream from where the previous one ended; an instance found nowhere after
     * that point (a data set not packed from these documents) leaves it and every later one null.
     */
    public List<TokenDataset.DocumentEntry> instanceDocuments() throws IOException {
        List<TokenDataset.DocumentEntry> out = new ArrayList<>((int) size());
        DocumentStream stream = new DocumentStream(dataset, dataset.documents(TokenDataset.Split.TRAIN));
        long at = 0;                 // stream offset where the previous instance ended
        boolean lost = false;
        for (long i = 0; i < size(); i++) {
            int[] inst = get(i);
            int skip = bosId >= 0 && inst.length > 0 && inst[0] == bosId ? 1 : 0;
            long start = lost || inst.length <= skip ? -1 : stream.find(inst, skip, at);
            if (start < 0) lost = true;
            out.add(lost ? null : stream.documentAt(start));
            if (!lost) at = start + inst.length - skip;
        }
        return out;
    }

    /**
     * The concatenated tokens of a list of documents, read forward: documents before the earliest offset still
     * asked for are released, so memory holds only the documents an instance spans.
     */
    private static final class DocumentStream {
        private final TokenDataset dataset;
        private final List<TokenDataset.DocumentEntry> docs;
        private final long[] starts;            // stream offset of each document's first token; starts[n] = length
        private final ArrayDeque<int[]> loaded = new ArrayDeque<>();
        private int firstLoaded;                // index of loaded's first document

        DocumentStream(TokenDataset dataset, List<TokenDataset.DocumentEntry> docs) {
            this.dataset = dataset;
            this.docs = docs;
            starts = new long[docs.size() + 1];
            for (int d = 0; d < docs.size(); d++) starts[d + 1] = starts[d] + docs.get(d).tokens();
        }

        long length() { return starts[docs.size()]; }

        /** The smallest offset p >= from where inst[skip..] equals the stream's tokens, or -1. */
        long find(int[] inst, int skip, long from) throws IOException {
            int n = inst.length - skip;
            for (long p = from; p + n <= length(); p++) {
                release(p);
                if (tokenAt(p) != inst[skip]) continue;
                int k = 1;
                while (k < n && tokenAt(p + k) == inst[skip + k]) k++;
                if (k == n) return p;
            }
            return -1;
        }

        TokenDataset.DocumentEntry documentAt(long p) { return docs.get(documentIndex(p)); }

        private int documentIndex(long p) {
            int d = Arrays.binarySearch(starts, p);
            if (d < 0) return -d - 2;
            while (d + 1 < docs.size() && starts[d + 1] == p) d++;   // skip empty documents
            return Math.min(d, docs.size() - 1);
        }

        private int tokenAt(long p) throws IOException {
            int d = documentIndex(p);
            while (firstLoaded + loaded.size() <= d) {
                TokenDataset.DocumentEntry e = docs.get(firstLoaded + loaded.size());
                int[] tokens = dataset.documentTokens(e);
                if (tokens.length != e.tokens())
                    throw DataFormatException.of(dataset.directory(), "document " + e.ordinal() + " (" + e.id() + ") has "
                            + tokens.length + " tokens in shard " + e.shard() + ", its documents.jsonl entry says " + e.tokens());
                loaded.addLast(tokens);
            }
            int k = 0;
            for (int[] tokens : loaded) {
                if (firstLoaded + k == d) return tokens[(int) (p - starts[d])];
                k++;
            }
            throw new IllegalStateException("document " + d + " was released before offset " + p);
        }

        private void release(long from) {
            int d = docs.isEmpty() ? 0 : documentIndex(Math.min(from, Math.max(0, length() - 1)));
            while (firstLoaded < d && !loaded.isEmpty()) {
                loaded.removeFirst();
                firstLoaded++;
            }
            if (loaded.isEmpty() && firstLoaded < d) firstLoaded = d;
        }
    }

    @Override
    public void close() { dataset.close(); }
}
