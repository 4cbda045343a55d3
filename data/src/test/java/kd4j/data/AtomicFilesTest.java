package kd4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir Path dir;

    @Test
    void buffersAreWrittenInOrderIntoANewFolder() throws IOException {
        Path f = dir.resolve("a/b/file.bin");
        AtomicFiles.write(f, ByteBuffer.wrap(new byte[] {1, 2}), ByteBuffer.wrap(new byte[0]), ByteBuffer.wrap(new byte[] {3}));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        assertFalse(Files.exists(AtomicFiles.tmpOf(f)));
    }

    @Test
    void aStreamWriterThatFailsLeavesThePreviousFileWhole() throws IOException {
        Path f = dir.resolve("plot.svg");
        AtomicFiles.write(f, out -> out.write("first".getBytes(StandardCharsets.UTF_8)));
        assertEquals("first", Files.readString(f));
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write("half of the sec".getBytes(StandardCharsets.UTF_8));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertEquals("first", Files.readString(f));
        AtomicFiles.write(f, out -> out.write("second".getBytes(StandardCharsets.UTF_8)));
        assertEquals("second", Files.readString(f));
    }

    @Test
    void sha256OfAFileMatchesTheDigestOfItsBytes() throws IOException {
        Path f = dir.resolve("abc.txt");
        AtomicFiles.write(f, "abc");
        // FIPS 180-2's first example: SHA-256("abc")
        String abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assertEquals(abc, AtomicFiles.sha256(f));
        assertEquals(abc, AtomicFiles.sha256("abc".getBytes(StandardCharsets.US_ASCII)));
    }
}
