/*
 * One slice i of N of a corpus's instances, so that many machines or scheduler jobs (a Slurm array, a Kubernetes
 * Indexed Job) can score a large corpus in parallel and `kd4j score-merge` can join the slices again.
 * Slice i covers instances [floor(i n / N), floor((i + 1) n / N)): contiguous, balanced to one instance, and
 * the N slices tile [0, n) exactly.
 */
package kd4j.data;

public record Shard(int index, int count) {
    public static final Shard WHOLE = new Shard(0, 1);

    public Shard {
        if (count < 1 || index < 0 || index >= count)
            throw new IllegalArgumentException("shard " + index + "/" + count + " is not valid: expected i/N with 0 <= i < N");
    }

    /** Parses "i/N" (e.g. "3/16"). */
    public static Shard parse(String text) {
        int slash = text == null ? -1 : text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1)
            throw new IllegalArgumentException("--shard expects i/N (e.g. 0/4), got '" + text + "'");
        try {
            return new Shard(Integer.parseInt(text.substring(0, slash).trim()),
                    Integer.parseInt(text.substring(slash + 1).trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--shard expects i/N with whole numbers (e.g. 0/4), got '" + text + "'");
        }
    }

    /** First instance of this slice of a corpus of n instances. */
    public long start(long n) { return (n / count) * index + (n % count) * index / count; }   // floor(i n / N), no overflow

    /** One past the last instance of this slice. */
    public long end(long n) { return index + 1 == count ? n : new Shard(index + 1, count).start(n); }

    @Override
    public String toString() { return index + "/" + count; }
}
