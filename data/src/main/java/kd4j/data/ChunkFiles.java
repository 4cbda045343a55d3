/*
 * The files of a resumable pass over rows [start, end) of a corpus (kd4j score's parts folder, kd4j cache-logits'
 * cache folder): each finished chunk of rows is one file chunk-<first row, 12 digits>.bin, written atomically
 * (AtomicFiles: NAME.tmp, fsync, rename), so a kill leaves whole chunks and at most a .tmp leftover. On a restart,
 * scan() keeps every chunk its format's reader accepts (header, CRC) that starts at or after the end of the chunk
 * kept before it, deletes the rest and the leftovers, and returns the ranges still to do; a job then does each gap
 * in chunks of its usual size from the gap's start, so a resumed pass cuts its batches where an uninterrupted one
 * would. What a chunk holds is the job's: this class only names, finds, keeps and drops them.
 */
package kd4j.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;

public final class ChunkFiles {
    private ChunkFiles() {}

    private static final Pattern NAME = Pattern.compile("chunk-\\d{12}\\.bin");
    private static final Pattern LEFTOVER = Pattern.compile("chunk-\\d{12}\\.bin\\.tmp");

    /** Reads one finished chunk that its name says starts at row first. */
    @FunctionalInterface
    public interface Reader {
        /** The rows the chunk covers (at least 1), or -1 when it is not a valid chunk starting at first. */
        long read(Path chunk, long first) throws IOException;
    }

    /** What scan() found: the rows covered by kept chunks and the ranges [from, to) left to do, in order. */
    public record Coverage(long rows, List<long[]> gaps) {
        public Coverage {
            gaps = List.copyOf(gaps);
        }
    }

    /** "chunk-000000001024.bin" for the chunk starting at row 1,024. */
    public static String name(long first) {
        if (first < 0) throw new IllegalArgumentException("a chunk starts at a row >= 0, got " + first);
        return String.format("chunk-%012d.bin", first);
    }

    /** Whether fileName is a finished chunk's name. */
    public static boolean isChunk(String fileName) { return NAME.matcher(fileName).matches(); }

    /** The first row of a chunk named by name(). */
    public static long first(String fileName) {
        if (!isChunk(fileName)) throw new IllegalArgumentException("not a chunk file name: " + fileName);
        return Long.parseLong(fileName.substring(6, 18));
    }

    /** Writes one finished chunk starting at row first into dir, atomically. */
    public static void write(Path dir, long first, ByteBuffer... parts) throws IOException {
        AtomicFiles.write(dir.resolve(name(first)), parts);
    }

    /**
     * Keeps the valid chunks of [start, end) in dir, in order of their first row, each starting at or after the
     * end of the one kept before it and ending by end; deletes every other chunk of that range and every chunk
     * .tmp leftover (chunks outside the range are another shard's and left alone).
     */
    public static Coverage scan(Path dir, long start, long end, Reader reader) throws IOException {
        TreeMap<Long, Path> chunks = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (LEFTOVER.matcher(n).matches()) Files.delete(p);
                else if (isChunk(n)) {
                    long first = first(n);
                    if (first >= start && first < end) chunks.put(first, p);
                }
            }
        }
        long covered = start, rows = 0;
        List<long[]> gaps = new ArrayList<>();
        for (var e : chunks.entrySet()) {
            long first = e.getKey();
            long n = first >= covered ? reader.read(e.getValue(), first) : -1;
            if (n > 0 && first + n <= end) {
                if (first > covered) gaps.add(new long[] {covered, first});
                covered = first + n;
                rows += n;
            } else {
                Files.delete(e.getValue());
            }
        }
        if (covered < end) gaps.add(new long[] {covered, end});
        return new Coverage(rows, gaps);
    }

    /** The finished chunks in dir, in order (for status lines and tests). */
    public static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (var s = Files.list(dir)) {
            return s.filter(p -> isChunk(p.getFileName().toString())).sorted().toList();
        }
    }
}
