package org.streamfusion.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.streamfusion.launch.DistributedEnvironment;
import org.streamfusion.launch.KeyValueStore;

/** A child process for the launcher tests: rendezvous through the store as a GPU job would for its unique ids. */
public final class RendezvousProbe {
    public static void main(String[] args) {
        DistributedEnvironment env = DistributedEnvironment.fromSystem();
        int failRank = args.length > 0 ? Integer.parseInt(args[0]) : -1;
        try (KeyValueStore store = KeyValueStore.connect(env, Duration.ofSeconds(60))) {
            if (env.rank() == 0) {
                store.set("unique-id", ("id-from-rank-0 world " + env.worldSize()).getBytes(StandardCharsets.UTF_8));
            }
            String id = new String(store.get("unique-id"), StandardCharsets.UTF_8);
            if (env.rank() == failRank) {
                System.err.println("rank " + env.rank() + " gives up: injected failure before the barrier");
                System.exit(3);
            }
            store.barrier("start", env.worldSize());
            System.out.println("rank " + env.rank() + "/" + env.worldSize() + " local " + env.localRank() + " got " + id
                    + " NVLS " + System.getenv("NCCL_NVLS_ENABLE") + "/" + System.getenv("NVSHMEM_DISABLE_NVLS"));
            store.barrier("end", env.worldSize());
        }
    }
}
