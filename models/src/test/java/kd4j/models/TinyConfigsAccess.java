/* Lets tests in sub-packages reach the package-private test helpers of kd4j.models. */
package kd4j.models;

import java.nio.file.Path;

public final class TinyConfigsAccess {
    private TinyConfigsAccess() {}

    public static String json(String family) { return TinyConfigs.ALL.get(family); }

    public static ModelConfig parse(String family) { return TinyConfigs.parse(json(family)); }

    public static Path fixtureRoot() { return Fixtures.sharedRoot(); }
}
