/*
 * GPT-2's byte-level alphabet: every byte maps to one printable code point (printable Latin-1 bytes to
 * themselves, the rest to U+0100 + n in byte order), so any UTF-8 text becomes a string of 256 symbols.
 * Shared by the ByteLevel pre-tokenizer, decoder and the BPE trainer (HF tokenizers bytes_char()).
 */
package kd4j.tokenizers;

final class ByteLevel {
    /** BYTE_TO_CHAR[b] is the code point (always a BMP char) standing for byte b. */
    static final char[] BYTE_TO_CHAR = new char[256];
    /** CHAR_TO_BYTE[c] for c < 0x144 is the byte of char c, or -1 when c is not in the alphabet. */
    static final short[] CHAR_TO_BYTE = new short[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    /** The byte-level string of text's UTF-8 bytes. */
    static String encode(String text) {
        int n = text.length();
        boolean ascii = true;
        for (int i = 0; i < n; i++) if (text.charAt(i) >= 0x80) { ascii = false; break; }
        byte[] bytes = ascii ? null : text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int len = ascii ? n : bytes.length;
        char[] out = new char[len];
        for (int i = 0; i < len; i++) out[i] = BYTE_TO_CHAR[ascii ? text.charAt(i) : bytes[i] & 0xFF];
        return new String(out);
    }

    /** Byte of a byte-level char, or -1. */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    private ByteLevel() {}
}
