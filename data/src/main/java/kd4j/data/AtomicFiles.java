/*
 * Small file helpers for the data pipeline: writes that appear whole or not at all (temp file, fsync, atomic
 * rename), and SHA-256 of files for manifests.
 */
package kd4j.data;

import java.io.IOException;
import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes bytes to path via path.tmp + fsync + atomic rename. */
    public static void write(Path path, byte[] bytes) throws IOException {
        write(path, ByteBuffer.wrap(bytes));
    }

    /** Writes the buffers' remaining bytes, one after the other, to path via path.tmp + fsync + atomic rename. */
    public static void write(Path path, ByteBuffer... buffers) throws IOException {
        long size = 0;
        for (ByteBuffer b : buffers) size += b.remaining();
        try (FileChannel ch = openTmp(path)) {
            for (ByteBuffer b : buffers) while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmpOf(path));
            throw DiskFullException.named(e, path, size);
        }
        commit(path);
    }

    /** Something that writes a whole file to a stream (an image encoder, a JSON writer). */
    @FunctionalInterface
    public interface StreamWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Writes what writer produces to path via path.tmp + fsync + atomic rename. */
    public static void write(Path path, StreamWriter writer) throws IOException {
        try (FileChannel ch = openTmp(path)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            writer.writeTo(out);
            out.flush();
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmpOf(path));
            throw DiskFullException.named(e, path, -1);
        }
        commit(path);
    }

    public static void write(Path path, String text) throws IOException {
        write(path, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Where a write to path goes until {@link #commit}: "NAME.tmp" beside it. */
    public static Path tmpOf(Path path) {
        return path.resolveSibling(path.getFileName() + ".tmp");
    }

    /** Opens {@link #tmpOf}(path) empty for writing, creating path's folder; {@link #commit} makes it appear as path. */
    public static FileChannel openTmp(Path path) throws IOException {
        if (path.getParent() != null) Files.createDirectories(path.getParent());
        return FileChannel.open(tmpOf(path), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** Writes the buffer's remaining bytes to {@link #tmpOf}(path) and forces them to disk, without the rename. */
    public static void writeTmp(Path path, ByteBuffer bytes) throws IOException {
        long size = bytes.remaining();
        try (FileChannel ch = openTmp(path)) {
            while (bytes.hasRemaining()) ch.write(bytes);
            ch.force(true);
        } catch (IOException e) {
            throw DiskFullException.named(e, path, size);
        }
    }

    /**
     * Renames {@link #tmpOf}(path), written (and forced, where the caller needs durability), over path: atomically
     * where the file system can, else as a plain replacing rename.
     */
    public static void commit(Path path) throws IOException {
        try {
            Files.move(tmpOf(path), path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmpOf(path), path, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Lower-case hex SHA-256 of a file's bytes. */
    public static String sha256(Path path) throws IOException {
        MessageDigest md = newSha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(newSha256().digest(bytes));
    }

    /** A fresh SHA-256 digest (every JDK has one). */
    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
