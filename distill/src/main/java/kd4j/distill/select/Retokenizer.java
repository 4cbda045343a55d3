/*
 * Cross-tokenizer selection: teacher and reference score instances made with one tokenizer, a student with
 * another vocabulary (a Llama or Mamba student) trains on the same refined text. Each kept instance maps to
 * exactly one student instance: split the ids at the source EOS, decode each piece (special tokens such as BOS
 * dropped), re-encode it with the student's tokenizer, join the pieces with the student's EOS (so documents end
 * where they ended), prepend the student's BOS when it uses one, and cut to the instance length; a shorter result
 * stays shorter (the batcher pads it and leaves the padding out of the loss).
 */
package kd4j.distill.select;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.Arrays;
import kd4j.tokenizers.Tokenizer;

public final class Retokenizer {
    private final Tokenizer source;
    private final Tokenizer student;
    private final int sourceEos;
    private final int studentEos;
    private final int studentBos;

    public Retokenizer(Tokenizer source, Tokenizer student) {
        this.source = source;
        this.student = student;
        this.sourceEos = source.eosId();
        this.studentEos = student.eosId();
        this.studentBos = student.bosId();
        if (sourceEos < 0)
            throw new IllegalArgumentException("the corpus tokenizer has no EOS token, so instances cannot be split "
                    + "into documents for re-tokenisation");
        if (studentEos < 0)
            throw new IllegalArgumentException("the student tokenizer has no EOS token (tokenizer_config.json "
                    + "eos_token); it is needed to join documents");
    }

    /**
     * The student instance for a source instance: at most length tokens (cut there, never padded). A shorter result
     * stays short, so the batcher pads it and leaves the padding out of the loss rather than training on EOS runs.
     */
    public int[] map(int[] instance, int length) {
        IntArrayList out = new IntArrayList((int) Math.min(length, 2L * instance.length) + 16);
        if (studentBos >= 0) out.add(studentBos);
        int pieceStart = 0;
        for (int i = 0; i <= instance.length && out.size() < length; i++) {
            if (i < instance.length && instance[i] != sourceEos) continue;
            if (i > pieceStart) {
                String text = source.decode(Arrays.copyOfRange(instance, pieceStart, i), true);
                if (!text.isEmpty()) out.addAll(IntArrayList.wrap(student.encode(text)));
            }
            if (i < instance.length) out.add(studentEos);
            pieceStart = i + 1;
        }
        int[] result = new int[Math.min(length, out.size())];
        out.getElements(0, result, 0, result.length);
        return result;
    }
}
