/*
 * Small models, tokenizers and data for the train tests: a bigram "table" LM whose log-probabilities can be
 * computed by hand, a character tokenizer, a tiny Qwen2 from the models facade, and an in-memory TrainData
 * with a saveable position.
 */
package kd4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import kd4j.autograd.Parameter;
import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.Var;
import kd4j.autograd.ops.EmbeddingOps;
import kd4j.models.CausalLM;
import kd4j.models.ModelConfig;
import kd4j.models.Models;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;
import kd4j.tokenizers.Tokenizer;

final class TestModels {
    private TestModels() {}

    record TableConfig(int vocabSize, int bosTokenId, int eosTokenId) implements ModelConfig {
        public String architecture() { return "TableLM"; }
        public int hiddenSize() { return vocabSize; }
        public int numHiddenLayers() { return 0; }
        public boolean tieWordEmbeddings() { return false; }
    }

    /** logits[b, t, :] = table[ids[b, t], :]: a bigram model, p(next | prev) = softmax(table[prev]). */
    static final class TableLM implements CausalLM {
        final double[][] table;
        private final TableConfig config;
        private final ParameterRegistry params = new ParameterRegistry();
        private final Parameter weight;
        private final Backend backend;

        TableLM(Backend be, double[][] table, int bos, int eos) {
            this.table = table;
            this.backend = be;
            int v = table.length;
            this.config = new TableConfig(v, bos, eos);
            float[] flat = new float[v * v];
            for (int i = 0; i < v; i++) for (int j = 0; j < v; j++) flat[i * v + j] = (float) table[i][j];
            weight = params.add(new Parameter("table.weight", be.fromFloats(flat, v, v), Parameter.Group.DECAY));
        }

        /** log p(next | prev) computed by hand in double from the float32 table. */
        double logProb(int prev, int next) {
            double max = Double.NEGATIVE_INFINITY;
            for (double x : table[prev]) max = Math.max(max, (float) x);
            double s = 0;
            for (double x : table[prev]) s += Math.exp((float) x - max);
            return (float) table[prev][next] - max - Math.log(s);
        }

        public ModelConfig config() { return config; }
        public ParameterRegistry parameters() { return params; }
        public Backend backend() { return backend; }
        public Var forward(Tensor ids, Tensor keyMask) { return EmbeddingOps.embedding(ids, weight); }
        public DecodeState newDecodeState(int batch, int maxLength) { throw new UnsupportedOperationException("TableLM does not decode"); }
        public Tensor decode(Tensor ids, DecodeState state) { throw new UnsupportedOperationException("TableLM does not decode"); }
    }

    /** id 0 = <eos>, then one id per character of ALPHABET. */
    static final class CharTokenizer implements Tokenizer {
        static final String ALPHABET = " abcdefghijklmnopqrstuvwxyz.";
        public int[] encode(String text) {
            int[] out = new int[text.length()];
            for (int i = 0; i < text.length(); i++) {
                int k = ALPHABET.indexOf(text.charAt(i));
                if (k < 0) throw new IllegalArgumentException("CharTokenizer: no id for '" + text.charAt(i) + "'");
                out[i] = k + 1;
            }
            return out;
        }
        public int[] encodeWithSpecialTokens(String text) { return encode(text); }
        public String decode(int[] ids, boolean skipSpecialTokens) {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) if (id > 0) sb.append(ALPHABET.charAt(id - 1));
            return sb.toString();
        }
        public int vocabSize() { return ALPHABET.length() + 1; }
        public String idToToken(int id) { return id == 0 ? "<eos>" : String.valueOf(ALPHABET.charAt(id - 1)); }
        public int tokenToId(String token) { return token.equals("<eos>") ? 0 : ALPHABET.indexOf(token) + 1; }
        public int eosId() { return 0; }
        public int bosId() { return -1; }
        static int id(char c) { return ALPHABET.indexOf(c) + 1; }
    }

    static final String TINY_QWEN2 = """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32,
             "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
             "vocab_size": 64, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
             "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu"}
            """;

    static CausalLM tinyQwen2(Backend be, long seed) {
        return Models.randomInit(Models.parseConfig(TINY_QWEN2, Path.of("tiny-qwen2.json")), be, seed);
    }

    /** count instances of length seq+1 following next = (3 * prev + 1) mod vocab from random starts. */
    static List<int[]> affineInstances(int count, int seq, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[seq + 1];
            s[0] = r.nextInt(vocab);
            for (int t = 1; t <= seq; t++) s[t] = (3 * s[t - 1] + 1) % vocab;
            out.add(s);
        }
        return out;
    }

    /** Instances in an order reshuffled per epoch from (seed, epoch); position = {epoch, cursor}. */
    static final class ListData implements TrainData {
        private final List<int[]> instances;
        private final int batchSize, seqLength;
        private final long seed;
        private long epoch;
        private int cursor;
        private int[] order;

        ListData(List<int[]> instances, int batchSize, int seqLength, long seed) {
            this.instances = instances;
            this.batchSize = batchSize;
            this.seqLength = seqLength;
            this.seed = seed;
            shuffle();
        }

        private void shuffle() {
            order = new int[instances.size()];
            for (int i = 0; i < order.length; i++) order[i] = i;
            SplittableRandom r = new SplittableRandom(seed * 31 + epoch);
            for (int i = order.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }

        public MicroBatch next() {
            List<int[]> rows = new ArrayList<>();
            long[] ids = new long[batchSize];
            for (int b = 0; b < batchSize; b++) {
                if (cursor == order.length) { epoch++; cursor = 0; shuffle(); }
                ids[b] = order[cursor];
                rows.add(instances.get(order[cursor++]));
            }
            return MicroBatch.fromInstances(rows, seqLength, ids);
        }

        public JsonNode position() {
            return JsonNodeFactory.instance.objectNode().put("epoch", epoch).put("cursor", cursor);
        }

        public void seek(JsonNode p) {
            epoch = p.get("epoch").asLong();
            cursor = p.get("cursor").asInt();
            shuffle();
        }
    }
}
