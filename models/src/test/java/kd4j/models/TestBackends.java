/* The backends the model tests run on: the scalar reference oracle and the fast CPU backend. */
package kd4j.models;

import java.util.List;
import kd4j.tensor.Backend;
import kd4j.tensor.Backends;
import kd4j.tensor.reference.ReferenceBackend;

final class TestBackends {
    private TestBackends() {}

    static List<Backend> all() {
        return List.of(new ReferenceBackend(), Backends.cpu());
    }

    static Backend fast() { return all().get(all().size() - 1); }
}
