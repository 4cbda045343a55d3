/*
 * `kd4j tokenize`: encode text (--text, --input FILE or stdin) to ids, show tokens, decode ids back, or check a
 * tokenizer against HF reference cases (--check CASES.jsonl: exit 1 on any mismatch).
 */
package kd4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.tokenizers.HfTokenizer;
import kd4j.tokenizers.TextFiles;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Encode text with a HuggingFace tokenizer, decode ids, or check against reference cases.")
public final class TokenizeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR", description = "Directory with tokenizer.json.")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "TEXT", description = "Text to encode (default: --input or stdin).")
    String text;

    @Option(names = "--input", paramLabel = "FILE", description = "File whose whole content is encoded.")
    Path input;

    @Option(names = "--show", description = "Print one line per token: id, tab, token string.")
    boolean show;

    @Option(names = "--decode", description = "Read ids (separated by spaces or commas) and print the text.")
    boolean decode;

    @Option(names = "--special", description = "Add the post-processor's special tokens (encode) / skip special tokens (decode).")
    boolean special;

    @Option(names = "--check", paramLabel = "CASES.jsonl",
            description = "Compare ids, ids_with_special, decoded and decoded_skip_special with every case.")
    Path check;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        HfTokenizer tok = Tokenizers.load(tokenizer);
        if (check != null) return check(tok, out);
        String source = readSource(err);
        if (decode) {
            out.println(tok.decode(parseIds(source), special));
        } else {
            int[] ids = special ? tok.encodeWithSpecialTokens(source) : tok.encode(source);
            if (show) for (int id : ids) out.println(id + "\t" + tok.idToToken(id));
            else out.println(join(ids));
        }
        out.flush();
        return ExitCodes.OK;
    }

    private String readSource(PrintWriter err) throws IOException {
        if (text != null && input != null)
            throw new CommandLine.ParameterException(spec.commandLine(), "give --text or --input, not both");
        if (text != null) return text;
        if (input != null) return TextFiles.readText(input, w -> err.println("kd4j: warning: " + w));
        return TextFiles.decode(System.in.readAllBytes(), "stdin", w -> err.println("kd4j: warning: " + w));
    }

    private int[] parseIds(String s) {
        String trimmed = s.strip().replace("[", "").replace("]", "");
        if (trimmed.isEmpty()) return new int[0];
        String[] parts = trimmed.split("[\\s,]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--decode expects token ids, found \"" + parts[i] + "\" at position " + i);
            }
        }
        return ids;
    }

    private int check(HfTokenizer tok, PrintWriter out) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        List<String> lines = Files.readAllLines(check, StandardCharsets.UTF_8);
        int cases = 0, mismatches = 0;
        List<String> first = new ArrayList<>();
        for (int ln = 0; ln < lines.size(); ln++) {
            if (lines.get(ln).isBlank()) continue;
            JsonNode c = mapper.readTree(lines.get(ln));
            String where = check + ":" + (ln + 1);
            String caseText = field(c, "text", where).asText();
            cases++;
            boolean bad = false;
            int[] ids = tok.encode(caseText), expected = ints(field(c, "ids", where));
            if (!Arrays.equals(ids, expected)) {
                bad = true;
                if (first.isEmpty()) first = List.of(where + ": ids differ", "  expected " + join(expected), "  actual   " + join(ids));
            }
            if (c.has("ids_with_special")) {
                int[] ws = tok.encodeWithSpecialTokens(caseText), expectedWs = ints(c.get("ids_with_special"));
                if (!Arrays.equals(ws, expectedWs)) {
                    bad = true;
                    if (first.isEmpty()) first = List.of(where + ": ids_with_special differ", "  expected " + join(expectedWs), "  actual   " + join(ws));
                }
                if (c.has("decoded_skip_special") && !tok.decode(expectedWs, true).equals(c.get("decoded_skip_special").asText())) {
                    bad = true;
                    if (first.isEmpty()) first = List.of(where + ": decoded_skip_special differs",
                            "  expected " + c.get("decoded_skip_special").asText(), "  actual   " + tok.decode(expectedWs, true));
                }
            }
            if (c.has("decoded") && !tok.decode(expected, false).equals(c.get("decoded").asText())) {
                bad = true;
                if (first.isEmpty()) first = List.of(where + ": decoded differs", "  expected " + c.get("decoded").asText(),
                        "  actual   " + tok.decode(expected, false));
            }
            if (bad) mismatches++;
        }
        first.forEach(out::println);
        out.println("cases: " + cases + ", mismatches: " + mismatches);
        out.flush();
        return mismatches == 0 ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private static JsonNode field(JsonNode c, String name, String where) {
        JsonNode v = c.get(name);
        if (v == null) throw new IllegalArgumentException(where + ": case has no field \"" + name + "\"");
        return v;
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    private static String join(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) sb.append(i == 0 ? "" : " ").append(ids[i]);
        return sb.toString();
    }
}
