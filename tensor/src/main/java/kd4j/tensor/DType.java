/*
 * Element types of kd4j tensors. fp32 is the compute type; bf16 and fp16 are storage types that kernels
 * widen to fp32 as they load; f64 exists for the reference backend and finite-difference gradient checks;
 * i32/i64 hold token ids.
 */
package kd4j.tensor;

public enum DType {
    F32(4, true, "F32"),
    F64(8, true, "F64"),
    BF16(2, true, "BF16"),
    F16(2, true, "F16"),
    I32(4, false, "I32"),
    I64(8, false, "I64");

    private final int byteSize;
    private final boolean floating;
    private final String safetensorsName;

    DType(int byteSize, boolean floating, String safetensorsName) {
        this.byteSize = byteSize;
        this.floating = floating;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() { return byteSize; }

    public boolean isFloating() { return floating; }

    /** The dtype string used in safetensors headers ("F32", "BF16", ...). */
    public String safetensorsName() { return safetensorsName; }

    /** Parses a safetensors dtype string; returns null for one kd4j does not support. */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) if (t.safetensorsName.equals(name)) return t;
        return null;
    }

    /** bf16 → fp32: a bf16 value is the upper 16 bits of the fp32 with the same sign, exponent and top mantissa. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** fp32 → bf16 with round-to-nearest-even (NaN stays NaN), as PyTorch rounds. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x007FFFFF) != 0) return (short) ((bits >>> 16) | 0x40);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToFloat(short bits) { return Float.float16ToFloat(bits); }

    public static short floatToF16(float value) { return Float.floatToFloat16(value); }
}
