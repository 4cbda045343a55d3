/*
 * Conformance with HF tokenizers, one tokenizer.json component at a time: every directory under the bundled
 * resources kd4j/tokenizers/components/ holds a small hand-made tokenizer.json exercising one configuration
 * (Metaspace schemes, Digits, Whitespace, Split behaviors, normalizers, decoders, added-token flags, BPE options)
 * and HF's encodings and decodings of tricky texts (see the README.md there). ids, ids_with_special, decoded
 * and decoded_skip_special must equal HF's exactly; the comparison is HfTokenizerConformanceTest.check.
 */
package kd4j.tokenizers;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

class ComponentConformanceTest {

    static Path componentsRoot() throws Exception {
        return Path.of(ComponentConformanceTest.class.getResource("components/README.md").toURI()).getParent();
    }

    @TestFactory
    Stream<DynamicTest> everyComponent_matchesHf() throws Exception {
        Path root = componentsRoot();
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.filter(Files::isDirectory).sorted().toList();
        }
        assertTrue(dirs.size() >= 10, "expected the component directories under " + root + ", found " + dirs.size());
        return dirs.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> {
            assertTrue(Files.exists(d.resolve("tokenizer.json")) && Files.exists(d.resolve("cases.jsonl")),
                    d + " must hold tokenizer.json and cases.jsonl");
            List<String> mismatches = check(d);
            if (!mismatches.isEmpty())
                fail(mismatches.size() + " mismatches in " + d + ":\n" + String.join("\n", mismatches));
        }));
    }

    private static List<String> check(Path dir) throws IOException {
        return HfTokenizerConformanceTest.check(dir);
    }
}
