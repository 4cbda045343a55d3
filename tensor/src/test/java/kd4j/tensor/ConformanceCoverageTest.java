/*
 * Fails when a Backend method has no conformance test on the CPU or the OpenCL backend. Each conformance test
 * method declares the Backend methods it exercises with @Covers; this test reflects over Backend's abstract methods
 * and over the @Covers of every test class in kd4j.tensor.cpu and kd4j.tensor.opencl, and reports the methods
 * declared nowhere. So that a declaration cannot drift from the code, every declared name must be a Backend method
 * and the declaring test method's own source must call it (".name(").
 */
package kd4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConformanceCoverageTest {
    /** The abstract methods of Backend: what every backend implements (the default methods are built on them). */
    static Set<String> backendMethods() {
        Set<String> names = new TreeSet<>();
        for (Method m : Backend.class.getMethods())
            if (Modifier.isAbstract(m.getModifiers())) names.add(m.getName());
        return names;
    }

    /** One @Covers declaration: the test class, its method and the Backend methods it names. */
    record Declaration(Class<?> testClass, Method method, List<String> covers) {}

    /** Every @Covers on a method of a top-level test class in the package (read from the test classes directory). */
    static List<Declaration> declarations(String pkg) throws IOException, URISyntaxException, ClassNotFoundException {
        URL dir = ConformanceCoverageTest.class.getClassLoader().getResource(pkg.replace('.', '/'));
        assertTrue(dir != null && dir.getProtocol().equals("file"), "test classes of " + pkg + " not found as a directory: " + dir);
        List<Declaration> out = new ArrayList<>();
        List<Path> classFiles;
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            classFiles = files.filter(p -> p.toString().endsWith(".class") && !p.getFileName().toString().contains("$")).sorted().toList();
        }
        for (Path p : classFiles) {
            String name = p.getFileName().toString();
            Class<?> c = Class.forName(pkg + "." + name.substring(0, name.length() - ".class".length()), false,
                    ConformanceCoverageTest.class.getClassLoader());
            for (Method m : c.getDeclaredMethods()) {
                Covers covers = m.getAnnotation(Covers.class);
                if (covers != null) out.add(new Declaration(c, m, List.of(covers.value())));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}") @ValueSource(strings = {"kd4j.tensor.cpu", "kd4j.tensor.opencl"})
    void everyBackendMethodHasAConformanceTest(String pkg) throws Exception {
        Set<String> missing = new TreeSet<>(backendMethods());
        for (Declaration d : declarations(pkg)) d.covers().forEach(missing::remove);
        assertEquals(Set.of(), missing, "Backend methods without a conformance test in " + pkg
                + " (add a test comparing them with the reference backend and declare it with @Covers)");
    }

    @ParameterizedTest(name = "{0}") @ValueSource(strings = {"kd4j.tensor.cpu", "kd4j.tensor.opencl"})
    void declarationsNameBackendMethodsThatTheirTestCalls(String pkg) throws Exception {
        Set<String> methods = backendMethods();
        List<String> problems = new ArrayList<>();
        for (Declaration d : declarations(pkg)) {
            String where = d.testClass().getSimpleName() + "." + d.method().getName();
            boolean isTest = Arrays.stream(d.method().getAnnotations()).map(a -> a.annotationType().getSimpleName())
                    .anyMatch(n -> n.equals("Test") || n.equals("ParameterizedTest"));
            if (!isTest) problems.add(where + " declares @Covers but is not a @Test or @ParameterizedTest");
            String body = methodSource(d.testClass(), d.method().getName());
            for (String c : d.covers()) {
                if (!methods.contains(c)) problems.add(where + " covers '" + c + "', which is no Backend method");
                else if (body != null && !body.contains("." + c + "(")) problems.add(where + " covers '" + c + "' but never calls it");
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theCoveredSetIsWhatBackendDeclares() {
        // a guard on the reflection itself: the memory and identity methods are there, the conveniences are not
        Set<String> methods = backendMethods();
        assertTrue(methods.containsAll(List.of("allocate", "copyIn", "copyOut", "copy", "fill", "sync", "close", "gemm",
                "attentionBackward", "sgdStep")), methods.toString());
        assertTrue(Collections.disjoint(methods, List.of("empty", "zeros", "fromFloats", "upload", "memoryCapacityBytes")), methods.toString());
    }

    /** The source text of a test method (from its class's file under src/test/java), or null when sources are absent. */
    private static String methodSource(Class<?> c, String method) throws IOException {
        Path file = Path.of("src/test/java", c.getName().replace('.', '/') + ".java");
        if (!Files.isRegularFile(file)) {
            Assumptions.abort("test sources not found at " + file.toAbsolutePath() + " (run from the tensor module)");
        }
        String s = Files.readString(file);
        int at = s.indexOf(" void " + method + "(");
        if (at < 0) return "";
        int open = s.indexOf('{', at), depth = 0, i = open;
        do {
            char ch = s.charAt(i++);
            if (ch == '{') depth++;
            else if (ch == '}') depth--;
        } while (depth > 0 && i < s.length());
        return s.substring(open, i);
    }
}
