/*
 * Rotary position embedding parameters: theta and the optional frequency scaling of the config, turned once
 * into the inverse frequencies [D/2] the rope kernel uses (HF "rotate half" convention). Supported rope types:
 * "default", "linear" (positions divided by factor) and "llama3" (Llama 3.1+ band-wise scaling). The arithmetic
 * is done in fp32 in the order HF does it, so inv_freq agrees with transformers' buffer to the last bit or so.
 */
package kd4j.models.nn;

import java.util.List;

public record Rope(double theta, String type, double factor, double lowFreqFactor, double highFreqFactor,
                   int originalMaxPositionEmbeddings) {
    public static final List<String> SUPPORTED = List.of("default", "linear", "llama3");

    public static Rope plain(double theta) { return new Rope(theta, "default", 1, 0, 0, 0); }

    /** invFreq[i] = theta^(-2i/D), then scaled per type. */
    public float[] inverseFrequencies(int headDim) {
        float[] inv = new float[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            inv[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        switch (type) {
            case "default" -> { }
            case "linear" -> { for (int i = 0; i < inv.length; i++) inv[i] = (float) (inv[i] / factor); }
            case "llama3" -> llama3(inv);
            default -> throw new IllegalArgumentException("rope type '" + type + "' is not supported (supported: "
                    + SUPPORTED + ")");
        }
        return inv;
    }

    /**
     * Llama 3 scaling: wavelengths shorter than original/highFreqFactor keep their frequency, longer than
     * original/lowFreqFactor are divided by factor, and the band between is interpolated.
     */
    private void llama3(float[] inv) {
        float oldContext = originalMaxPositionEmbeddings;
        float lowWavelen = (float) (oldContext / lowFreqFactor);
        float highWavelen = (float) (oldContext / highFreqFactor);
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (float) (2 * Math.PI) / inv[i];
            float scaled = wavelen > lowWavelen ? (float) (inv[i] / factor) : inv[i];
            boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            if (medium) {
                float smooth = (float) ((oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
                scaled = (1 - smooth) * (float) (scaled / factor) + smooth * scaled;
            }
            inv[i] = scaled;
        }
    }
}
