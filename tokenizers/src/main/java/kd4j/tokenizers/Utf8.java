/*
 * UTF-8 decoding with HF's (Rust's) replacement rule: each maximal invalid subpart becomes one U+FFFD
 * (Unicode "substitution of maximal subparts", String::from_utf8_lossy). Also reports where the first invalid
 * byte is, so readers of input files can warn once with the byte offset.
 */
package kd4j.tokenizers;

public final class Utf8 {

    /** Text of bytes, invalid sequences replaced by U+FFFD as Rust's from_utf8_lossy does. */
    public static String decodeLossy(byte[] bytes) {
        return decode(bytes, 0, bytes.length, null);
    }

    /** Text of bytes, or null when they are not valid UTF-8. */
    public static String decodeStrict(byte[] bytes) {
        long[] firstBad = {-1};
        String s = decode(bytes, 0, bytes.length, firstBad);
        return firstBad[0] >= 0 ? null : s;
    }

    /** Byte offset of the first invalid sequence in bytes, or -1 when all of it is valid UTF-8. */
    public static long firstInvalidOffset(byte[] bytes) {
        for (int i = 0; i < bytes.length; ) {
            int len = validLength(bytes, i, bytes.length);
            if (len <= 0) return i;
            i += len;
        }
        return -1;
    }

    /** Decodes bytes[from, to); when firstBad is non-null, firstBad[0] receives the first invalid offset and firstBad[1], if present, the number of replacements. */
    static String decode(byte[] bytes, int from, int to, long[] firstBad) {
        StringBuilder sb = new StringBuilder(to - from);
        int i = from;
        while (i < to) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) { sb.append((char) b0); i++; continue; }
            int len = validLength(bytes, i, to);
            if (len > 0) {
                int cp = switch (len) {
                    case 2 -> ((b0 & 0x1F) << 6) | (bytes[i + 1] & 0x3F);
                    case 3 -> ((b0 & 0x0F) << 12) | ((bytes[i + 1] & 0x3F) << 6) | (bytes[i + 2] & 0x3F);
                    default -> ((b0 & 0x07) << 18) | ((bytes[i + 1] & 0x3F) << 12) | ((bytes[i + 2] & 0x3F) << 6) | (bytes[i + 3] & 0x3F);
                };
                sb.appendCodePoint(cp);
                i += len;
            } else {
                if (firstBad != null) {
                    if (firstBad[0] < 0) firstBad[0] = i;
                    if (firstBad.length > 1) firstBad[1]++;
                }
                sb.append('\uFFFD');
                i += -len;    // skip the maximal subpart
            }
        }
        return sb.toString();
    }

    /**
     * Length of the well-formed sequence at i (1..4), or minus the length of its maximal invalid subpart
     * (Unicode Table 3-7: second-byte ranges depend on the lead byte).
     */
    private static int validLength(byte[] b, int i, int to) {
        int b0 = b[i] & 0xFF;
        if (b0 < 0x80) return 1;
        int need, lo = 0x80, hi = 0xBF;
        if (b0 >= 0xC2 && b0 <= 0xDF) need = 1;
        else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 2;
            if (b0 == 0xE0) lo = 0xA0;
            if (b0 == 0xED) hi = 0x9F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 3;
            if (b0 == 0xF0) lo = 0x90;
            if (b0 == 0xF4) hi = 0x8F;
        } else return -1;
        for (int k = 1; k <= need; k++) {
            if (i + k >= to) return -k;
            int c = b[i + k] & 0xFF;
            if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return -k;
        }
        return need + 1;
    }

    private Utf8() {}
}
