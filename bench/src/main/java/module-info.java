/*
 * JMH benchmarks, run from the uber jar (bench/target/benchmarks.jar) on the class path. The benchmark package and
 * JMH's generated harness next to it are open, as JMH instantiates both reflectively.
 */
module kd4j.bench {
    requires kd4j.data;
    requires kd4j.models;
    requires jmh.core;

    opens kd4j.bench;
    opens kd4j.bench.jmh_generated;
}
