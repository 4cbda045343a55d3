package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepareTest {
    @TempDir Path dir;
    Path corpus;
    List<String> texts = new ArrayList<>();

    @BeforeEach
    void writeCorpus() throws Exception {
        corpus = dir.resolve("corpus.jsonl");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            StringBuilder t = new StringBuilder();
            for (int k = 0; k <= i % 5; k++) t.append("Doc ").append(i).append(" says ").append("a".repeat(k + 1)).append(". ");
            t.append(i % 3 == 0 ? "Line\nbreak" : "End!");
            texts.add(t.toString());
            s.append("{\"id\": \"d").append(i).append("\", \"text\": ").append(TokenDataset.JSON.writeValueAsString(t.toString())).append("}\n");
        }
        Files.writeString(corpus, s);
    }

    Prepare.Options options(Path out) {
        return Prepare.Options.defaults(List.of(corpus), out).withSeq(31).withValidation(0.2).withThreads(2).withShardSize(7, 1 << 20);
    }

    static Map<String, String> checksums(TokenDataset.Manifest m) {
        Map<String, String> out = new TreeMap<>();
        for (var f : m.files()) out.put(f.path(), f.sha256());
        return out;
    }

    @Test
    void preparesShardsInstancesAndManifest() throws Exception {
        var tok = new TestTokenizers.ByteTokenizer(false);
        Path out = dir.resolve("out");
        var result = Prepare.run(options(out), tok, line -> {});
        var m = result.manifest();
        assertEquals(6, result.shardsTokenized());
        assertEquals(40, m.total().documents());
        long expectedTokens = texts.stream().mapToLong(t -> t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1).sum();
        assertEquals(expectedTokens, m.total().documentTokens());
        assertEquals(2, m.tokenBytes());
        assertEquals(32, m.instanceLength());
        assertTrue(m.valid().documents() > 0 && m.train().documents() > m.valid().documents(), m.toString());

        try (TokenDataset ds = TokenDataset.open(out)) {
            ds.verify();
            var docs = ds.documents();
            assertEquals(40, docs.size());
            // Every document's tokens are its text's bytes plus EOS, whichever shard holds it.
            for (var d : docs) {
                int[] expected = Arrays.copyOf(tok.encode(texts.get((int) d.ordinal())), d.tokens());
                expected[d.tokens() - 1] = 256;
                assertArrayEquals(expected, ds.documentTokens(d), d.id());
                assertEquals("d" + d.ordinal(), d.id());
            }
            // The instances are exactly MiniPLM's packing of each split's documents in reading order.
            for (var split : TokenDataset.Split.values()) {
                List<int[]> expected = new ArrayList<>();
                var b = new InstanceBuilder(InstanceBuilder.SentenceEnds.of(tok), 32, -1,
                        (ids, from, n) -> expected.add(Arrays.copyOfRange(ids, from, from + n)));
                for (var d : ds.documents(split)) b.addDocument(ds.documentTokens(d));
                TokenSequences got = ds.instances(split);
                assertEquals(expected.size(), got.size(), split.label);
                assertEquals(m.counts(split).instances(), got.size());
                for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), got.get(i), split + " instance " + i);
            }
            assertTrue(ds.instances(TokenDataset.Split.TRAIN).size() > 10);
        }

        // A changed byte is caught by verify().
        Path shard = out.resolve("shards/docs-00002.kd4j");
        byte[] bytes = Files.readAllBytes(shard);
        bytes[40] ^= 1;
        Files.write(shard, bytes);
        try (TokenDataset ds = TokenDataset.open(out)) {
            var e = assertThrows(DataFormatException.class, ds::verify);
            assertTrue(e.getMessage().startsWith(shard + ": SHA-256 "), e.getMessage());
        }
    }

    @Test
    void resumesAfterAKill_keepingFinishedShards_andEndsIdenticalToAnUninterruptedRun() throws Exception {
        Path reference = dir.resolve("reference");
        var whole = Prepare.run(options(reference), new TestTokenizers.ByteTokenizer(false), line -> {}).manifest();

        Path out = dir.resolve("killed");
        var dying = new TestTokenizers.ByteTokenizer(false);
        dying.failAfter = 17;   // dies inside shard 2 (7 documents per shard)
        var e = assertThrows(IllegalStateException.class, () -> Prepare.run(options(out), dying, line -> {}));
        assertEquals("simulated kill", e.getMessage());
        assertFalse(Files.exists(out.resolve(TokenDataset.MANIFEST)));
        assertTrue(Files.exists(out.resolve("shards/docs-00001.kd4j")));
        assertFalse(Files.exists(out.resolve("shards/docs-00002.kd4j")));
        var open = assertThrows(DataFormatException.class, () -> TokenDataset.open(out));
        assertTrue(open.getMessage().contains("kd4j prepare did not finish; run it again to resume"), open.getMessage());

        var fresh = new TestTokenizers.ByteTokenizer(false);
        var resumed = Prepare.run(options(out), fresh, line -> {});
        assertEquals(2, resumed.shardsKept());
        assertEquals(4, resumed.shardsTokenized());
        assertEquals(40 - 14, fresh.encodeCalls.get(), "only documents of unfinished shards are tokenized again");
        assertEquals(checksums(whole), checksums(resumed.manifest()));
    }

    @Test
    void outputIsIndependentOfThreadCount_andSplitIsIndependentOfShardSize() throws Exception {
        var one = Prepare.run(options(dir.resolve("t1")).withThreads(1), new TestTokenizers.ByteTokenizer(false), l -> {}).manifest();
        var three = Prepare.run(options(dir.resolve("t3")).withThreads(3), new TestTokenizers.ByteTokenizer(false), l -> {}).manifest();
        assertEquals(checksums(one), checksums(three));

        var other = Prepare.run(options(dir.resolve("s")).withShardSize(13, 1 << 20), new TestTokenizers.ByteTokenizer(false), l -> {}).manifest();
        assertEquals(one.valid(), other.valid());
        try (var a = TokenDataset.open(dir.resolve("t1")); var b = TokenDataset.open(dir.resolve("s"))) {
            assertEquals(a.documents(TokenDataset.Split.VALID).stream().map(TokenDataset.DocumentEntry::id).toList(),
                    b.documents(TokenDataset.Split.VALID).stream().map(TokenDataset.DocumentEntry::id).toList());
        }
    }

    @Test
    void changingSeqRepacksWithoutRetokenizing_butOtherInputsAreRefused() throws Exception {
        Path out = dir.resolve("out");
        Prepare.run(options(out), new TestTokenizers.ByteTokenizer(false), l -> {});
        var again = new TestTokenizers.ByteTokenizer(false);
        var r = Prepare.run(options(out).withSeq(15), again, l -> {});
        assertEquals(0, again.encodeCalls.get());
        assertEquals(6, r.shardsKept());
        assertEquals(16, r.manifest().instanceLength());

        var e = assertThrows(IllegalStateException.class,
                () -> Prepare.run(options(out).withField("body"), new TestTokenizers.ByteTokenizer(false), l -> {}));
        assertTrue(e.getMessage().startsWith(out + " holds an unfinished or finished prepare run with other inputs"), e.getMessage());
    }

    @Test
    void megatronFormatHoldsTheSameInstances_withBos() throws Exception {
        var k = Prepare.run(options(dir.resolve("k")), new TestTokenizers.ByteTokenizer(true), l -> {}).manifest();
        var g = Prepare.run(options(dir.resolve("g")).withFormat(Prepare.Format.MEGATRON), new TestTokenizers.ByteTokenizer(true), l -> {}).manifest();
        assertEquals("megatron", g.instanceFormat());
        assertEquals(k.train(), g.train());
        try (var a = TokenDataset.open(dir.resolve("k")); var b = TokenDataset.open(dir.resolve("g"));
             var direct = TokenDataset.open(dir.resolve("g/train_0.idx"))) {
            TokenSequences x = a.instances(TokenDataset.Split.TRAIN), y = b.instances(TokenDataset.Split.TRAIN),
                    z = direct.instances(TokenDataset.Split.TRAIN);
            assertInstanceOf(MegatronIndexedDataset.class, y);
            for (long i = 0; i < x.size(); i++) {
                assertEquals(257, x.get(i)[0], "BOS first");
                assertArrayEquals(x.get(i), y.get(i));
                assertArrayEquals(x.get(i), z.get(i));
            }
            assertTrue(direct.manifest().isEmpty());
            assertEquals(32, b.instanceLength());
        }
    }

    @Test
    void tokenizerWithoutEosIsRefused() {
        var noEos = new TestTokenizers.ListTokenizer(List.of("a", "b"), -1, -1);
        var e = assertThrows(IllegalArgumentException.class, () -> Prepare.run(options(dir.resolve("x")), noEos, l -> {}));
        assertEquals("the tokenizer has no EOS token; instances need one to mark where documents end", e.getMessage());
    }

    @Test
    void splitHashIsUniformEnough() {
        int below = 0;
        for (int i = 0; i < 10_000; i++) if (Prepare.splitHash("f.jsonl", "doc" + i, 1234) < 0.1) below++;
        assertTrue(below > 900 && below < 1100, "10% of 10,000 expected, got " + below);
    }
}
