/*
 * A write that failed because the disk (or the quota, or the file-size limit) is full: ENOSPC, EDQUOT or EFBIG
 * as the JDK reports them. Not bad input but a failed run (exit 1): the message names the file, the bytes the
 * write needed where known and the space left, and says that finished work is kept, so the same command
 * continues once there is room.
 */
package kd4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

public final class DiskFullException extends IOException {
    private final Path file;

    private DiskFullException(Path file, String message, IOException cause) {
        super(message, cause);
        this.file = file;
    }

    public Path file() { return file; }

    /** Whether e (or a cause) is the OS saying the disk, the quota or the file-size limit is full. */
    public static boolean isDiskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof DiskFullException) return true;
            String m = t.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded")
                    || m.contains("File too large"))) return true;
        }
        return false;
    }

    /**
     * e as a DiskFullException naming file and the bytes the write needed (bytesNeeded < 0: unknown) when it is a
     * full disk; otherwise e unchanged. For `catch (IOException e) { throw DiskFullException.named(e, f, n); }`.
     */
    public static IOException named(IOException e, Path file, long bytesNeeded) {
        if (e instanceof DiskFullException || !isDiskFull(e)) return e;
        String reason = e.getMessage() == null ? "No space left on device" : e.getMessage();
        if (reason.contains("File too large")) reason += " (the file-size limit, ulimit -f)";
        StringBuilder m = new StringBuilder(file + ": " + reason);
        if (bytesNeeded >= 0) m.append(String.format(Locale.ROOT, " while writing %,d bytes", bytesNeeded));
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null && Files.exists(dir))
                m.append(String.format(Locale.ROOT, " (%,d bytes usable on %s)", Files.getFileStore(dir).getUsableSpace(), dir));
        } catch (IOException | SecurityException unknown) {
            // the free space is only extra information
        }
        m.append("; finished work is kept: free space and run the same command again to continue");
        return new DiskFullException(file, m.toString(), e);
    }
}
