/*
 * Entry point for loading tokenizers: a HuggingFace model directory (tokenizer.json, optionally
 * tokenizer_config.json) or a tokenizer.json file.
 */
package kd4j.tokenizers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

public final class Tokenizers {

    /**
     * Loads dir/tokenizer.json (and dir/tokenizer_config.json when present: bos/eos tokens, add_bos_token,
     * add_eos_token). dir may also be the tokenizer.json file itself.
     *
     * @throws TokenizerFormatException when a file is malformed or uses an unsupported component
     * @throws UncheckedIOException when a file cannot be read
     */
    public static HfTokenizer load(Path dir) {
        Path json = Files.isDirectory(dir) ? dir.resolve("tokenizer.json") : dir;
        Path config = json.resolveSibling("tokenizer_config.json");
        if (!Files.exists(json))
            throw new UncheckedIOException(new NoSuchFileException(json.toString(), null,
                    "no tokenizer.json found (expected a HuggingFace tokenizer directory)"));
        try {
            return TokenizerJson.load(json, Files.exists(config) ? config : null);
        } catch (IOException e) {
            throw new UncheckedIOException(json + ": " + e.getMessage(), e);
        }
    }

    /** Parses tokenizer.json text; name is used in error messages. */
    public static HfTokenizer parse(String tokenizerJson, String name) {
        return TokenizerJson.parse(tokenizerJson, Path.of(name));
    }

    private Tokenizers() {}
}
