package kd4j.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prepare with a real byte-level BPE tokenizer (the fixtures' brown-bpe-512, copied into test resources) on Moby-Dick. */
class PrepareRealTokenizerTest {
    @TempDir Path dir;

    @Test
    void mobyDickChapters_packIntoSentenceAlignedInstances_andEveryTokenIsAccountedFor() throws Exception {
        Path moby = Path.of("..", "corpora", "moby-dick.jsonl.gz");
        Assumptions.assumeTrue(Files.exists(moby), "bundled corpus not found at " + moby.toAbsolutePath().normalize());
        Path corpus = dir.resolve("moby-12.jsonl");
        List<String> texts = new ArrayList<>();
        try (var r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(moby)), StandardCharsets.UTF_8))) {
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String line = r.readLine();
                lines.add(line);
                texts.add(TokenDataset.JSON.readTree(line).get("text").asText());
            }
            Files.write(corpus, lines);
        }
        Tokenizer tok = Tokenizers.load(Path.of("src/test/resources/tokenizers/brown-bpe-512"));
        assertEquals(0, tok.eosId());
        assertEquals(-1, tok.bosId());

        Path out = dir.resolve("out");
        var o = Prepare.Options.defaults(List.of(corpus), out).withSeq(64).withValidation(0.2).withThreads(2).withShardSize(5, 1 << 20);
        var m = Prepare.run(o, tok, line -> {}).manifest();
        assertEquals(12, m.total().documents());
        assertEquals(2, m.tokenBytes());
        // Without BOS, packing only cuts and drops: instance tokens + unpacked tokens = document tokens.
        assertEquals(m.total().documentTokens(), m.total().instanceTokens() + m.unpackedTokens());

        var ends = InstanceBuilder.SentenceEnds.of(tok);
        try (TokenDataset ds = TokenDataset.open(out)) {
            ds.verify();
            for (var d : ds.documents()) {
                int[] ids = tok.encode(texts.get((int) d.ordinal()));
                int[] expected = Arrays.copyOf(ids, ids.length + 1);
                expected[ids.length] = tok.eosId();
                assertArrayEquals(expected, ds.documentTokens(d), d.id());
            }
            TokenSequences train = ds.instances(TokenDataset.Split.TRAIN);
            assertTrue(train.size() > 100, "instances: " + train.size());
            int cut = 0;
            for (long i = 0; i < train.size(); i++) {
                int[] t = train.get(i);
                assertTrue(t.length >= 2 && t.length <= 65, "instance " + i + " has " + t.length + " tokens");
                if (t.length < 65) {
                    cut++;
                    assertTrue(ends.isSentenceEndToken(t[t.length - 1]), "instance " + i + " was cut after a non-end token: "
                            + tok.decode(new int[] {t[t.length - 1]}, false));
                }
            }
            assertTrue(cut > train.size() / 2, "most instances end at a sentence end: " + cut + " of " + train.size());
        }
    }
}
