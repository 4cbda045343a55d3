/* The one batch builder: inputs, next-token targets and key mask of ragged rows, by hand. */
package kd4j.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class NextTokenBatchTest {
    static final int I = NextTokenBatch.IGNORE;

    @Test
    void raggedRows_arePaddedOnTheRight_withTargetsShiftedByOne_andMasked() {
        int[][] rows = {{5, 6, 7, 8}, {9, 2, 3}, {4}};
        NextTokenBatch b = NextTokenBatch.of(rows, 3, 3, 0, NextTokenBatch.ALL, true);
        assertEquals(3, b.batchSize());
        assertEquals(3, b.seqLength());
        assertArrayEquals(new int[] {5, 6, 7, 9, 2, 3, 4, 0, 0}, b.inputs());
        assertArrayEquals(new int[] {6, 7, 8, 2, 3, I, I, I, I}, b.targets());
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 0, 0, 0, 0}, b.keyMask());
        assertEquals(5, b.countedTokens());
    }

    @Test
    void inputsThatDoNotCount_getNoTarget_longRowsAreCut_andEqualRowsNeedNoMask() {
        int eos = 1;
        int[][] rows = {{1, 6, 1, 8, 9}, {3, 1, 4, 5, 6}};
        NextTokenBatch b = NextTokenBatch.of(rows, 2, 3, eos, id -> id != eos, true);
        assertArrayEquals(new int[] {1, 6, 1, 3, 1, 4}, b.inputs());
        assertArrayEquals(new int[] {I, 1, I, 1, I, 5}, b.targets(), "EOS inputs are not scored; the row is cut at T + 1");
        assertNull(b.keyMask(), "rows of one length need no mask");
        // only the first count rows are read
        NextTokenBatch one = NextTokenBatch.of(rows, 1, 4, 0, NextTokenBatch.ALL, false);
        assertArrayEquals(new int[] {1, 6, 1, 8}, one.inputs());
        assertArrayEquals(new int[] {6, 1, 8, 9}, one.targets());
    }
}
