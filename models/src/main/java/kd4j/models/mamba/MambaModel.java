/*
 * Mamba-1 as HF MambaForCausalLM: embeddings, then per layer x + Mixer(RMSNorm(x)) (residual in fp32), a final
 * RMSNorm and the lm_head (tied to the embeddings by default). No positions and no attention mask: with right
 * padding, padded positions come after every real token, so they cannot change a real position's output.
 * Decoding keeps a fixed-size conv/SSM state per layer (MambaState): O(1) work per generated token.
 * HF names: backbone.embeddings, backbone.layers.<i>.norm / .mixer.*, backbone.norm_f, lm_head.
 */
package kd4j.models.mamba;

import java.util.List;
import kd4j.autograd.GradMode;
import kd4j.autograd.ParameterRegistry;
import kd4j.autograd.Var;
import kd4j.autograd.ops.ElementwiseOps;
import kd4j.autograd.ops.ShapeOps;
import kd4j.models.CausalLM;
import kd4j.models.ModelInputs;
import kd4j.models.WithHiddenStates;
import kd4j.models.nn.Embedding;
import kd4j.models.nn.Linear;
import kd4j.models.nn.LayerArenas;
import kd4j.models.nn.MambaMixer;
import kd4j.models.nn.MambaState;
import kd4j.models.nn.RmsNorm;
import kd4j.models.nn.WeightSource;
import kd4j.tensor.Backend;
import kd4j.tensor.Tensor;

public final class MambaModel implements WithHiddenStates {
    private final MambaConfig config;
    private final Backend backend;
    private final Embedding embeddings;
    private final RmsNorm[] norms;
    private final MambaMixer[] mixers;
    private final RmsNorm normF;
    private final Linear lmHead;
    private final ParameterRegistry parameters;
    private final LayerArenas layerArenas = new LayerArenas();

    public MambaModel(MambaConfig config, WeightSource src) {
        this.config = config;
        this.backend = src.backend();
        embeddings = new Embedding(src, "backbone.embeddings.weight", config.vocabSize(), config.hiddenSize(),
                config.initializerRange());
        norms = new RmsNorm[config.numHiddenLayers()];
        mixers = new MambaMixer[config.numHiddenLayers()];
        for (int i = 0; i < norms.length; i++) {
            String prefix = "backbone.layers." + i;
            mixers[i] = new MambaMixer(src, prefix + ".mixer", config.mixerSpec());
            norms[i] = new RmsNorm(src, prefix + ".norm.weight", config.hiddenSize(), config.layerNormEpsilon());
        }
        normF = new RmsNorm(src, "backbone.norm_f.weight", config.hiddenSize(), config.layerNormEpsilon());
        lmHead = config.tieWordEmbeddings() ? new Linear(embeddings.table())
                : new Linear(src, "lm_head", config.hiddenSize(), config.vocabSize(), false, config.initializerRange());
        parameters = src.registry();
    }

    @Override public MambaConfig config() { return config; }
    @Override public ParameterRegistry parameters() { return parameters; }
    @Override public Backend backend() { return backend; }

    /** keyMask is checked but not needed (see the header: right padding cannot leak into real positions). */
    @Override
    public Var forward(Tensor ids, Tensor keyMask) { return forward(ids, keyMask, null); }

    /** As LlamaModel.forward: hidden receives embeddings, each layer's output and the final-norm output. */
    @Override
    public Var forward(Tensor ids, Tensor keyMask, List<Var> hidden) {
        return ShapeOps.reshape(lmHead.forward(trunk(ids, keyMask, hidden)), ids.dim(0), ids.dim(1),
                config.vocabSize());                                              // [B, T, V]
    }

    /** Everything before the lm_head: the norm_f output [B*T, C]. */
    @Override
    public HeadInput forwardToHead(Tensor ids, Tensor keyMask) {
        return new HeadInput(trunk(ids, keyMask, null), lmHead::forward);
    }

    private Var trunk(Tensor ids, Tensor keyMask, List<Var> hidden) {
        int batch = ids.dim(0), time = ids.dim(1);
        ModelInputs.check(ids, keyMask, config.vocabSize());
        Var x = embeddings.forward(ids);                                          // [B*T, C]
        if (hidden != null) hidden.add(x);
        x = layerArenas.runLayers(x, mixers.length, hidden, "mambaLayer",
                i -> in -> ElementwiseOps.add(in, mixers[i].forward(norms[i].forward(in), batch, time)));
        x = normF.forward(x);
        if (hidden != null) hidden.add(x);
        return x;
    }

    @Override
    public DecodeState newDecodeState(int batch, int maxLength) {
        MambaState.Layer[] states = new MambaState.Layer[mixers.length];
        for (int i = 0; i < mixers.length; i++) states[i] = mixers[i].newState(backend, batch);
        return new MambaState(states, batch, maxLength);
    }

    /** Feeds the T tokens one at a time through the step kernels: O(1) per token, O(T) per call. */
    @Override
    public Tensor decode(Tensor ids, DecodeState state) { return decode(ids, state, false); }

    /** As decode, but only the last token goes through norm_f and the lm_head: [B, V]. */
    @Override
    public Tensor decodeLast(Tensor ids, DecodeState state) {
        return decode(ids, state, true).reshape(ids.dim(0), config.vocabSize());
    }

    private Tensor decode(Tensor ids, DecodeState state, boolean lastOnly) {
        if (!(state instanceof MambaState s))
            throw new IllegalArgumentException("decode: state " + state + " was not made by this model's newDecodeState");
        int batch = ids.dim(0), time = ids.dim(1), vocab = config.vocabSize();
        ModelInputs.check(ids, null, vocab);
        s.checkRoom(batch, time);
        Tensor logits = backend.empty(kd4j.tensor.DType.F32, batch, lastOnly ? 1 : time, vocab);
        try (var g = GradMode.off()) {
            for (int t = 0; t < time; t++) {
                Tensor column = ids.narrow(1, t, 1).contiguous();                // [B, 1]
                Var x = embeddings.forward(column);                               // [B, C]
                for (int i = 0; i < mixers.length; i++) {
                    Tensor mixed = mixers[i].step(norms[i].forward(x).data(), s.layer(i));
                    x = ElementwiseOps.add(x, Var.constant(mixed));
                }
                if (lastOnly && t < time - 1) continue;
                Tensor stepLogits = lmHead.forward(normF.forward(x)).data();      // [B, V]
                backend.copy(stepLogits.reshape(batch, 1, vocab), logits.narrow(1, lastOnly ? 0 : t, 1));
            }
        }
        s.advance(time);
        return logits;
    }
}
