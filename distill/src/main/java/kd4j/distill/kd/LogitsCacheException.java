/*
 * A logits cache that cannot be used: malformed or truncated, from another teacher, tokenizer or corpus than the
 * run, or with gaps between shards. The message names the folder or file and what was expected, so it is
 * user-ready; as an IOException the CLI maps it to exit code 3, bad input file.
 */
package kd4j.distill.kd;

import java.io.IOException;

public final class LogitsCacheException extends IOException {
    public LogitsCacheException(String message) { super(message); }
}
