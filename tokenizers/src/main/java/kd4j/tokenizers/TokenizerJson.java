/*
 * Reads HF tokenizer.json (and the few tokenizer_config.json keys kd4j uses) into an HfTokenizer. Every
 * unsupported component is an error naming it and its JSON path, never a silently different encoding.
 */
package kd4j.tokenizers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import it.unimi.dsi.fastutil.objects.Object2IntOpenHashMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

final class TokenizerJson {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path file;

    private TokenizerJson(Path file) {
        this.file = file;
    }

    /** Parses a tokenizer.json file; config may be null. */
    static HfTokenizer load(Path tokenizerJson, Path tokenizerConfig) throws IOException {
        JsonNode root = readTree(tokenizerJson);
        HfTokenizer.Config config = tokenizerConfig == null || !Files.exists(tokenizerConfig)
                ? HfTokenizer.Config.NONE : new TokenizerJson(tokenizerConfig).config(readTree(tokenizerConfig));
        return new TokenizerJson(tokenizerJson).tokenizer(root, config);
    }

    /** Parses tokenizer.json text (file is used in messages only). */
    static HfTokenizer parse(String json, Path file) {
        try {
            return new TokenizerJson(file).tokenizer(MAPPER.readTree(json), HfTokenizer.Config.NONE);
        } catch (JsonProcessingException e) {
            throw new TokenizerFormatException(file, "$", "not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
    }

    private static JsonNode readTree(Path path) throws IOException {
        try {
            return MAPPER.readTree(path.toFile());
        } catch (JsonProcessingException e) {
            throw new TokenizerFormatException(path, "$", "not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
    }

    private HfTokenizer tokenizer(JsonNode root, HfTokenizer.Config config) {
        if (!root.isObject()) throw error("$", "expected an object, found " + kind(root));
        List<AddedTokens.AddedToken> addedTokens = addedTokens(root.get("added_tokens"), "$.added_tokens");
        BpeModel model = model(required(root, "model", "$"), "$.model");
        Normalizer normalizer = normalizer(root.get("normalizer"), "$.normalizer");
        addedTokens = addedTokens.stream().map(t -> t.normalizedBy(normalizer)).toList();
        PreTokenizer preTokenizer = preTokenizer(root.get("pre_tokenizer"), "$.pre_tokenizer");
        Object2IntOpenHashMap<String> ids = new Object2IntOpenHashMap<>();
        ids.defaultReturnValue(-1);
        for (var t : addedTokens) ids.put(t.content(), t.id());
        PostProcessor post = postProcessor(root.get("post_processor"), "$.post_processor", model, ids);
        Decoder decoder = decoder(root.get("decoder"), "$.decoder");
        return new HfTokenizer(model, new AddedTokens(addedTokens), normalizer, preTokenizer, post, decoder, config);
    }

    private HfTokenizer.Config config(JsonNode root) {
        if (!root.isObject()) throw error("$", "expected an object, found " + kind(root));
        return new HfTokenizer.Config(tokenName(root.get("bos_token"), "$.bos_token"),
                tokenName(root.get("eos_token"), "$.eos_token"),
                bool(root, "add_bos_token", false, "$"), bool(root, "add_eos_token", false, "$"));
    }

    /** A special token written as "text" or {"content": "text", ...}. */
    private String tokenName(JsonNode n, String path) {
        if (n == null || n.isNull()) return null;
        if (n.isTextual()) return n.asText();
        if (n.isObject()) return string(n, "content", path);
        throw error(path, "expected a token string or {\"content\": ...}, found " + kind(n));
    }

    // ---- added tokens ----

    private List<AddedTokens.AddedToken> addedTokens(JsonNode n, String path) {
        List<AddedTokens.AddedToken> out = new ArrayList<>();
        if (n == null || n.isNull()) return out;
        if (!n.isArray()) throw error(path, "expected an array, found " + kind(n));
        for (int i = 0; i < n.size(); i++) {
            JsonNode t = n.get(i);
            String p = path + "[" + i + "]";
            if (!t.isObject()) throw error(p, "expected an object, found " + kind(t));
            boolean special = bool(t, "special", false, p);
            out.add(new AddedTokens.AddedToken(integer(t, "id", p), string(t, "content", p),
                    bool(t, "single_word", false, p), bool(t, "lstrip", false, p), bool(t, "rstrip", false, p),
                    bool(t, "normalized", !special, p), special));
        }
        return out;
    }

    // ---- model ----

    private BpeModel model(JsonNode n, String path) {
        if (!n.isObject()) throw error(path, "expected an object, found " + kind(n));
        String type = n.has("type") ? string(n, "type", path) : (n.has("merges") ? "BPE" : "?");
        if (!type.equals("BPE"))
            throw error(path + ".type", "model '" + type + "' is not supported (supported: BPE)");
        JsonNode dropout = n.get("dropout");
        if (dropout != null && !dropout.isNull() && dropout.asDouble() > 0)
            throw error(path + ".dropout", "BPE dropout " + dropout.asDouble() + " is not supported (use null)");
        JsonNode vocabNode = required(n, "vocab", path);
        if (!vocabNode.isObject()) throw error(path + ".vocab", "expected an object of token: id, found " + kind(vocabNode));
        Object2IntOpenHashMap<String> vocab = new Object2IntOpenHashMap<>(vocabNode.size() * 2);
        vocab.defaultReturnValue(-1);
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0)
                throw error(path + ".vocab[" + quote(e.getKey()) + "]", "expected a non-negative integer id, found " + kind(e.getValue()));
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        String prefix = optString(n, "continuing_subword_prefix", path);
        String suffix = optString(n, "end_of_word_suffix", path);
        int prefixLen = prefix == null ? 0 : prefix.length();
        JsonNode merges = n.get("merges");
        int count = merges == null || merges.isNull() ? 0 : merges.size();
        if (merges != null && !merges.isNull() && !merges.isArray())
            throw error(path + ".merges", "expected an array, found " + kind(merges));
        int[][] mergeIds = new int[count][];
        for (int i = 0; i < count; i++) {
            JsonNode m = merges.get(i);
            String p = path + ".merges[" + i + "]";
            String a, b;
            if (m.isTextual()) {
                String[] parts = m.asText().split(" ", -1);
                if (parts.length != 2) throw error(p, "expected \"left right\" or [\"left\",\"right\"], found " + quote(m.asText()));
                a = parts[0];
                b = parts[1];
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                a = m.get(0).asText();
                b = m.get(1).asText();
            } else throw error(p, "expected \"left right\" or [\"left\",\"right\"], found " + m);
            int ia = vocab.getInt(a), ib = vocab.getInt(b);
            String merged = a + (prefixLen > 0 && b.startsWith(prefix) ? b.substring(prefixLen) : b);
            int ir = vocab.getInt(merged);
            if (ia < 0) throw error(p, "token " + quote(a) + " is not in the vocabulary");
            if (ib < 0) throw error(p, "token " + quote(b) + " is not in the vocabulary");
            if (ir < 0) throw error(p, "merged token " + quote(merged) + " is not in the vocabulary");
            mergeIds[i] = new int[] {ia, ib, ir};
        }
        String unk = optString(n, "unk_token", path);
        if (unk != null && vocab.getInt(unk) < 0) throw error(path + ".unk_token", "unk token " + quote(unk) + " is not in the vocabulary");
        return new BpeModel(vocab, mergeIds, unk, bool(n, "fuse_unk", false, path), bool(n, "byte_fallback", false, path),
                bool(n, "ignore_merges", false, path), prefix, suffix);
    }

    // ---- normalizers ----

    private Normalizer normalizer(JsonNode n, String path) {
        if (n == null || n.isNull()) return null;
        String type = type(n, path);
        return switch (type) {
            case "NFC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFC);
            case "NFD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFD);
            case "NFKC" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKC);
            case "NFKD" -> new Normalizer.Unicode(java.text.Normalizer.Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Prepend" -> new Normalizer.Prepend(string(n, "prepend", path));
            case "Replace" -> {
                JsonNode pattern = required(n, "pattern", path);
                String content = string(n, "content", path);
                String literal = pattern.has("String") ? string(pattern, "String", path + ".pattern") : null;
                yield new Normalizer.Replace(literal, literal == null ? regex(pattern, path + ".pattern") : null, content);
            }
            case "Strip" -> new Normalizer.Strip(bool(n, "strip_left", false, path), bool(n, "strip_right", false, path));
            case "Sequence" -> {
                List<Normalizer> steps = new ArrayList<>();
                JsonNode list = array(n, "normalizers", path);
                for (int i = 0; i < list.size(); i++) steps.add(normalizer(list.get(i), path + ".normalizers[" + i + "]"));
                yield new Normalizer.Sequence(steps);
            }
            default -> throw error(path + ".type", "normalizer '" + type + "' is not supported (supported: NFC, NFD, NFKC, "
                    + "NFKD, Lowercase, Prepend, Replace, Strip, Sequence)");
        };
    }

    // ---- pre-tokenizers ----

    private PreTokenizer preTokenizer(JsonNode n, String path) {
        if (n == null || n.isNull()) return null;
        String type = type(n, path);
        return switch (type) {
            case "ByteLevel" -> new PreTokenizer.ByteLevelSplit(bool(n, "add_prefix_space", true, path), bool(n, "use_regex", true, path));
            case "Split" -> {
                JsonNode pattern = required(n, "pattern", path);
                PreTokenizer.Matcher m;
                if (pattern.has("String")) m = PreTokenizer.RegexMatcher.literal(string(pattern, "String", path + ".pattern"));
                else {
                    String regex = string(pattern, "Regex", path + ".pattern");
                    Cl100kSplitter fast = Cl100kSplitter.forPattern(regex);
                    m = fast != null ? fast : new PreTokenizer.RegexMatcher(regex(pattern, path + ".pattern").pattern());
                }
                yield new PreTokenizer.Split(m, behavior(string(n, "behavior", path), path + ".behavior"), bool(n, "invert", false, path));
            }
            case "Digits" -> new PreTokenizer.Digits(bool(n, "individual_digits", false, path));
            case "Whitespace" -> new PreTokenizer.Whitespace();
            case "WhitespaceSplit" -> new PreTokenizer.WhitespaceSplit();
            case "Metaspace" -> new PreTokenizer.Metaspace(replacement(n, path), prependScheme(n, path), bool(n, "split", true, path));
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                JsonNode list = array(n, "pretokenizers", path);
                for (int i = 0; i < list.size(); i++) steps.add(preTokenizer(list.get(i), path + ".pretokenizers[" + i + "]"));
                yield new PreTokenizer.Sequence(steps);
            }
            default -> throw error(path + ".type", "pre-tokenizer '" + type + "' is not supported (supported: ByteLevel, "
                    + "Split, Digits, Whitespace, WhitespaceSplit, Metaspace, Sequence)");
        };
    }

    private PreTokenizer.Behavior behavior(String s, String path) {
        return switch (s) {
            case "Removed" -> PreTokenizer.Behavior.REMOVED;
            case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
            case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
            default -> throw error(path, "expected one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                    + "Contiguous, found " + quote(s));
        };
    }

    private char replacement(JsonNode n, String path) {
        String r = n.has("replacement") ? string(n, "replacement", path) : "\u2581";
        if (r.length() != 1) throw error(path + ".replacement", "expected one character, found " + quote(r));
        return r.charAt(0);
    }

    private String prependScheme(JsonNode n, String path) {
        if (n.has("prepend_scheme")) {
            String s = string(n, "prepend_scheme", path);
            if (!s.equals("always") && !s.equals("first") && !s.equals("never"))
                throw error(path + ".prepend_scheme", "expected always, first or never, found " + quote(s));
            return s;
        }
        return bool(n, "add_prefix_space", true, path) ? "always" : "never";
    }

    private Pattern regex(JsonNode pattern, String path) {
        String regex = string(pattern, "Regex", path);
        try {
            return Pattern.compile(regex, PreTokenizer.RegexMatcher.FLAGS);
        } catch (PatternSyntaxException e) {
            throw error(path + ".Regex", "regex not supported by kd4j: " + e.getDescription() + " at index " + e.getIndex());
        }
    }

    // ---- post-processors ----

    private PostProcessor postProcessor(JsonNode n, String path, BpeModel model, Object2IntOpenHashMap<String> added) {
        if (n == null || n.isNull()) return null;
        String type = type(n, path);
        return switch (type) {
            case "ByteLevel" -> new PostProcessor.Identity();
            case "TemplateProcessing" -> {
                JsonNode specials = n.get("special_tokens");
                JsonNode single = array(n, "single", path);
                List<PostProcessor.Item> items = new ArrayList<>();
                for (int i = 0; i < single.size(); i++) {
                    JsonNode item = single.get(i);
                    String p = path + ".single[" + i + "]";
                    if (item.has("Sequence")) items.add(new PostProcessor.Item(null));
                    else if (item.has("SpecialToken")) {
                        String name = string(item.get("SpecialToken"), "id", p + ".SpecialToken");
                        JsonNode spec = specials == null ? null : specials.get(name);
                        if (spec == null) throw error(p, "special token " + quote(name) + " is not in " + path + ".special_tokens");
                        JsonNode idsNode = array(spec, "ids", path + ".special_tokens[" + quote(name) + "]");
                        int[] ids = new int[idsNode.size()];
                        for (int k = 0; k < ids.length; k++) ids[k] = idsNode.get(k).asInt();
                        items.add(new PostProcessor.Item(ids));
                    } else throw error(p, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, found " + item);
                }
                yield new PostProcessor.Template(items);
            }
            case "BertProcessing", "RobertaProcessing" -> {
                int cls = array(n, "cls", path).get(1).asInt(), sep = array(n, "sep", path).get(1).asInt();
                yield new PostProcessor.Template(List.of(new PostProcessor.Item(new int[] {cls}), new PostProcessor.Item(null),
                        new PostProcessor.Item(new int[] {sep})));
            }
            case "Sequence" -> {
                List<PostProcessor> steps = new ArrayList<>();
                JsonNode list = array(n, "processors", path);
                for (int i = 0; i < list.size(); i++) steps.add(postProcessor(list.get(i), path + ".processors[" + i + "]", model, added));
                yield new PostProcessor.Sequence(steps);
            }
            default -> throw error(path + ".type", "post-processor '" + type + "' is not supported (supported: "
                    + "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
        };
    }

    // ---- decoders ----

    private Decoder decoder(JsonNode n, String path) {
        if (n == null || n.isNull()) return null;
        String type = type(n, path);
        return switch (type) {
            case "ByteLevel" -> new Decoder.ByteLevelDecoder();
            case "Metaspace" -> new Decoder.Metaspace(replacement(n, path), !prependScheme(n, path).equals("never"));
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Strip" -> {
                String content = string(n, "content", path);
                if (content.length() != 1) throw error(path + ".content", "expected one character, found " + quote(content));
                yield new Decoder.Strip(content.charAt(0), integer(n, "start", path), integer(n, "stop", path));
            }
            case "Replace" -> {
                JsonNode pattern = required(n, "pattern", path);
                String content = string(n, "content", path);
                String literal = pattern.has("String") ? string(pattern, "String", path + ".pattern") : null;
                yield new Decoder.Replace(literal, literal == null ? regex(pattern, path + ".pattern") : null, content);
            }
            case "Sequence" -> {
                List<Decoder> steps = new ArrayList<>();
                JsonNode list = array(n, "decoders", path);
                for (int i = 0; i < list.size(); i++) steps.add(decoder(list.get(i), path + ".decoders[" + i + "]"));
                yield new Decoder.Sequence(steps);
            }
            default -> throw error(path + ".type", "decoder '" + type + "' is not supported (supported: ByteLevel, "
                    + "Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence)");
        };
    }

    // ---- typed access with JSON paths ----

    private String type(JsonNode n, String path) {
        if (!n.isObject()) throw error(path, "expected an object, found " + kind(n));
        return string(n, "type", path);
    }

    private JsonNode required(JsonNode n, String field, String path) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw error(path + "." + field, "missing (required)");
        return v;
    }

    private JsonNode array(JsonNode n, String field, String path) {
        JsonNode v = required(n, field, path);
        if (!v.isArray()) throw error(path + "." + field, "expected an array, found " + kind(v));
        return v;
    }

    private String string(JsonNode n, String field, String path) {
        JsonNode v = required(n, field, path);
        if (!v.isTextual()) throw error(path + "." + field, "expected a string, found " + kind(v));
        return v.asText();
    }

    private String optString(JsonNode n, String field, String path) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw error(path + "." + field, "expected a string or null, found " + kind(v));
        return v.asText();
    }

    private int integer(JsonNode n, String field, String path) {
        JsonNode v = required(n, field, path);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) throw error(path + "." + field, "expected an integer, found " + kind(v));
        return v.asInt();
    }

    private boolean bool(JsonNode n, String field, boolean dflt, String path) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw error(path + "." + field, "expected true or false, found " + kind(v));
        return v.asBoolean();
    }

    private static String kind(JsonNode v) {
        String s = v.toString();
        return v.getNodeType().name().toLowerCase() + " " + (s.length() > 60 ? s.substring(0, 60) + "…" : s);
    }

    private static String quote(String s) {
        return "\"" + s + "\"";
    }

    private TokenizerFormatException error(String jsonPath, String message) {
        return new TokenizerFormatException(file, jsonPath, message);
    }
}
