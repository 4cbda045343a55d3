/*
 * The --precision mixin of the commands that run a model's linear layers (declared once): fp32, or bf16 GEMM
 * inputs with fp32 accumulation (PyTorch's bf16 autocast for matmuls), which only OpenCL devices take (tensor cores
 * on NVIDIA). value() parses it and checkedFor() refuses bf16 on a backend that computes every GEMM in fp32
 * (MatmulPrecision.requireSupportedBy's message), both as usage errors (exit 2) naming the flag.
 */
package kd4j.cli;

import kd4j.autograd.MatmulPrecision;
import kd4j.tensor.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

public final class PrecisionOption {
    @Option(names = "--precision", paramLabel = "fp32|bf16", defaultValue = "fp32",
            description = "the linear layers' GEMM inputs: fp32, or bf16 with fp32 accumulation (OpenCL devices only) "
                    + "(default: ${DEFAULT-VALUE})")
    String precision;

    /** The precision given, or a usage error naming --precision. */
    public MatmulPrecision value(CommandLine cmd) {
        try {
            return MatmulPrecision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cmd, "--precision: " + e.getMessage());
        }
    }

    /** True for --precision bf16 (after value() or checkedFor() has refused a precision that does not exist). */
    public boolean bf16() { return MatmulPrecision.parse(precision) == MatmulPrecision.BF16; }

    /** The precision given, after refusing bf16 on a backend without bf16 GEMM inputs (usage error, exit 2). */
    public MatmulPrecision checkedFor(Backend be, CommandLine cmd) {
        MatmulPrecision p = value(cmd);
        try {
            p.requireSupportedBy(be, "--precision");
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cmd, e.getMessage());
        }
        return p;
    }
}
