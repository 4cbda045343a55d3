/*
 * Loading details beyond the fixtures: malformed tokenizer.json names the JSON path, unsupported components are
 * named, merges load in both stored forms, and batch encoding equals one-by-one encoding.
 */
package kd4j.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizerJsonTest {
    static final String TINY = """
            {"added_tokens": [{"id": 6, "content": "<eos>", "special": true, "normalized": false}],
             "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
             "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "<eos>", "type_id": 0}}], "special_tokens": {"<eos>": {"id": "<eos>", "ids": [6], "tokens": ["<eos>"]}}},
             "decoder": null,
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "bc": 5}, MERGES}}
            """;

    @Test
    void mergesInBothForms_encodeAlike() {
        var strings = Tokenizers.parse(TINY.replace("MERGES", "\"merges\": [\"a b\", \"ab c\", \"b c\"]"), "tiny.json");
        var pairs = Tokenizers.parse(TINY.replace("MERGES", "\"merges\": [[\"a\", \"b\"], [\"ab\", \"c\"], [\"b\", \"c\"]]"), "tiny.json");
        assertArrayEquals(new int[] {4, 5, 0}, strings.encode("abc bc a"));
        assertArrayEquals(new int[] {4, 5, 0}, pairs.encode("abc bc a"));
        assertArrayEquals(new int[] {4, 6, 0, 6}, strings.encodeWithSpecialTokens("abc<eos>a"));
        assertEquals("abc <eos> a", strings.decode(new int[] {4, 6, 0}, false));
        assertEquals("abc a", strings.decode(new int[] {4, 6, 0}, true));
        assertEquals(6, strings.eosId());
        assertEquals(7, strings.vocabSize());
    }

    @Test
    void malformedMerge_namesJsonPath() {
        var e = assertThrows(TokenizerFormatException.class,
                () -> Tokenizers.parse(TINY.replace("MERGES", "\"merges\": [\"a b\", 42]"), "tiny.json"));
        assertEquals("$.model.merges[1]", e.jsonPath());
        assertTrue(e.getMessage().startsWith("tiny.json: $.model.merges[1]: expected \"left right\" or [\"left\",\"right\"], found 42"),
                e.getMessage());
        var missing = assertThrows(TokenizerFormatException.class,
                () -> Tokenizers.parse(TINY.replace("MERGES", "\"merges\": [\"a x\"]"), "tiny.json"));
        assertEquals("tiny.json: $.model.merges[0]: token \"x\" is not in the vocabulary", missing.getMessage());
        var badJson = assertThrows(TokenizerFormatException.class, () -> Tokenizers.parse("{\"model\": ", "t.json"));
        assertTrue(badJson.getMessage().startsWith("t.json: $: not valid JSON"), badJson.getMessage());
    }

    @Test
    void unsupportedComponents_areNamed() {
        var unigram = assertThrows(TokenizerFormatException.class, () -> Tokenizers.parse(
                TINY.replace("\"type\": \"BPE\"", "\"type\": \"Unigram\"").replace("MERGES", "\"merges\": []"), "u.json"));
        assertEquals("u.json: $.model.type: model 'Unigram' is not supported (supported: BPE)", unigram.getMessage());
        var bert = assertThrows(TokenizerFormatException.class, () -> Tokenizers.parse(
                TINY.replace("\"normalizer\": null", "\"normalizer\": {\"type\": \"BertNormalizer\"}").replace("MERGES", "\"merges\": []"), "b.json"));
        assertTrue(bert.getMessage().startsWith("b.json: $.normalizer.type: normalizer 'BertNormalizer' is not supported"), bert.getMessage());
    }

    @Test
    void encodeBatch_equalsSequentialEncoding() throws Exception {
        Tokenizer tok = Tokenizers.load(HfTokenizerConformanceTest.bundled());
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(HfTokenizerConformanceTest.bundled().resolve("cases.jsonl")))
            texts.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("text").asText());
        int[][] batch = tok.encodeBatch(texts, 3);
        assertEquals(texts.size(), batch.length);
        for (int i = 0; i < texts.size(); i++) assertArrayEquals(tok.encode(texts.get(i)), batch[i], "text " + i);
    }
}
