package dev.patchcord.device;

import dev.patchcord.tun.TunDevice;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The start-up warm-up: real tunnels on stand-in devices and loopback sockets, then nothing left behind. */
class WarmupTest {
    /** Names of the threads a tunnel starts (its loops and its cipher workers), and the warm-up's own. */
    private static Set<String> tunnelThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.equals("device-to-net") || n.equals("net-to-device") || n.equals("timers")
                        || n.startsWith("seal-") || n.startsWith("open-"))
                .collect(Collectors.toSet());
    }

    @Test
    void everyRoundTripComesBackWithVirtioHeadersAndOffloads() {
        Set<String> before = tunnelThreads();
        Warmup.Result r = Warmup.run(true, TunDevice.OFFLOAD_ALL, Offloads.ALL, 1420, 200, 20_000);
        assertThat(r.stoppedEarly()).isNull();
        assertThat(r.roundTrips()).isEqualTo(200);
        assertThat(tunnelThreads()).as("the throwaway tunnels' threads have ended").isEqualTo(before);
    }

    @Test
    void withoutTheHeaderAndWithOneCipherThreadToo() {
        Warmup.Result r = Warmup.run(false, 0, Offloads.parse("-tso,-parallel"), 1280, 120, 20_000);
        assertThat(r.stoppedEarly()).isNull();
        assertThat(r.roundTrips()).isEqualTo(120);
    }

    @Test
    void burstsAreWholeAndTheLastOneIsCutToTheCount() {
        // 30 round trips: 24 lone ones, then a burst cut from 16 to the 6 left.
        Warmup.Result r = Warmup.run(true, TunDevice.OFFLOAD_ALL, Offloads.ALL, 1420, 30, 20_000);
        assertThat(r.roundTrips()).isEqualTo(30);
    }

    @Test
    void aWarmUpOutOfTimeStopsAtItsDeadlineAndLeavesNothingRunning() {
        Set<String> before = tunnelThreads();
        Warmup.Result r = Warmup.run(true, TunDevice.OFFLOAD_ALL, Offloads.ALL, 1420, Integer.MAX_VALUE, 300);
        assertThat(r.stoppedEarly()).isEqualTo("out of time");
        assertThat(r.roundTrips()).isPositive();
        assertThat(r.millis()).isLessThan(300 + Warmup.STOP_MILLIS + 2_000); // the deadline, the bounded stop, a busy machine
        assertThat(tunnelThreads()).isEqualTo(before);
    }
}
