/*
 * A HuggingFace tokenizer.json pipeline: added tokens → normalizer → pre-tokenizer → BPE model →
 * post-processor, and decoder for the way back. Matches HF tokenizers to the id on the fixtures (see
 * HfTokenizerConformanceTest). Immutable apart from the model's word cache, so one instance serves all threads.
 */
package kd4j.tokenizers;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.ints.IntOpenHashSet;
import it.unimi.dsi.fastutil.objects.Object2IntOpenHashMap;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

public final class HfTokenizer implements Tokenizer {
    private final BpeModel model;
    private final AddedTokens added;
    private final Normalizer normalizer;        // null: none
    private final PreTokenizer preTokenizer;    // null: the whole segment is one word
    private final PostProcessor postProcessor;  // null: nothing added
    private final Decoder decoder;              // null: tokens joined by spaces
    private final boolean needsStart;           // a Metaspace with prepend_scheme "first" must know where the text starts
    private final String[] addedById;
    private final IntOpenHashSet specialIds = new IntOpenHashSet();
    private final Object2IntOpenHashMap<String> addedByContent = new Object2IntOpenHashMap<>();
    private final int vocabSize;
    private final int[] extraPrefix, extraSuffix;    // BOS/EOS that tokenizer_config.json asks for beyond the template
    private final int bosId, eosId;

    HfTokenizer(BpeModel model, AddedTokens added, Normalizer normalizer, PreTokenizer preTokenizer,
                PostProcessor postProcessor, Decoder decoder, Config config) {
        this.model = model;
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.needsStart = prependsFirst(preTokenizer);
        addedByContent.defaultReturnValue(-1);
        int max = model.size() - 1;
        for (var t : added.all) max = Math.max(max, t.id());
        vocabSize = max + 1;
        addedById = new String[vocabSize];
        for (var t : added.all) {
            addedById[t.id()] = t.surface();
            addedByContent.put(t.content(), t.id());
        }
        // HF skips a token when its string (normalized, for a normalized added token) is the content of a special
        // token: a special token with normalized=true whose normalized content differs is not skipped (HF quirk).
        Set<String> specialContents = new HashSet<>();
        for (var t : added.all) if (t.special()) specialContents.add(t.content());
        for (var t : added.all) if (specialContents.contains(t.surface())) specialIds.add(t.id());
        for (String c : specialContents) {
            int id = model.tokenToId(c);
            if (id >= 0 && c.equals(idToToken(id))) specialIds.add(id);
        }
        int configBos = config.bosToken() == null ? -1 : tokenToId(config.bosToken());
        int configEos = config.eosToken() == null ? -1 : tokenToId(config.eosToken());
        int[] prefix = templatePrefix(postProcessor), suffix = templateSuffix(postProcessor);
        boolean templateHasBos = configBos >= 0 && prefix.length > 0 && prefix[0] == configBos;
        boolean templateHasEos = configEos >= 0 && suffix.length > 0 && suffix[suffix.length - 1] == configEos;
        extraPrefix = config.addBos() && configBos >= 0 && !templateHasBos ? new int[] {configBos} : new int[0];
        extraSuffix = config.addEos() && configEos >= 0 && !templateHasEos ? new int[] {configEos} : new int[0];
        bosId = prefix.length > 0 ? prefix[0] : (extraPrefix.length > 0 ? configBos : -1);
        eosId = configEos >= 0 ? configEos : (suffix.length > 0 ? suffix[suffix.length - 1] : -1);
    }

    /** The tokenizer_config.json settings kd4j uses. */
    record Config(String bosToken, String eosToken, boolean addBos, boolean addEos) {
        static final Config NONE = new Config(null, null, false, false);
    }

    private static boolean prependsFirst(PreTokenizer p) {
        if (p instanceof PreTokenizer.Metaspace m) return m.prependScheme().equals("first");
        if (p instanceof PreTokenizer.Sequence s) for (PreTokenizer q : s.steps()) if (prependsFirst(q)) return true;
        return false;
    }

    private static int[] templatePrefix(PostProcessor p) {
        if (p instanceof PostProcessor.Template t) return t.prefix();
        if (p instanceof PostProcessor.Sequence s)
            for (PostProcessor q : s.steps()) { int[] r = templatePrefix(q); if (r.length > 0) return r; }
        return new int[0];
    }

    private static int[] templateSuffix(PostProcessor p) {
        if (p instanceof PostProcessor.Template t) return t.suffix();
        if (p instanceof PostProcessor.Sequence s)
            for (int k = s.steps().size() - 1; k >= 0; k--) { int[] r = templateSuffix(s.steps().get(k)); if (r.length > 0) return r; }
        return new int[0];
    }

    @Override
    public int[] encode(String text) {
        IntArrayList out = new IntArrayList(text.length() / 3 + 4);
        encodeInto(text, out);
        return out.toIntArray();
    }

    @Override
    public int[] encodeWithSpecialTokens(String text) {
        int[] ids = encode(text);
        if (postProcessor != null) ids = postProcessor.process(ids);
        if (extraPrefix.length == 0 && extraSuffix.length == 0) return ids;
        IntArrayList out = new IntArrayList(ids.length + 2);
        out.addElements(0, extraPrefix);
        out.addElements(out.size(), ids);
        out.addElements(out.size(), extraSuffix);
        return out.toIntArray();
    }

    /** Appends the ids of text (no post-processing) to out. */
    public void encodeInto(String text, IntArrayList out) {
        IntArrayList segments = new IntArrayList();
        added.split(text, false, segments);
        List<String> words = new ArrayList<>(), scratch = new ArrayList<>();
        IntArrayList inner = new IntArrayList();
        for (int k = 0; k < segments.size(); k += 3) {
            int start = segments.getInt(k), end = segments.getInt(k + 1), id = segments.getInt(k + 2);
            if (id >= 0) { out.add(id); continue; }
            String seg = text.substring(start, end);
            boolean atStart = start == 0 && (normalizer == null || !needsStart || normalizer.keepsStart(seg));
            if (normalizer != null) seg = normalizer.normalize(seg);
            if (added.isEmpty(true)) {
                encodeSegment(seg, atStart, words, scratch, out);
                continue;
            }
            inner.clear();
            added.split(seg, true, inner);
            for (int j = 0; j < inner.size(); j += 3) {
                int a = inner.getInt(j), b = inner.getInt(j + 1), innerId = inner.getInt(j + 2);
                if (innerId >= 0) out.add(innerId);
                else encodeSegment(seg.substring(a, b), atStart && a == 0, words, scratch, out);
            }
        }
    }

    private void encodeSegment(String seg, boolean atStart, List<String> words, List<String> scratch, IntArrayList out) {
        if (seg.isEmpty()) return;
        if (preTokenizer == null) { model.encode(seg, out); return; }
        words.clear();
        scratch.clear();
        scratch.add(seg);
        preTokenizer.apply(scratch, words, atStart);
        for (int i = 0, n = words.size(); i < n; i++) model.encode(words.get(i), out);
    }

    @Override
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            String t = idToToken(id);
            if (t == null) continue;    // HF skips ids it does not know
            if (skipSpecialTokens && specialIds.contains(id)) continue;
            tokens.add(t);
        }
        if (decoder == null) return String.join(" ", tokens);
        return String.join("", decoder.decodeChain(tokens));
    }

    @Override
    public int vocabSize() { return vocabSize; }

    @Override
    public String idToToken(int id) {
        if (id >= 0 && id < addedById.length && addedById[id] != null) return addedById[id];
        return model.idToToken(id);
    }

    @Override
    public int tokenToId(String token) {
        int id = addedByContent.getInt(token);
        return id >= 0 ? id : model.tokenToId(token);
    }

    @Override
    public int eosId() { return eosId; }

    @Override
    public int bosId() { return bosId; }

    /** Whether id is a special added token (skipped by decode(ids, true)). */
    public boolean isSpecial(int id) { return specialIds.contains(id); }
}
