/*
 * Where the PyTorch reference fixtures are: -Dkd4j.fixtures or KD4J_FIXTURES (the shared set), and the copy of
 * the smallest model (qwen2) under src/test/resources so a conformance test always runs.
 */
package kd4j.models;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

final class Fixtures {
    private Fixtures() {}

    /** The shared fixtures root, or null when neither the property nor the variable names an existing directory. */
    static Path sharedRoot() {
        String p = System.getProperty("kd4j.fixtures");
        if (p == null || p.isBlank()) p = System.getenv("KD4J_FIXTURES");
        if (p == null || p.isBlank()) return null;
        Path root = Path.of(p);
        return Files.isDirectory(root.resolve("models")) ? root : null;
    }

    static String describeShared() {
        String p = System.getProperty("kd4j.fixtures", System.getenv("KD4J_FIXTURES"));
        return "fixtures not found at " + p + "; set KD4J_FIXTURES or -Dkd4j.fixtures";
    }

    /** The bundled copy of models/qwen2. */
    static Path bundledQwen2() {
        try {
            return Path.of(Fixtures.class.getResource("/fixtures/models/qwen2/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The model fixtures bundled under src/test/resources/fixtures/models: the copy of the shared qwen2, and the
     * Qwen3 attention_bias variants made for kd4j (their README says how), which have no transformers-made twin.
     */
    static List<Path> bundledModelDirs() { return modelDirs(bundledQwen2().getParent().getParent()); }

    /** Every model directory under root/models that has a reference.safetensors, sorted. */
    static List<Path> modelDirs(Path root) {
        if (root == null) return List.of();
        try (Stream<Path> s = Files.list(root.resolve("models"))) {
            List<Path> dirs = new ArrayList<>();
            s.filter(d -> Files.exists(d.resolve("reference.safetensors")) && Files.exists(d.resolve("config.json")))
                    .sorted().forEach(dirs::add);
            return dirs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A directory that looks like dir but whose config.json is dir/configName (symlinks to the weights), for the
     * legacy-layout configs.
     */
    static Path withConfig(Path dir, String configName, Path tmp) throws IOException {
        if (configName.equals("config.json")) return dir;
        Path out = Files.createDirectories(tmp.resolve(dir.getFileName() + "-" + configName));
        if (Files.exists(out.resolve("config.json"))) return out;
        Files.copy(dir.resolve(configName), out.resolve("config.json"));
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(f -> f.getFileName().toString().startsWith("model")).toList())
                Files.createSymbolicLink(out.resolve(f.getFileName()), f.toAbsolutePath());
        }
        return out;
    }
}
