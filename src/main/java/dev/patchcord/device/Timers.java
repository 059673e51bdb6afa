package dev.patchcord.device;

import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.Reresolve;
import dev.patchcord.transport.SockAddr;

import java.io.PrintStream;
import java.net.InetSocketAddress;

/**
 * The loop of the {@code timers} thread: ticks the node ten times a second (handshake retries,
 * keepalives, key expiry), runs the tick hook, looks up again the host names of peers whose
 * handshakes are failing, and sends whatever each peer has queued.
 */
final class Timers implements Loops.Loop {
    private static final long TICK_MILLIS = 100;

    private final WgTunnel tunnel;
    private final Node node;
    private final PrintStream verbose;

    Timers(WgTunnel tunnel) {
        this.tunnel = tunnel;
        this.node = tunnel.node();
        this.verbose = tunnel.verbose();
    }

    @Override
    public void run() throws InterruptedException {
        Buffers b = new Buffers(tunnel.arena(), tunnel.newCipher());
        while (!tunnel.stopping()) {
            node.tick(System.nanoTime());
            Runnable hook = tunnel.tickHook();
            if (hook != null) {
                hook.run();
            }
            reresolveEndpoints(System.nanoTime());
            for (Peer p : node.peers()) {
                tunnel.drain(p, b.seg, b.view, b.cipher);
            }
            Thread.sleep(TICK_MILLIS);
        }
    }

    /**
     * Looks up again the host names of peers whose handshakes are failing ({@link Reresolve}); a
     * lookup may block, so it runs on a virtual thread of its own.
     */
    private void reresolveEndpoints(long now) {
        for (Peer p : node.peers()) {
            PeerAddress endpoint = tunnel.endpoint(p);
            if (endpoint.host() == null
                    || !Reresolve.due(p.unansweredInitiations(), p.sessionAge(now), endpoint.sinceLookup(now))) {
                continue;
            }
            endpoint.lookupStarting(now);
            Thread.ofVirtual().name("resolve").start(() -> {
                InetSocketAddress moved = endpoint.reresolve();
                if (moved != null && verbose != null) {
                    verbose.println("peer " + WgTunnel.shortKey(p) + ": " + endpoint.host() + " now resolves to "
                            + SockAddr.format(moved));
                }
            });
        }
    }
}
