/* A generic causal-LM trainer: config, batches, checkpoints, evaluation, metrics and plots. */
module kd4j.train {
    requires transitive kd4j.data;
    requires transitive kd4j.models;
    requires transitive kd4j.mpi;
    requires com.fasterxml.jackson.databind;
    requires me.tongfei.progressbar;
    requires org.knowm.xchart;
    requires java.desktop;

    exports kd4j.train;
    opens kd4j.train to com.fasterxml.jackson.databind;
}
