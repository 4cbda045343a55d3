/*
 * The ordered set of a model's parameters, keyed by HF name. The one source the optimizer, checkpoints and HF
 * export read from, so their orders and names agree by construction.
 */
package kd4j.autograd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class ParameterRegistry {
    private final Map<String, Parameter> byName = new LinkedHashMap<>();

    /** Registers p; a second parameter with the same name is an error. Returns p. */
    public Parameter add(Parameter p) {
        if (byName.putIfAbsent(p.name(), p) != null)
            throw new IllegalArgumentException("parameter '" + p.name() + "' registered twice");
        return p;
    }

    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null)
            throw new IllegalArgumentException("no parameter named '" + name + "' (" + byName.size() + " registered)");
        return p;
    }

    public boolean contains(String name) { return byName.containsKey(name); }

    public List<Parameter> all() { return Collections.unmodifiableList(new ArrayList<>(byName.values())); }

    public int size() { return byName.size(); }

    /** Total number of elements of all parameters. */
    public long numel() {
        long n = 0;
        for (Parameter p : byName.values()) n += p.data().numel();
        return n;
    }

    /** Zero-fills every gradient in place (buffers are kept: no allocation per step). */
    public void zeroGrad() {
        for (Parameter p : byName.values()) p.zeroGrad();
    }

    /** Drops every gradient buffer (frees the memory, e.g. before evaluation). */
    public void clearGrads() {
        for (Parameter p : byName.values()) p.clearGrad();
    }
}
