/*
 * The anomaly check's finding: an op's forward output, or a gradient its backward handed on, holds NaN or Inf.
 * It names the op and where in the model it ran (the parameter it used, or "after" the nearest parameter's op),
 * so a diverging run points at a layer instead of only at a loss value.
 */
package kd4j.autograd;

public final class NonFiniteException extends ArithmeticException {
    private final String op;
    private final boolean backward;
    private final String site;

    NonFiniteException(String op, boolean backward, String site, String what) {
        super((backward ? "backward of op '" : "op '") + op + "'" + (site == null ? "" : " (" + site + ")")
                + " produced NaN or Inf in " + what);
        this.op = op;
        this.backward = backward;
        this.site = site;
    }

    /** The op's recorded name ("matmul", "rmsNorm", ...). */
    public String op() { return op; }

    /** True when the non-finite value is a gradient from the op's backward. */
    public boolean backward() { return backward; }

    /** The parameter name locating the op ("model.layers.3.mlp.up_proj.weight", or "after ..."), or null. */
    public String site() { return site; }
}
