/*
 * `kd4j bench tokenize`: encoding throughput of a tokenizer on a text file (JSONL documents or plain-text
 * lines), on T threads over documents. One warm-up pass, then --runs timed passes; last line is the median MB/s
 * (MB = 10^6 bytes of UTF-8 input).
 */
package kd4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import kd4j.tokenizers.HfTokenizer;
import kd4j.tokenizers.TextFiles;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Tokenizer encoding throughput in MB/s.")
public final class BenchTokenizeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR", description = "Directory with tokenizer.json.")
    Path tokenizer;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "Text: .jsonl documents (see --field) or plain-text lines.")
    Path input;

    @Option(names = "--field", defaultValue = "text", paramLabel = "NAME", description = "JSONL field with the text (default: ${DEFAULT-VALUE}).")
    String field;

    @Option(names = "--threads", defaultValue = "1", paramLabel = "T", description = "Encoding threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--runs", defaultValue = "5", paramLabel = "N", description = "Timed passes after one warm-up (default: ${DEFAULT-VALUE}).")
    int runs;

    @Override
    public Integer call() throws IOException {
        if (threads < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be >= 1, got " + threads);
        if (runs < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--runs must be >= 1, got " + runs);
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        HfTokenizer tok = Tokenizers.load(tokenizer);
        out.printf("loaded %s in %.2f s (vocabulary %d)%n", tokenizer, (System.nanoTime() - t0) / 1e9, tok.vocabSize());
        List<String> docs = TextFiles.readDocuments(input, field, w -> err.println("kd4j: warning: " + w));
        long bytes = 0;
        for (String d : docs) bytes += d.getBytes(StandardCharsets.UTF_8).length;
        out.printf("input: %d documents, %.2f MB, %d thread%s%n", docs.size(), bytes / 1e6, threads, threads == 1 ? "" : "s");
        double[] mbs = new double[runs];
        for (int r = -1; r < runs; r++) {
            long s = System.nanoTime();
            int[][] ids = tok.encodeBatch(docs, threads);
            double sec = (System.nanoTime() - s) / 1e9;
            long tokens = 0;
            for (int[] a : ids) tokens += a.length;
            if (r < 0) { out.printf("warm-up: %d tokens, %.2f s%n", tokens, sec); continue; }
            mbs[r] = bytes / 1e6 / sec;
            out.printf("run %d: %.2f s, %.2f MB/s, %.0f tokens/s%n", r + 1, sec, mbs[r], tokens / sec);
        }
        Arrays.sort(mbs);
        out.printf("MB/s: %.2f%n", mbs[runs / 2]);
        out.flush();
        return ExitCodes.OK;
    }
}
