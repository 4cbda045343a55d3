/*
 * Small file helpers for the data pipeline: writes that appear whole or not at all (temp file, fsync, atomic
 * rename), and SHA-256 of files for manifests.
 */
package kd4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
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
        writeTmp(path, ByteBuffer.wrap(bytes));
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

    /** Renames {@link #tmpOf}(path), written and forced, over path atomically. */
    public static void commit(Path path) throws IOException {
        Files.move(tmpOf(path), path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Lower-case hex SHA-256 of a file's bytes. */
    public static String sha256(Path path) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
