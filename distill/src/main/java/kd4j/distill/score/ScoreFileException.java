/*
 * A score file that cannot be used: malformed or truncated, from another corpus, tokenizer or model than its
 * partner, or with gaps or overlaps between shards. The message names the file(s) and what was expected, so it is
 * user-ready; the CLI maps it (an IOException) to exit code 3, bad input file.
 */
package kd4j.distill.score;

import java.io.IOException;

public final class ScoreFileException extends IOException {
    public ScoreFileException(String message) { super(message); }
}
