/*
 * `kd4j inspect MODEL_DIR`: what an HF model folder holds, read from config.json and the safetensors headers
 * without loading a weight: architecture and the flags that change its math, parameter count, dtypes, shards,
 * tied head, config vocabulary vs tokenizer size (padded vocabularies such as Qwen2.5's 151,936 for 151,665
 * tokens are normal), and the memory plans of scoring and of training at --batch and --seq.
 */
package kd4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import kd4j.models.ChunkedLogits;
import kd4j.models.MemoryPlan;
import kd4j.models.ModelConfig;
import kd4j.models.Models;
import kd4j.models.TransformerConfig;
import kd4j.models.io.HfCheckpoint;
import kd4j.models.io.SafeTensors;
import kd4j.models.mamba.MambaConfig;
import kd4j.tensor.Backend;
import kd4j.tokenizers.Tokenizer;
import kd4j.tokenizers.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Describe an HF model folder (architecture, parameters, dtypes, shards, tied head, vocabulary vs "
                + "tokenizer) and estimate the memory of scoring and training it at --batch x --seq.")
public final class InspectCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL_DIR", description = "HF model folder (config.json + safetensors)")
    Path model;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "batch for the memory plans (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--seq", paramLabel = "T", defaultValue = "1024", description = "tokens per instance for the memory plans (default: ${DEFAULT-VALUE})")
    int seq;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "tokenizer folder to compare (default: the model folder when it has tokenizer.json)")
    Path tokenizer;

    @CommandLine.Mixin
    DeviceOptions device = new DeviceOptions();

    @Override
    public Integer call() {
        if (batch < 1 || seq < 1)
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch and --seq must be at least 1, got "
                    + batch + " and " + seq);
        PrintWriter out = spec.commandLine().getOut();
        ModelConfig config = Models.readConfig(model);
        out.printf(Locale.ROOT, "%s: %s%n", model, config.architecture());
        out.printf(Locale.ROOT, "  %s%n", shape(config));
        out.printf(Locale.ROOT, "  parameters: %,d%s%n", MemoryPlan.parameterCount(config),
                config.tieWordEmbeddings() ? " (lm_head tied to the embedding table)" : " (untied lm_head)");
        files(out);
        vocabulary(out, config);
        try (Backend be = device.open()) {
            out.println(MemoryPlan.inference("score (batch " + batch + " x seq " + seq + ")", model, batch, seq,
                    ChunkedLogits.DEFAULT_CHUNK_BYTES, be).table());
            out.println(MemoryPlan.training(config, batch, seq, false, false, null, be).table());
            out.println(MemoryPlan.training(config, batch, seq, true, false, null, be).table()
                    .replace("memory plan for pretrain", "memory plan for pretrain with activation checkpointing"));
        }
        out.flush();
        return ExitCodes.OK;
    }

    private static String shape(ModelConfig c) {
        return switch (c) {
            case TransformerConfig t -> String.format(Locale.ROOT, "hidden %d, %d layers, %d heads / %d kv heads,"
                            + " head_dim %d, intermediate %d, vocab %,d; rope %s theta %.0f; bias q/k/v %s, o_proj %s,"
                            + " mlp %s; q/k norm %s", t.hiddenSize(), t.numHiddenLayers(), t.numAttentionHeads(),
                    t.numKeyValueHeads(), t.headDim(), t.intermediateSize(), t.vocabSize(), t.rope().type(),
                    t.rope().theta(), yes(t.qkvBias()), yes(t.outputBias()), yes(t.mlpBias()), yes(t.qkNorm()));
            case MambaConfig m -> String.format(Locale.ROOT, "hidden %d, %d layers, intermediate %d, d_state %d,"
                            + " d_conv %d, dt_rank %d, vocab %,d; bias %s, conv bias %s", m.hiddenSize(),
                    m.numHiddenLayers(), m.intermediateSize(), m.stateSize(), m.convKernel(), m.timeStepRank(),
                    m.vocabSize(), yes(m.useBias()), yes(m.useConvBias()));
            default -> "hidden " + c.hiddenSize() + ", " + c.numHiddenLayers() + " layers, vocab " + c.vocabSize();
        };
    }

    private static String yes(boolean b) { return b ? "yes" : "no"; }

    /** Shards with their sizes, and tensor count and bytes per dtype. */
    private void files(PrintWriter out) {
        Map<String, long[]> byDtype = new TreeMap<>();
        StringBuilder shards = new StringBuilder();
        int count = 0;
        try (var files = Files.list(model)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("model")
                    && f.getFileName().toString().endsWith(".safetensors")).sorted().toList()) {
                SafeTensors st = SafeTensors.open(f);
                count++;
                shards.append(String.format(Locale.ROOT, "%n    %s  %s, %d tensors", f.getFileName(),
                        human(Files.size(f)), st.names().size()));
                for (String n : st.names()) {
                    SafeTensors.Entry e = st.entry(n);
                    long[] acc = byDtype.computeIfAbsent(e.dtypeName(), k -> new long[2]);
                    acc[0]++;
                    acc[1] += e.end() - e.begin();
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(model + ": cannot list: " + e.getMessage(), e);
        }
        boolean sharded = Files.exists(model.resolve(HfCheckpoint.INDEX));
        out.printf(Locale.ROOT, "  weights: %d file%s%s:%s%n", count, count == 1 ? "" : "s",
                sharded ? " (sharded, " + HfCheckpoint.INDEX + ")" : "", shards);
        StringBuilder d = new StringBuilder();
        byDtype.forEach((k, v) -> d.append(String.format(Locale.ROOT, "%s%s %d tensors %s", d.isEmpty() ? "" : ", ", k, v[0], human(v[1]))));
        out.printf("  dtypes: %s%n", d);
    }

    private void vocabulary(PrintWriter out, ModelConfig config) {
        Path tokDir = tokenizer != null ? tokenizer : model;
        if (!Files.isRegularFile(tokDir.resolve("tokenizer.json"))) {
            out.printf(Locale.ROOT, "  vocabulary: %,d rows (no tokenizer.json in %s; give --tokenizer DIR to compare)%n",
                    config.vocabSize(), tokDir);
            return;
        }
        Tokenizer tok = Tokenizers.load(tokDir);
        int rows = config.vocabSize(), ids = tok.vocabSize();
        String verdict = ids == rows ? "equal"
                : ids < rows ? String.format(Locale.ROOT, "%,d padding rows the tokenizer never emits (normal: padded for speed)", rows - ids)
                : String.format(Locale.ROOT, "MISMATCH: the tokenizer has %,d ids more than the model has rows; this is not the model's tokenizer", ids - rows);
        out.printf(Locale.ROOT, "  vocabulary: %,d rows in the model, %,d ids in the tokenizer: %s%n", rows, ids, verdict);
    }

    private static String human(long bytes) { return MemoryPlan.human(bytes); }
}
