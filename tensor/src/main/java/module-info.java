/*
 * kd4j's tensors and the Backend SPI with its three implementations: CPU (Vector API kernels), OpenCL (through
 * FFM) and the scalar double reference the tests check against. Every package is API: callers pick a backend.
 */
module kd4j.tensor {
    requires jdk.incubator.vector;
    requires java.management;
    requires static jdk.management;     // NativeMemory reads physical memory from it when present, else /proc

    exports kd4j.tensor;
    exports kd4j.tensor.cpu;
    exports kd4j.tensor.opencl;
    exports kd4j.tensor.reference;
}
