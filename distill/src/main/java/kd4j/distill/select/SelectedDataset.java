/*
 * Writes the instances Difference Sampling kept as a new prepared data set that `kd4j pretrain` reads like any
 * other: train = the kept instances in their original corpus order, valid = the source's validation instances
 * unchanged (so students trained on the original and the refined corpus are evaluated on the same data). With a
 * Retokenizer both splits are mapped to the student's tokenizer, one instance to one, same length. The layout
 * (kd4j shards or Megatron .bin/.idx) follows the source. No documents are copied (documents.jsonl is empty):
 * the refined corpus is a set of instances. selection.json records where it came from; kept-ids.txt lists the
 * source ids of the kept instances.
 */
package kd4j.distill.select;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kd4j.data.AtomicFiles;
import kd4j.data.DatasetInstances;
import kd4j.data.MegatronIndexedDataset;
import kd4j.data.Prepare;
import kd4j.data.ShardWriter;
import kd4j.data.TokenDataset;
import kd4j.data.TokenSequences;
import kd4j.distill.select.DifferenceSampling.Selection;
import kd4j.tokenizers.Tokenizer;

public final class SelectedDataset {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private SelectedDataset() {}

    /** One split's writer in the source's layout. */
    private interface Writer extends AutoCloseable {
        void add(int[] ids) throws IOException;
        @Override void close() throws IOException;
    }

    /**
     * Writes the refined data set to out. retokenizer and student are both null (same tokenizer) or both set.
     * provenance is recorded in selection.json (score files, ratio, policy...). Returns the manifest written.
     */
    public static TokenDataset.Manifest write(DatasetInstances source, Selection selection, Path out,
                                              Retokenizer retokenizer, Tokenizer student,
                                              Map<String, Object> provenance) throws IOException {
        return write(source, selection, out, retokenizer, student, provenance, false);
    }

    /**
     * As above; with pack (re-tokenized data only) the train split is not one student row per kept instance: the
     * kept instances are re-tokenized whole, in corpus order, joined with the student's EOS where they were not
     * adjacent in the corpus, and cut into full rows of the instance length (the last one may be shorter). A
     * student tokenizer with a larger vocabulary needs fewer tokens for the same text, so one-to-one rows would be
     * short and a student would read fewer real tokens per step than a baseline on packed rows; packed, both read
     * full rows, and equal steps are equal tokens.
     */
    public static TokenDataset.Manifest write(DatasetInstances source, Selection selection, Path out,
                                              Retokenizer retokenizer, Tokenizer student,
                                              Map<String, Object> provenance, boolean pack) throws IOException {
        if (pack && retokenizer == null) throw new IllegalArgumentException("packing applies to re-tokenized data only");
        if ((retokenizer == null) != (student == null))
            throw new IllegalArgumentException("a retokenizer needs the student tokenizer and vice versa");
        if (selection.total() != source.size())
            throw new IllegalArgumentException("the selection covers " + selection.total() + " instances, the data set has "
                    + source.size());
        TokenDataset ds = source.dataset();
        var srcManifest = ds.manifest();
        boolean megatron = srcManifest.map(m -> m.instanceFormat().equals("megatron")).orElse(true);
        int length = ds.instanceLength();
        TokenDataset.TokenizerInfo tok = student != null
                ? new TokenDataset.TokenizerInfo(Prepare.fingerprint(student), student.vocabSize(), student.eosId(), student.bosId())
                : srcManifest.map(TokenDataset.Manifest::tokenizer).orElseGet(() -> new TokenDataset.TokenizerInfo(
                        source.tokenizerFingerprint(), -1, source.eosId(), -1));
        int vocab = tok.vocabSize() > 0 ? tok.vocabSize() : maxId(source) + 1;
        Files.createDirectories(out);
        Files.deleteIfExists(out.resolve(TokenDataset.MANIFEST));      // a manifest marks a finished data set

        long[] trainTokens = {0}, validTokens = {0};
        long trainRows = 0;
        try (Writer w = writer(out, TokenDataset.Split.TRAIN, megatron, vocab)) {
            if (pack) {
                it.unimi.dsi.fastutil.ints.IntArrayList stream = new it.unimi.dsi.fastutil.ints.IntArrayList();
                int previous = -2;
                for (int id : selection.kept()) {
                    if (previous >= 0 && id != previous + 1 && student.eosId() >= 0) stream.add(student.eosId());
                    stream.addAll(it.unimi.dsi.fastutil.ints.IntArrayList.wrap(retokenizer.map(source.get(id), Integer.MAX_VALUE)));
                    previous = id;
                    int start = 0;
                    for (; stream.size() - start >= length; start += length) {
                        w.add(java.util.Arrays.copyOfRange(stream.elements(), start, start + length));
                        trainTokens[0] += length;
                        trainRows++;
                    }
                    stream.removeElements(0, start);
                }
                if (!stream.isEmpty()) {
                    w.add(stream.toIntArray());
                    trainTokens[0] += stream.size();
                    trainRows++;
                }
            } else {
                for (int id : selection.kept()) trainTokens[0] += add(w, source.get(id), retokenizer, length);
                trainRows = selection.keptCount();
            }
        }
        long validCount = 0;
        if (srcManifest.isPresent()) {
            TokenSequences valid = ds.instances(TokenDataset.Split.VALID);
            try (Writer w = writer(out, TokenDataset.Split.VALID, megatron, vocab)) {
                for (long i = 0; i < valid.size(); i++) validTokens[0] += add(w, valid.get(i), retokenizer, length);
            }
            validCount = valid.size();
        }
        AtomicFiles.write(out.resolve("documents.jsonl"), new byte[0]);
        StringBuilder ids = new StringBuilder();
        for (int id : selection.kept()) ids.append(id).append('\n');
        AtomicFiles.write(out.resolve("kept-ids.txt"), ids.toString());
        Map<String, Object> sel = new LinkedHashMap<>(provenance);
        sel.put("source", ds.directory().toString());
        sel.put("sourceCorpusChecksum", source.corpusChecksum());
        sel.put("ratio", selection.ratio());
        sel.put("instances", selection.total());
        sel.put("scored", selection.scoredCount());
        sel.put("missing", selection.missing().length);
        sel.put("kept", selection.keptCount());
        sel.put("cutoff", selection.cutoff());
        sel.put("retokenized", student != null);
        sel.put("packed", pack);
        sel.put("trainRows", trainRows);
        AtomicFiles.write(out.resolve("selection.json"), JSON.writeValueAsBytes(sel));

        List<TokenDataset.FileEntry> files = new ArrayList<>();
        for (var split : TokenDataset.Split.values()) {
            long n = split == TokenDataset.Split.TRAIN ? trainRows : validCount;
            long t = split == TokenDataset.Split.TRAIN ? trainTokens[0] : validTokens[0];
            if (split == TokenDataset.Split.VALID && srcManifest.isEmpty()) continue;
            if (megatron) {
                files.add(entry(out, split.label + "_0.bin", n, t));
                files.add(entry(out, split.label + "_0.idx", n, 0));
            } else {
                files.add(entry(out, "instances-" + split.label + ".kd4j", n, t));
            }
        }
        files.add(entry(out, "documents.jsonl", 0, 0));
        files.add(entry(out, "kept-ids.txt", selection.keptCount(), 0));
        files.add(entry(out, "selection.json", 0, 0));
        var train = new TokenDataset.Counts(0, 0, trainRows, trainTokens[0]);
        var valid = new TokenDataset.Counts(0, 0, validCount, validTokens[0]);
        var total = new TokenDataset.Counts(0, 0, train.instances() + valid.instances(),
                train.instanceTokens() + valid.instanceTokens());
        var m = srcManifest.orElse(null);
        var manifest = new TokenDataset.Manifest("kd4j-tokens", 1, tok, ShardWriter.tokenBytesFor(vocab),
                m == null ? "text" : m.field(), length - 1, length, megatron ? "megatron" : "kd4j",
                m == null ? 0 : m.validationFraction(), m == null ? 0 : m.splitSeed(), total, train, valid, 0,
                List.of(ds.directory().toString()), files);
        AtomicFiles.write(out.resolve(TokenDataset.MANIFEST), JSON.writeValueAsBytes(manifest));
        return manifest;
    }

    private static long add(Writer w, int[] ids, Retokenizer r, int length) throws IOException {
        int[] x = r == null ? ids : r.map(ids, length);
        w.add(x);
        return x.length;
    }

    private static Writer writer(Path out, TokenDataset.Split split, boolean megatron, int vocab) throws IOException {
        if (megatron) {
            var w = MegatronIndexedDataset.create(out.resolve(split.label + "_0"), MegatronIndexedDataset.dtypeFor(vocab));
            return new Writer() {
                public void add(int[] ids) throws IOException { w.add(ids); }
                public void close() throws IOException { w.close(); }
            };
        }
        var w = new ShardWriter(out.resolve("instances-" + split.label + ".kd4j"), vocab);
        return new Writer() {
            public void add(int[] ids) throws IOException { w.add(ids); }
            public void close() throws IOException { w.close(); }
        };
    }

    private static int maxId(DatasetInstances source) {
        int max = 0;
        for (long i = 0; i < source.size(); i++) for (int id : source.get(i)) max = Math.max(max, id);
        return max;
    }

    private static TokenDataset.FileEntry entry(Path out, String name, long sequences, long tokens) throws IOException {
        Path p = out.resolve(name);
        return new TokenDataset.FileEntry(name, Files.size(p), AtomicFiles.sha256(p), sequences, tokens);
    }

    /** Reads kept-ids.txt back (tests, pipeline). */
    public static int[] readKeptIds(Path dir) throws IOException {
        return Files.readAllLines(dir.resolve("kept-ids.txt"), StandardCharsets.UTF_8).stream()
                .filter(l -> !l.isBlank()).mapToInt(Integer::parseInt).toArray();
    }
}
