/*
 * The decoding state of an attention model: per layer, keys and values [B, maxLen, Hkv, D] (rotary embedding
 * already applied to the keys) and the number of positions filled. Attention reads narrowed views [B, S, Hkv, D]
 * of it (batch stride maxLen * Hkv * D), so a decode step costs O(S) and never copies the cache.
 */
package kd4j.models.nn;

import kd4j.models.CausalLM;
import kd4j.tensor.Backend;
import kd4j.tensor.DType;
import kd4j.tensor.ShapeException;
import kd4j.tensor.Tensor;

public final class KvCache implements CausalLM.DecodeState {
    private final Tensor[] keys, values;
    private final int batch, maxLength;
    private int length;

    public KvCache(Backend be, int layers, int batch, int maxLength, int kvHeads, int headDim) {
        if (batch <= 0 || maxLength <= 0)
            throw new IllegalArgumentException("decode state needs batch > 0 and maxLength > 0, got batch=" + batch
                    + " maxLength=" + maxLength);
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = be.zeros(DType.F32, batch, maxLength, kvHeads, headDim);
            values[l] = be.zeros(DType.F32, batch, maxLength, kvHeads, headDim);
        }
        this.batch = batch;
        this.maxLength = maxLength;
    }

    @Override
    public int length() { return length; }

    public int batch() { return batch; }

    public int maxLength() { return maxLength; }

    /** Checks that T more tokens of batch size b fit; called once per decode call, before any layer runs. */
    public void checkRoom(int b, int t) {
        if (b != batch)
            throw ShapeException.of("decode", "batch size " + b + " differs from the decode state's " + batch);
        if (length + t > maxLength)
            throw new IllegalArgumentException("decode: " + length + " + " + t + " tokens exceed the decode state's"
                    + " maxLength " + maxLength + " (make it with a larger maxLength)");
    }

    /** Writes k, v [B, T, Hkv, D] of layer at positions length..length+T-1; returns the filled views [B, length+T, Hkv, D]. */
    public Tensor[] append(int layer, Tensor k, Tensor v) {
        int t = k.dim(1);
        Backend be = keys[layer].backend();
        be.copy(k, keys[layer].narrow(1, length, t));
        be.copy(v, values[layer].narrow(1, length, t));
        return new Tensor[] {keys[layer].narrow(1, 0, length + t), values[layer].narrow(1, 0, length + t)};
    }

    /** Marks T more positions as filled (after every layer has appended them). */
    public void advance(int t) { length += t; }
}
