/*
 * BPE training: on the Brown corpus with brown-bpe-512's settings the trainer reproduces HF's vocabulary and
 * merges exactly; on the bundled texts it round-trips, compresses, and its tokenizer.json reloads to the same ids.
 */
package kd4j.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Test
    void brownCorpus_reproducesHfVocabularyAndMerges() throws Exception {
        Path root = HfTokenizerConformanceTest.fixturesRoot();
        Path corpus = root == null ? null : root.resolve("corpus/brown.jsonl");
        Path reference = root == null ? null : root.resolve("tokenizers/brown-bpe-512/tokenizer.json");
        Assumptions.assumeTrue(corpus != null && Files.exists(corpus) && Files.exists(reference),
                "fixtures not found at " + root + "; set KD4J_FIXTURES");
        JsonNode ref = MAPPER.readTree(reference.toFile());
        JsonNode refVocab = ref.get("model").get("vocab");
        BpeTrainer trainer = new BpeTrainer(refVocab.size(), 2, List.of("<|endoftext|>"));
        for (String line : Files.readAllLines(corpus, StandardCharsets.UTF_8)) trainer.add(MAPPER.readTree(line).get("text").asText());
        BpeTrainer.Result result = trainer.train();

        assertEquals(refVocab.size(), result.vocab().size());
        for (int id = 0; id < result.vocab().size(); id++)
            assertEquals(refVocab.get(result.vocab().get(id)).asInt(), id, "id of token " + result.vocab().get(id));
        JsonNode refMerges = ref.get("model").get("merges");
        assertEquals(refMerges.size(), result.merges().size());
        for (int r = 0; r < refMerges.size(); r++) {
            int[] m = result.merges().get(r);
            String actual = result.vocab().get(m[0]) + " " + result.vocab().get(m[1]);
            String expected = refMerges.get(r).get(0).asText() + " " + refMerges.get(r).get(1).asText();
            assertEquals(expected, actual, "merge " + r);
        }
    }

    @Test
    void bundledTexts_roundTripAndReload(@TempDir Path dir) throws Exception {
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(HfTokenizerConformanceTest.bundled().resolve("cases.jsonl")))
            texts.add(MAPPER.readTree(line).get("text").asText());
        BpeTrainer trainer = new BpeTrainer(400, 2, List.of("<|endoftext|>"));
        texts.forEach(trainer::add);
        BpeTrainer.Result result = trainer.train();
        assertEquals(400, result.vocab().size());
        assertEquals(400 - 257, result.merges().size());
        result.save(dir);

        HfTokenizer tok = Tokenizers.load(dir);
        assertEquals(0, tok.eosId());
        long bytes = 0, tokens = 0;
        for (String t : texts) {
            int[] ids = tok.encode(t);
            tokens += ids.length;
            bytes += t.getBytes(StandardCharsets.UTF_8).length;
            String nfc = java.text.Normalizer.normalize(t, java.text.Normalizer.Form.NFC);
            if (!t.contains("<|endoftext|>")) assertEquals(nfc, tok.decode(ids, false), "round trip of " + t);
        }
        assertTrue(tokens < bytes * 0.7, "expected merges to compress the training text: " + tokens + " tokens for " + bytes + " bytes");
        // "the" is among the most frequent words, so the trainer learns " the"
        assertArrayEquals(new int[] {tok.tokenToId("Ġthe")}, tok.encode(" the"));
    }
}
