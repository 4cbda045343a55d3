/*
 * Thrown when an op receives tensors whose shapes or dtypes do not fit together. The message names the op
 * and every shape involved, so it is user-ready as it stands.
 */
package kd4j.tensor;

import java.util.Arrays;

public final class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) { super(message); }

    /** "matmul: inner dimensions differ: a=[4, 384] b=[512, 1024] (a.shape[1] must equal b.shape[0])". */
    public static ShapeException of(String op, String problem, Object... namedShapes) {
        StringBuilder sb = new StringBuilder(op).append(": ").append(problem);
        String sep = ": ";
        for (int i = 0; i + 1 < namedShapes.length; i += 2) {
            sb.append(sep).append(namedShapes[i]).append('=').append(describe(namedShapes[i + 1]));
            sep = " ";
        }
        return new ShapeException(sb.toString());
    }

    private static String describe(Object shape) {
        if (shape instanceof Tensor t) return Arrays.toString(t.shape()) + " " + t.dtype();
        if (shape instanceof int[] dims) return Arrays.toString(dims);
        return String.valueOf(shape);
    }
}
