/*
 * A rank of the OpenMpiTest jobs: sums each rank's values (and a large buffer), gathers the ranks' names, prints
 * what it got; with a stall rank it lets that rank sleep through the collective so the others time out.
 */
package kd4j.mpi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

public final class CollectiveProbe {
    public static void main(String[] args) throws Exception {
        int stallRank = args.length > 0 ? Integer.parseInt(args[0]) : -1;
        Communicator c = Communicators.world();
        int n = 1 << 20;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(ValueLayout.JAVA_FLOAT, n);
            for (int i = 0; i < n; i++) buf.setAtIndex(ValueLayout.JAVA_FLOAT, i, (c.rank() + 1) * (i % 1000) * 0.5f);
            if (c.rank() == stallRank) Thread.sleep(3_600_000);
            c.allreduceSum(buf, n, "probe sum");
            double maxErr = 0;
            float ranks = c.size() * (c.size() + 1) / 2f;
            for (int i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(buf.getAtIndex(ValueLayout.JAVA_FLOAT, i) - ranks * (i % 1000) * 0.5f));
            byte[][] names = c.allgather(("r" + c.rank()).getBytes(StandardCharsets.UTF_8), "probe gather");
            StringBuilder s = new StringBuilder();
            for (byte[] b : names) s.append(new String(b, StandardCharsets.UTF_8)).append(',');
            System.out.println("probe rank=" + c.rank() + " size=" + c.size() + " local=" + c.localRank() + "/" + c.localSize()
                    + " maxErr=" + maxErr + " gathered=" + s + " " + c.describe());
        }
        Communicators.finish(0);
    }
}
