/*
 * The decoder-only transformer of Llama and, by configuration, Qwen2/Qwen3 (nanoGPT's model.py in kd4j terms).
 * Notable features: RMSNorm pre-norm blocks, SwiGLU MLP, rotary embeddings (default/linear/llama3), grouped-query
 * attention, optional q/k/v bias (Qwen2) and per-head q/k norm (Qwen3), tied or untied lm_head.
 * HF names: model.embed_tokens, model.layers.<i>.*, model.norm, lm_head.
 */
package kd4j.models.llama;

import java.util.List;
import kd4j.autograd.GradMode;
import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ShapeOps;
import kd4j.models.CausalLM;
import kd4j.models.ModelInputs;
import kd4j.models.TransformerConfig;
import kd4j.models.WithHiddenStates;
import kd4j.models.nn.DecoderLayer;
import kd4j.models.nn.Embedding;
import kd4j.models.nn.KvCache;
import kd4j.models.nn.LayerArenas;
import kd4j.models.nn.Linear;
import kd4j.models.nn.RmsNorm;
import kd4j.models.nn.WeightSource;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public class LlamaModel implements WithHiddenStates {
    private final TransformerConfig config;
    private final Backend backend;
    private final Embedding embedTokens;
    private final DecoderLayer[] layers;
    private final RmsNorm norm;
    private final Linear lmHead;
    private final ParameterRegistry parameters;
    private final LayerArenas layerArenas = new LayerArenas();

    public LlamaModel(TransformerConfig config, WeightSource src) {
        this.config = config;
        this.backend = src.backend();
        double std = config.initializerRange();
        embedTokens = new Embedding(src, "model.embed_tokens.weight", config.vocabSize(), config.hiddenSize(), std);
        layers = new DecoderLayer[config.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++)
            layers[i] = new DecoderLayer(src, "model.layers." + i, i, config.attentionSpec(),
                    config.intermediateSize(), config.mlpBias());
        norm = new RmsNorm(src, "model.norm.weight", config.hiddenSize(), config.rmsNormEps());
        lmHead = config.tieWordEmbeddings() ? new Linear(embedTokens.table())
                : new Linear(src, "lm_head", config.hiddenSize(), config.vocabSize(), false, std);
        parameters = src.registry();
    }

    @Override public TransformerConfig config() { return config; }
    @Override public ParameterRegistry parameters() { return parameters; }
    @Override public Backend backend() { return backend; }

    @Override
    public Var forward(Tensor ids, Tensor keyMask) { return forward(ids, keyMask, null); }

    /**
     * Logits [B, T, V] for ids I32 [B, T]; when hidden is not null it receives the embeddings, each layer's
     * output and the final-norm output, each [B*T, C] (what HF's hidden-state hooks record).
     */
    @Override
    public Var forward(Tensor ids, Tensor keyMask, List<Var> hidden) {
        Var logits = lmHead.forward(trunk(ids, keyMask, hidden));         // [B*T, V]
        return ShapeOps.reshape(logits, ids.dim(0), ids.dim(1), config.vocabSize());  // [B, T, V]
    }

    /** Everything before the lm_head: the final-norm output [B*T, C]. */
    @Override
    public HeadInput forwardToHead(Tensor ids, Tensor keyMask) {
        return new HeadInput(trunk(ids, keyMask, null), lmHead::forward);
    }

    private Var trunk(Tensor ids, Tensor keyMask, List<Var> hidden) {
        int batch = ids.dim(0), time = ids.dim(1);
        ModelInputs.check(ids, keyMask, config.vocabSize());
        Var x = embedTokens.forward(ids);                                  // [B*T, C]
        if (hidden != null) hidden.add(x);
        x = layerArenas.runLayers(x, layers.length, hidden, "decoderLayer",          // [B*T, C], residual included
                i -> in -> layers[i].forward(in, batch, time, keyMask, null));
        x = norm.forward(x);
        if (hidden != null) hidden.add(x);
        return x;
    }

    /** Decoder layer i (0-based). */
    public DecoderLayer layer(int i) { return layers[i]; }

    @Override
    public DecodeState newDecodeState(int batch, int maxLength) {
        return new KvCache(backend, layers.length, batch, maxLength, config.numKeyValueHeads(), config.headDim());
    }

    @Override
    public Tensor decode(Tensor ids, DecodeState state) {
        return decode(ids, state, false).reshape(ids.dim(0), ids.dim(1), config.vocabSize());
    }

    /** Only the last position goes through the final norm and the lm_head: [B, V]. */
    @Override
    public Tensor decodeLast(Tensor ids, DecodeState state) {
        return decode(ids, state, true).reshape(ids.dim(0), config.vocabSize());
    }

    private Tensor decode(Tensor ids, DecodeState state, boolean lastOnly) {
        if (!(state instanceof KvCache cache))
            throw new IllegalArgumentException("decode: state " + state + " was not made by this model's newDecodeState");
        int batch = ids.dim(0), time = ids.dim(1);
        ModelInputs.check(ids, null, config.vocabSize());
        cache.checkRoom(batch, time);
        try (var g = GradMode.off()) {
            Var x = embedTokens.forward(ids);                              // [B*T, C]
            for (int i = 0; i < layers.length; i++)
                try (var scope = layerArenas.enter(i)) { x = layers[i].forward(x, batch, time, null, cache); }
            cache.advance(time);
            if (lastOnly && time > 1)                                      // [B, T, C] → [B, C] at t = T-1
                x = Var.constant(x.data().reshape(batch, time, config.hiddenSize()).narrow(1, time - 1, 1)
                        .contiguous().reshape(batch, config.hiddenSize()));
            return lmHead.forward(norm.forward(x)).data();                 // [B*T or B, V]
        }
    }
}
