/* Data-parallel communication: Open MPI through FFM, or one process. */
module kd4j.mpi {
    exports kd4j.mpi;
}
