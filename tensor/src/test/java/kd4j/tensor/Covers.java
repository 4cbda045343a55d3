package kd4j.tensor;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The Backend methods a conformance test exercises (by name), declared on the test method.
 * ConformanceCoverageTest reads these from the CPU and OpenCL test packages and fails when a Backend method is
 * declared nowhere, when a declared name is no Backend method, or when the test class never calls it.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Covers {
    String[] value();
}
