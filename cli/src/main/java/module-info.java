/* The kd4j command line (picocli): an application, so it exports nothing; picocli reflects on its commands. */
module kd4j.cli {
    requires kd4j.distill;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires java.management;
    requires jdk.management;

    opens kd4j.cli to info.picocli;
}
