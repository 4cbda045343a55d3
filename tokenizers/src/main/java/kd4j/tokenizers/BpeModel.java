/*
 * The BPE model of HF tokenizers: a word (one pre-token) → ids by applying merges in rank order, lowest rank
 * first and leftmost first among equal ranks (HF Word::merge_all, a heap over adjacent pairs). Supports
 * byte-level vocabularies, byte_fallback (<0xXX> tokens), unk_token with fuse_unk, ignore_merges,
 * continuing_subword_prefix and end_of_word_suffix. Thread-safe; results of short words are cached.
 */
package kd4j.tokenizers;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.objects.Object2IntOpenHashMap;
import java.util.concurrent.ConcurrentHashMap;

final class BpeModel {
    /** Words longer than this (in chars) are not cached: they are rare and would crowd the cache. */
    private static final int CACHE_MAX_WORD = 256;
    private static final int CACHE_MAX_ENTRIES = 1 << 20;

    private final Object2IntOpenHashMap<String> vocab;
    private final String[] idToToken;
    /** (left << 32 | right) → merge rank; rank → id of the merged token. */
    private final Long2IntOpenHashMap mergeRank;
    private final int[] mergeResult;
    /** Id of each single BMP char as a token (no prefix/suffix), or -1: avoids a String per char. */
    private final int[] charId = new int[65536];
    private final int[] byteFallbackId = new int[256];
    private final int unkId;
    private final boolean fuseUnk, byteFallback, ignoreMerges;
    private final String prefix, suffix;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges pairs of token strings in rank order; mergeIds[k] = {leftId, rightId, resultId} after checks
     */
    BpeModel(Object2IntOpenHashMap<String> vocab, int[][] mergeIds, String unkToken, boolean fuseUnk,
             boolean byteFallback, boolean ignoreMerges, String continuingSubwordPrefix, String endOfWordSuffix) {
        this.vocab = vocab;
        vocab.defaultReturnValue(-1);
        int maxId = -1;
        for (var e : vocab.object2IntEntrySet()) maxId = Math.max(maxId, e.getIntValue());
        idToToken = new String[maxId + 1];
        for (var e : vocab.object2IntEntrySet()) idToToken[e.getIntValue()] = e.getKey();
        mergeRank = new Long2IntOpenHashMap(mergeIds.length * 2);
        mergeRank.defaultReturnValue(-1);
        mergeResult = new int[mergeIds.length];
        for (int r = 0; r < mergeIds.length; r++) {
            mergeRank.put(pair(mergeIds[r][0], mergeIds[r][1]), r);    // a repeated pair keeps its last rank, as HF
            mergeResult[r] = mergeIds[r][2];
        }
        this.unkId = unkToken == null ? -1 : vocab.getInt(unkToken);
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.prefix = continuingSubwordPrefix == null || continuingSubwordPrefix.isEmpty() ? null : continuingSubwordPrefix;
        this.suffix = endOfWordSuffix == null || endOfWordSuffix.isEmpty() ? null : endOfWordSuffix;
        java.util.Arrays.fill(charId, -1);
        for (var e : vocab.object2IntEntrySet())
            if (e.getKey().length() == 1) charId[e.getKey().charAt(0)] = e.getIntValue();
        for (int b = 0; b < 256; b++) byteFallbackId[b] = vocab.getInt(String.format("<0x%02X>", b));
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    int tokenToId(String token) { return vocab.getInt(token); }

    String idToToken(int id) { return id >= 0 && id < idToToken.length ? idToToken[id] : null; }

    int size() { return idToToken.length; }

    /** Appends the ids of one pre-token. */
    void encode(String word, IntArrayList out) {
        if (word.isEmpty()) return;
        boolean cacheable = word.length() <= CACHE_MAX_WORD;
        if (cacheable) {
            int[] hit = cache.get(word);
            if (hit != null) { out.addElements(out.size(), hit); return; }
        }
        int[] ids = encodeUncached(word);
        if (cacheable && cache.size() < CACHE_MAX_ENTRIES) cache.put(word, ids);
        out.addElements(out.size(), ids);
    }

    private int[] encodeUncached(String word) {
        if (ignoreMerges) {
            int id = vocab.getInt(word);
            if (id >= 0) return new int[] {id};
        }
        IntArrayList symbols = initialSymbols(word);
        return mergeAll(symbols.toIntArray());
    }

    /** One symbol per char (code point), with byte fallback or unk for chars outside the vocabulary. */
    private IntArrayList initialSymbols(String w) {
        IntArrayList syms = new IntArrayList(w.length());
        int pendingUnk = -1;    // HF keeps one pending unk so that fuse_unk can extend it
        int n = w.length();
        for (int i = 0; i < n; ) {
            int cp = w.codePointAt(i);
            int end = i + Character.charCount(cp);
            boolean first = i == 0, last = end == n;
            int id;
            String s = null;
            if ((prefix == null || first) && (suffix == null || !last) && end - i == 1) id = charId[w.charAt(i)];
            else {
                s = w.substring(i, end);
                if (prefix != null && !first) s = prefix + s;
                if (suffix != null && last) s = s + suffix;
                id = vocab.getInt(s);
            }
            if (id >= 0) {
                if (pendingUnk >= 0) { syms.add(unkId); pendingUnk = -1; }
                syms.add(id);
            } else {
                if (s == null) s = w.substring(i, end);
                if (byteFallback && addByteFallback(s, syms)) { i = end; continue; }
                if (unkId >= 0) {
                    if (pendingUnk >= 0 && !fuseUnk) syms.add(unkId);
                    pendingUnk = unkId;
                }
            }
            i = end;
        }
        if (pendingUnk >= 0) syms.add(unkId);
        return syms;
    }

    private boolean addByteFallback(String s, IntArrayList syms) {
        byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (byte b : bytes) if (byteFallbackId[b & 0xFF] < 0) return false;
        for (byte b : bytes) syms.add(byteFallbackId[b & 0xFF]);
        return true;
    }

    /** Applies merges: a min-heap of (rank, position) over live adjacent pairs; stale entries are skipped. */
    private int[] mergeAll(int[] c) {
        int n = c.length;
        if (n < 2) return c;
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
        long[] heap = new long[n * 2 + 4];
        int size = 0;
        for (int i = 0; i + 1 < n; i++) {
            int r = mergeRank.get(pair(c[i], c[i + 1]));
            if (r >= 0) size = push(heap = grow(heap, size), size, ((long) r << 32) | i);
        }
        int alive = n;
        while (size > 0) {
            long top = heap[0];
            size = pop(heap, size);
            int r = (int) (top >>> 32), pos = (int) top;
            if (c[pos] < 0 || next[pos] < 0) continue;    // merged away, or last symbol
            int right = next[pos];
            if (mergeRank.get(pair(c[pos], c[right])) != r) continue;    // stale entry
            c[pos] = mergeResult[r];
            c[right] = -1;
            alive--;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0) {
                int pr = mergeRank.get(pair(c[prev[pos]], c[pos]));
                if (pr >= 0) size = push(heap = grow(heap, size), size, ((long) pr << 32) | prev[pos]);
            }
            if (next[pos] >= 0) {
                int nr = mergeRank.get(pair(c[pos], c[next[pos]]));
                if (nr >= 0) size = push(heap = grow(heap, size), size, ((long) nr << 32) | pos);
            }
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i >= 0; i = next[i]) out[k++] = c[i];
        return out;
    }

    private static long[] grow(long[] heap, int size) {
        return size < heap.length ? heap : java.util.Arrays.copyOf(heap, heap.length * 2);
    }

    private static int push(long[] heap, int size, long v) {
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= v) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = v;
        return size;
    }

    private static int pop(long[] heap, int size) {
        long v = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= v) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = v;
        return size;
    }
}
