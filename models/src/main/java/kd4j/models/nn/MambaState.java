/*
 * The decoding state of a Mamba model: per layer the conv window and the SSM state (see MambaMixer.step), and
 * the number of tokens consumed. Its size does not grow with the sequence: that is Mamba's O(1) per token.
 */
package kd4j.models.nn;

import kd4j.models.CausalLM;
import kd4j.tensor.Tensor;

public final class MambaState implements CausalLM.DecodeState {
    /** conv [B, I, K-1] (oldest input first), ssm [B, I, N]; both updated in place. */
    public record Layer(Tensor conv, Tensor ssm) {}

    private final Layer[] layers;
    private final int batch, maxLength;
    private int length;

    public MambaState(Layer[] layers, int batch, int maxLength) {
        this.layers = layers.clone();
        this.batch = batch;
        this.maxLength = maxLength;
    }

    @Override
    public int length() { return length; }

    public int batch() { return batch; }

    public Layer layer(int i) { return layers[i]; }

    /** Checks batch size and the declared maxLength (kept for the same contract as attention models). */
    public void checkRoom(int b, int t) {
        if (b != batch)
            throw new IllegalArgumentException("decode: batch size " + b + " differs from the decode state's " + batch);
        if (length + t > maxLength)
            throw new IllegalArgumentException("decode: " + length + " + " + t + " tokens exceed the decode state's"
                    + " maxLength " + maxLength + " (make it with a larger maxLength)");
    }

    public void advance(int t) { length += t; }
}
