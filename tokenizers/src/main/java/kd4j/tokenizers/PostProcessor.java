/*
 * Post-processors: what add_special_tokens=True adds around a single sequence (HF tokenizers processors:
 * TemplateProcessing, ByteLevel (offsets only, ids unchanged), Sequence, and Bert/Roberta's CLS … SEP).
 */
package kd4j.tokenizers;

import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.List;

sealed interface PostProcessor {
    /** Ids with the special tokens of the single-sequence template. */
    int[] process(int[] ids);

    /** ByteLevel post-processing only trims offsets; ids pass through. */
    record Identity() implements PostProcessor {
        @Override
        public int[] process(int[] ids) { return ids; }
    }

    /** One template item: the sequence itself (ids == null) or the ids of a special token. */
    record Item(int[] ids) {}

    record Template(List<Item> single) implements PostProcessor {
        @Override
        public int[] process(int[] ids) {
            IntArrayList out = new IntArrayList(ids.length + 4);
            for (Item item : single) {
                if (item.ids() == null) out.addElements(out.size(), ids);
                else out.addElements(out.size(), item.ids());
            }
            return out.toIntArray();
        }

        /** The special ids before the sequence. */
        int[] prefix() {
            IntArrayList out = new IntArrayList();
            for (Item item : single) { if (item.ids() == null) break; out.addElements(out.size(), item.ids()); }
            return out.toIntArray();
        }

        /** The special ids after the sequence. */
        int[] suffix() {
            IntArrayList out = new IntArrayList();
            for (int k = single.size() - 1; k >= 0 && single.get(k).ids() != null; k--)
                out.addElements(0, single.get(k).ids());
            return out.toIntArray();
        }
    }

    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public int[] process(int[] ids) {
            for (PostProcessor p : steps) ids = p.process(ids);
            return ids;
        }
    }
}
