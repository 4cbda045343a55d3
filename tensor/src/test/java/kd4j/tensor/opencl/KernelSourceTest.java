package kd4j.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The shared header is prepended once to every family, and no family redefines one of its helpers. */
class KernelSourceTest {
    private static final Pattern FUNCTION = Pattern.compile("(?m)^(?:inline\\s+)?(?:float4?|void|int|long|wide_t)\\s+(\\w+)\\s*\\(");

    private static List<String> functions(String source) {
        List<String> out = new ArrayList<>();
        Matcher m = FUNCTION.matcher(source);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    @Test
    void everyFamilyIsBuiltFromTheHeaderThenItsFile() {
        String header = KernelSource.header();
        List<String> shared = functions(header);
        assertTrue(shared.containsAll(List.of("group_sum", "group_max", "merge_lse", "group_lse", "load_w")), shared.toString());
        for (KernelSource.Entry e : KernelSource.all()) {
            assertTrue(e.source().startsWith(header), e.file() + " does not start with " + KernelSource.HEADER);
            assertEquals(KernelSource.sha256(e.source()), e.sha256(), e.file());
            assertFalse(e.kernels().isEmpty(), e.file() + " defines no kernel");
            String own = e.source().substring(header.length());
            for (String f : functions(own))
                assertFalse(shared.contains(f), e.file() + " redefines " + f + "(), which " + KernelSource.HEADER + " already has");
        }
    }

}
