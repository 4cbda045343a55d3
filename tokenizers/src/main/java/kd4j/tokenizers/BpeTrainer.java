/*
 * Byte-level BPE training, as HF tokenizers' BpeTrainer: special tokens first, then the 256 byte-level chars
 * (sorted by code point), then merges of the most frequent adjacent pair (ties: the smaller id pair) until the
 * vocabulary is full or the best pair is below min_frequency. Pre-tokenization is the Qwen2 pipeline (NFC,
 * cl100k-style split, ByteLevel). The result is saved as a standard tokenizer.json that HF and kd4j load.
 */
package kd4j.tokenizers;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.ints.IntOpenHashSet;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongOpenHashSet;
import it.unimi.dsi.fastutil.objects.Object2IntOpenHashMap;
import it.unimi.dsi.fastutil.objects.Object2LongOpenHashMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

public final class BpeTrainer {
    private final int vocabSize;
    private final long minFrequency;
    private final List<String> specialTokens;
    private final Object2LongOpenHashMap<String> wordCounts = new Object2LongOpenHashMap<>();
    private final Normalizer normalizer = new Normalizer.Unicode(java.text.Normalizer.Form.NFC);
    private final PreTokenizer preTokenizer = new PreTokenizer.Sequence(List.of(
            new PreTokenizer.Split(new Cl100kSplitter(1), PreTokenizer.Behavior.ISOLATED, false),
            new PreTokenizer.ByteLevelSplit(false, false)));

    /**
     * @param vocabSize     target vocabulary size, special tokens and the 256 bytes included (at least their count)
     * @param minFrequency  a pair seen fewer times than this is never merged (HF min_frequency)
     * @param specialTokens added first, ids 0.. in this order (e.g. "<|endoftext|>")
     */
    public BpeTrainer(int vocabSize, long minFrequency, List<String> specialTokens) {
        if (vocabSize < 256 + specialTokens.size())
            throw new IllegalArgumentException("vocab size " + vocabSize + " is smaller than the 256 bytes + "
                    + specialTokens.size() + " special tokens");
        this.vocabSize = vocabSize;
        this.minFrequency = minFrequency;
        this.specialTokens = List.copyOf(specialTokens);
    }

    /** Counts the pre-tokens of one document (HF feed: normalize, pre-tokenize, count). */
    public void add(String document) {
        List<String> in = new ArrayList<>(1), out = new ArrayList<>();
        in.add(normalizer.normalize(document));
        preTokenizer.apply(in, out, true);
        for (String w : out) wordCounts.addTo(w, 1);
    }

    /** Number of distinct pre-tokens seen so far. */
    public int distinctWords() { return wordCounts.size(); }

    /** The trained vocabulary (index = id) and merges (pairs of ids, in rank order). */
    public record Result(List<String> vocab, List<int[]> merges, List<String> specialTokens) {

        /** tokenizer.json in HF's schema: Qwen2-style pipeline, ByteLevel post-processor and decoder. */
        public String toJson() {
            JsonNodeFactory f = JsonNodeFactory.instance;
            ObjectNode root = f.objectNode();
            root.put("version", "1.0");
            root.putNull("truncation");
            root.putNull("padding");
            ArrayNode added = root.putArray("added_tokens");
            for (String s : specialTokens) {
                ObjectNode t = added.addObject();
                t.put("id", vocab.indexOf(s)).put("content", s).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
            root.putObject("normalizer").put("type", "NFC");
            ObjectNode pre = root.putObject("pre_tokenizer").put("type", "Sequence");
            ArrayNode steps = pre.putArray("pretokenizers");
            ObjectNode split = steps.addObject().put("type", "Split");
            split.putObject("pattern").put("Regex", Cl100kSplitter.QWEN2_PATTERN);
            split.put("behavior", "Isolated").put("invert", false);
            byteLevel(steps.addObject());
            byteLevel(root.putObject("post_processor"));
            byteLevel(root.putObject("decoder"));
            ObjectNode model = root.putObject("model");
            model.put("type", "BPE").putNull("dropout");
            model.putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix");
            model.put("fuse_unk", false).put("byte_fallback", false).put("ignore_merges", false);
            ObjectNode v = model.putObject("vocab");
            for (int i = 0; i < vocab.size(); i++) v.put(vocab.get(i), i);
            ArrayNode m = model.putArray("merges");
            for (int[] p : merges) m.addArray().add(vocab.get(p[0])).add(vocab.get(p[1]));
            try {
                return TokenizerJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        private static void byteLevel(ObjectNode n) {
            n.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", false).put("use_regex", false);
        }

        /** Writes dir/tokenizer.json and dir/tokenizer_config.json (eos = the first special token, if any). */
        public void save(Path dir) throws IOException {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), toJson());
            ObjectNode config = JsonNodeFactory.instance.objectNode();
            config.put("tokenizer_class", "PreTrainedTokenizerFast");
            if (!specialTokens.isEmpty()) config.put("eos_token", specialTokens.get(0));
            config.put("add_bos_token", false).put("add_eos_token", false).put("clean_up_tokenization_spaces", false);
            Files.writeString(dir.resolve("tokenizer_config.json"),
                    TokenizerJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(config));
        }
    }

    /** A queue entry: a pair with the count it had when queued and the words to update (HF Merge). */
    private record Entry(long pair, long count, IntOpenHashSet pos) {}

    public Result train() {
        List<String> idToWord = new ArrayList<>(vocabSize);
        Object2IntOpenHashMap<String> wordToId = new Object2IntOpenHashMap<>();
        wordToId.defaultReturnValue(-1);
        for (String s : specialTokens) if (wordToId.getInt(s) < 0) { wordToId.put(s, idToWord.size()); idToWord.add(s); }
        // the initial alphabet: all 256 byte chars, in code point order (the words use no other chars)
        char[] alphabet = ByteLevel.BYTE_TO_CHAR.clone();
        java.util.Arrays.sort(alphabet);
        for (char c : alphabet) {
            String s = String.valueOf(c);
            if (wordToId.getInt(s) < 0) { wordToId.put(s, idToWord.size()); idToWord.add(s); }
        }
        // words as symbol ids, with their counts
        int n = wordCounts.size();
        IntArrayList[] words = new IntArrayList[n];
        long[] counts = new long[n];
        int w = 0;
        for (var e : wordCounts.object2LongEntrySet()) {
            String word = e.getKey();
            IntArrayList syms = new IntArrayList(word.length());
            for (int i = 0; i < word.length(); i++) syms.add(wordToId.getInt(String.valueOf(word.charAt(i))));
            words[w] = syms;
            counts[w++] = e.getLongValue();
        }
        // pair counts and where each pair occurs
        Long2IntOpenHashMap pairCounts = new Long2IntOpenHashMap();
        Long2ObjectOpenHashMap<IntOpenHashSet> whereToUpdate = new Long2ObjectOpenHashMap<>();
        for (int i = 0; i < n; i++) {
            IntArrayList s = words[i];
            for (int k = 0; k + 1 < s.size(); k++) {
                long p = BpeModel.pair(s.getInt(k), s.getInt(k + 1));
                pairCounts.addTo(p, (int) counts[i]);
                whereToUpdate.computeIfAbsent(p, x -> new IntOpenHashSet()).add(i);
            }
        }
        // max count first; equal counts: the smaller (left, right) pair first
        PriorityQueue<Entry> queue = new PriorityQueue<>((a, b) ->
                a.count != b.count ? Long.compare(b.count, a.count) : Long.compare(a.pair, b.pair));
        drain(whereToUpdate, pairCounts, queue);
        List<int[]> merges = new ArrayList<>();
        LongOpenHashSet merged = new LongOpenHashSet();
        List<long[]> changes = new ArrayList<>();
        while (wordToId.size() < vocabSize && !queue.isEmpty()) {
            Entry top = queue.poll();
            long current = pairCounts.get(top.pair);
            if (top.count != current) {
                queue.add(new Entry(top.pair, current, top.pos));
                continue;
            }
            if (top.count < 1 || top.count < minFrequency) break;
            if (!merged.add(top.pair)) continue;    // a second queue entry of a pair already merged
            int a = (int) (top.pair >>> 32), b = (int) top.pair;
            String token = idToWord.get(a) + idToWord.get(b);
            int id = wordToId.getInt(token);
            if (id < 0) { id = idToWord.size(); idToWord.add(token); wordToId.put(token, id); }
            merges.add(new int[] {a, b});
            changes.clear();
            for (int i : top.pos) mergeWord(words[i], a, b, id, i, changes);
            for (long[] c : changes) {
                long pair = c[0];
                int change = (int) c[1], iw = (int) c[2];
                pairCounts.addTo(pair, (int) (change * counts[iw]));
                if (change > 0) whereToUpdate.computeIfAbsent(pair, x -> new IntOpenHashSet()).add(iw);
            }
            drain(whereToUpdate, pairCounts, queue);
        }
        return new Result(List.copyOf(idToWord), merges, specialTokens);
    }

    private static void drain(Long2ObjectOpenHashMap<IntOpenHashSet> whereToUpdate, Long2IntOpenHashMap pairCounts,
                              PriorityQueue<Entry> queue) {
        for (var e : whereToUpdate.long2ObjectEntrySet()) {
            int count = pairCounts.get(e.getLongKey());
            if (count > 0) queue.add(new Entry(e.getLongKey(), count, e.getValue()));
        }
        whereToUpdate.clear();
    }

    /** Replaces every (a, b) in s by id, recording the pair count changes (pair, ±1, word) as HF Word::merge. */
    private static void mergeWord(IntArrayList s, int a, int b, int id, int word, List<long[]> changes) {
        for (int i = 0; i < s.size(); i++) {
            if (s.getInt(i) != a || i + 1 >= s.size() || s.getInt(i + 1) != b) continue;
            if (i > 0) {
                changes.add(new long[] {BpeModel.pair(s.getInt(i - 1), a), -1, word});
                changes.add(new long[] {BpeModel.pair(s.getInt(i - 1), id), 1, word});
            }
            s.set(i, id);
            s.removeInt(i + 1);
            if (i < s.size() - 1) {
                changes.add(new long[] {BpeModel.pair(b, s.getInt(i + 1)), -1, word});
                changes.add(new long[] {BpeModel.pair(id, s.getInt(i + 1)), 1, word});
            }
        }
    }
}
