package dev.patchcord.control;

import dev.patchcord.device.Offloads;
import dev.patchcord.device.Warmup;
import dev.patchcord.tun.TunDevice;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The warm-up of a session's packet path ({@link Warmup}), run on its own thread beside the build
 * so that the interface's first packets find the code compiled without the build waiting for it;
 * or run first, before a successor asks for the running interface, so that the running process's
 * pause does not include it. Either way it ends in a clause of the ready line.
 */
final class BuildWarmUp {

    /** How long the warm-up's round trips may take (a busy machine): it stops there, and the tunnel starts anyway. */
    static final long MILLIS = 2_000;

    private final WgInterfaceSection iface;
    private int roundTrips;
    /** The warm-up running beside the build, joined before the session is handed over. */
    private CompletableFuture<Warmup.Result> running;
    /** The line of a warm-up run by {@link #runFirst}, or "". */
    private String warmedUp = "";

    BuildWarmUp(WgInterfaceSection iface) {
        this.iface = iface;
    }

    /** How many synthetic round trips to run; 0 for none. */
    void roundTrips(int roundTrips) {
        this.roundTrips = roundTrips;
    }

    /** Runs the warm-up now and keeps its line, so that the build does not run it again. */
    void runFirst() {
        try {
            start(Offloads.fromSetting(iface.offloads()));
        } catch (IllegalArgumentException e) {
            return; // said by the build
        }
        warmedUp = await();
        roundTrips = 0;
    }

    /** Starts the warm-up beside the build, if one is asked for and the packet path is one it warms. */
    void start(Offloads offloads) {
        if (roundTrips <= 0 || iface.tap() || !offloads.batching()) {
            return; // TAP frames and the one-packet path are not warmed up
        }
        // The device is not open yet; the stand-ins get what it is asked for (the kernel may grant
        // less, which changes no branch a lone packet takes).
        boolean vnet = offloads.vnet();
        int deviceOffloads = offloads.tso() ? TunDevice.OFFLOAD_ALL : 0;
        int mtu = iface.mtuOrDefault();
        int trips = roundTrips;
        CompletableFuture<Warmup.Result> result = new CompletableFuture<>();
        running = result;
        Thread.ofPlatform().name("warm-up").daemon().start(() -> {
            try {
                result.complete(Warmup.run(vnet, deviceOffloads, offloads, mtu, trips, MILLIS));
            } catch (Throwable t) { // an Error too: the build waits for this result
                result.complete(new Warmup.Result(0, 0, t.toString()));
            }
        });
    }

    /** Waits for the warm-up (bounded); what it did, for the ready line, or "". */
    String await() {
        CompletableFuture<Warmup.Result> running = this.running;
        this.running = null;
        if (running == null) {
            return "";
        }
        Warmup.Result r;
        try {
            // Its own bounds, and a second for a thread that did not get a core in time.
            r = running.get(MILLIS + Warmup.STOP_MILLIS + 1_000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return "; warm-up not finished in time, left behind";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "; warm-up interrupted";
        }
        return r.stoppedEarly() == null
                ? "; packet path warmed up by " + r.roundTrips() + " round trips in " + r.millis() + " ms"
                : "; warm-up stopped after " + r.roundTrips() + " round trips (" + r.stoppedEarly() + ")";
    }

    /** The ready line's clause: a warm-up run first, then the one beside the build, waited for. */
    String readyLine() {
        return warmedUp + await();
    }
}
