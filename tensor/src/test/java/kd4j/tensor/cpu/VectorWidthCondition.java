package kd4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Decides whether a forced-width run of the CPU kernel tests (tensor/pom.xml's vector-128, vector-256 and
 * vector-scalar executions, which set kd4j.test.forcedWidth) is worth running on this host. The default execution
 * already covers the host's preferred width, and a width wider than the host's runs in the Vector API's Java
 * fallback: correct, but far too slow for the suite. Outside those executions it enables everything. Each of
 * those test classes names it with @ExtendWith.
 */
public final class VectorWidthCondition implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (!Boolean.getBoolean("kd4j.test.forcedWidth")) return ConditionEvaluationResult.enabled("not a forced-width run");
        int host = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        String width = Simd.describe();
        if (Simd.BITS == host)
            return ConditionEvaluationResult.disabled(width + " is this host's preferred width, tested by the default run");
        if (Simd.BITS > host)
            return ConditionEvaluationResult.disabled(width + " is wider than this host's " + host + "-bit vectors (would only be emulated)");
        return ConditionEvaluationResult.enabled("kernel tests at " + width + " (host: " + host + "-bit)");
    }
}
