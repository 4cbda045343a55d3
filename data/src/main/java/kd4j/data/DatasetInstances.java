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
import java.util.ArrayList;
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
     * documents in order, so an instance's first token (after a BOS) is the next unread token of that stream; each
     * mapping is checked against the document's token and the mapping stops (null from there) if packing dropped
     * tokens in between.
     */
    public List<TokenDataset.DocumentEntry> instanceDocuments() throws IOException {
        List<TokenDataset.DocumentEntry> out = new ArrayList<>((int) size());
        var docs = dataset.documents(TokenDataset.Split.TRAIN);
        int d = 0;
        long docStart = 0;           // stream offset of docs[d]'s first token
        long at = 0;                 // stream offset of the next instance's first token
        int[] docTokens = docs.isEmpty() ? new int[0] : dataset.documentTokens(docs.get(0));
        boolean lost = docs.isEmpty();
        for (long i = 0; i < size(); i++) {
            int[] inst = get(i);
            int skip = bosId >= 0 && inst.length > 0 && inst[0] == bosId ? 1 : 0;
            if (!lost) {
                while (d < docs.size() && at >= docStart + docTokens.length) {
                    docStart += docTokens.length;
                    if (++d < docs.size()) docTokens = dataset.documentTokens(docs.get(d));
                }
                if (d >= docs.size() || inst.length <= skip || docTokens[(int) (at - docStart)] != inst[skip]) lost = true;
            }
            out.add(lost ? null : docs.get(d));
            at += inst.length - skip;
        }
        return out;
    }

    @Override
    public void close() { dataset.close(); }
}
