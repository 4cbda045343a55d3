/* MiniPLM's Difference Sampling (score, select) and Peng et al.'s logit KD, and the pipeline that runs them. */
module kd4j.distill {
    requires transitive kd4j.train;
    requires com.fasterxml.jackson.databind;
    requires commons.math3;
    requires it.unimi.dsi.fastutil.core;
    requires org.knowm.xchart;
    requires java.desktop;

    exports kd4j.distill.kd;
    exports kd4j.distill.pipeline;
    exports kd4j.distill.score;
    exports kd4j.distill.select;
    opens kd4j.distill.kd to com.fasterxml.jackson.databind;
    opens kd4j.distill.pipeline to com.fasterxml.jackson.databind;
    opens kd4j.distill.score to com.fasterxml.jackson.databind;
    opens kd4j.distill.select to com.fasterxml.jackson.databind;
}
