/* UTF-8 decoding with one U+FFFD per maximal invalid subpart, as Rust's String::from_utf8_lossy. */
package kd4j.tokenizers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class Utf8Test {
    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) out[i] = (byte) b[i];
        return out;
    }

    @Test
    void invalidSequences_replacedByMaximalSubpart() {
        assertEquals("a\uFFFDb", Utf8.decodeLossy(bytes('a', 0xF0, 0x90, 0x80, 'b')));     // truncated 4-byte: one U+FFFD
        assertEquals("\uFFFD\uFFFD\uFFFD", Utf8.decodeLossy(bytes(0xED, 0xA0, 0x80)));    // encoded surrogate: three
        assertEquals("\uFFFD\uFFFD", Utf8.decodeLossy(bytes(0xC0, 0xAF)));                // overlong
        assertEquals("\uFFFD\uFFFD", Utf8.decodeLossy(bytes(0xE0, 0x80)));
        assertEquals("\uFFFD", Utf8.decodeLossy(bytes(0xE2, 0x82)));                      // truncated at end
        assertEquals("é€😀", Utf8.decodeLossy(bytes(0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80)));
        assertNull(Utf8.decodeStrict(bytes(0xFF)));
        assertEquals(3, Utf8.firstInvalidOffset(bytes('a', 'b', 'c', 0xFF, 'd')));
        assertEquals(-1, Utf8.firstInvalidOffset(bytes(0xC3, 0xA9)));
    }
}
