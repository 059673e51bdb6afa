package dev.patchcord.transport;

import dev.patchcord.core.wg.Peer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Base64;

/**
 * A dialer of a {@link TcpTransport}: keeps a connection to one peer's endpoint (this side as the
 * client), reconnecting with backoff from 1 s to {@link #MAX_BACKOFF_MILLIS}, and reads it on its
 * own thread ({@link TcpConn#read}). In {@link TcpTransport.Mode#UDP_THEN_TCP} it dials only once
 * the peer's handshakes over UDP went unanswered.
 *
 * <p><b>Concurrency.</b> Runs on one platform thread of its own (connecting blocks in a system
 * call). It dials only while the transport's {@link TcpGate} lets it run, and registers a new
 * connection under the gate, so a suspension either sees the connection or the connection is
 * closed unused. It ends when the transport closes, is handed over (the successor's dialer
 * carries on), or its peer is removed for good.
 */
final class TcpDialer implements Runnable {
    private static final long MAX_BACKOFF_MILLIS = 30_000;
    /** A connection open this long was a working one: when it ends, redial at once. */
    private static final long STEADY_MILLIS = 10_000;
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private final TcpTransport owner;
    private final byte[] key;
    /** A connection taken over from a predecessor, read before dialling; or null. */
    private final TcpConn adopted;

    TcpDialer(TcpTransport owner, byte[] key, TcpConn adopted) {
        this.owner = owner;
        this.key = key;
        this.adopted = adopted;
    }

    /**
     * Dials the peer, found by its key on every round: {@code wg setconf} removes every peer and
     * adds them again as new ones, and the dialer goes on for the new one, where its endpoint is
     * now. Only a key missing for {@link TcpTransport#GONE_MILLIS} ends the dialer: a set in
     * progress, or a peer removed and added again, leaves the key missing for a moment.
     */
    @Override
    public void run() {
        TcpGate gate = owner.gate;
        TcpTransport.Host tunnel = owner.tunnel;
        long backoff = 1_000;
        long missingSince = Long.MIN_VALUE;
        TcpConn next = adopted;
        while (!gate.closed() && !tunnel.closing()) {
            TcpConn conn = next;
            next = null;
            if (conn == null) {
                if (!gate.awaitRunning()) {
                    return;
                }
                Peer peer = tunnel.peer(key);
                if (peer == null) {
                    long now = System.nanoTime();
                    if (missingSince == Long.MIN_VALUE) {
                        missingSince = now;
                        owner.log("peer " + shortKey(key) + ": not configured now; dialled again if it is back within "
                                + TcpTransport.GONE_MILLIS / 1000 + " s");
                    } else if (now - missingSince >= TcpTransport.GONE_MILLIS * 1_000_000L) {
                        owner.log("peer " + shortKey(key) + ": removed; no longer dialled over TCP");
                        return;
                    }
                    if (!TcpTransport.sleep(TcpTransport.GONE_MILLIS / 10)) {
                        return;
                    }
                    continue;
                }
                missingSince = Long.MIN_VALUE;
                try {
                    if (!wanted(peer)) {
                        Thread.sleep(500);
                        continue;
                    }
                    conn = dial(peer);
                    if (conn == null) {
                        continue; // made while suspending, and closed unused
                    }
                } catch (IOException e) {
                    owner.log("peer " + shortKey(key) + ": TCP connect failed (" + e.getMessage() + "); retry in "
                            + backoff / 1000 + " s");
                    if (!TcpTransport.sleep(backoff)) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
                    continue;
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (conn.read(owner)) {
                return; // handed over: the successor's dialer carries on
            }
            long lasted = (System.nanoTime() - conn.opened) / 1_000_000;
            if (lasted >= STEADY_MILLIS) {
                // A connection that worked: the far end restarted or the path broke. Redial at once.
                backoff = 1_000;
                owner.log("peer " + shortKey(key) + ": TCP connection closed; reconnecting");
                continue;
            }
            // Closed soon after it opened (the far end's admission refused it, or the peer does
            // not take us): wait as after a failed connect instead of hammering it.
            owner.log("peer " + shortKey(key) + ": TCP connection closed; reconnecting in " + backoff / 1000
                    + " s (it lasted " + lasted + " ms)");
            if (!TcpTransport.sleep(backoff)) {
                return;
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
        }
    }

    /** Whether this peer should be reached over TCP now. */
    private boolean wanted(Peer peer) {
        return switch (owner.mode) {
            case TCP -> true;
            // Two initiations have gone unanswered once the third is out. Counted across attempts:
            // packets waiting to be sent start the attempt afresh, so its retry count may stay at 0.
            case UDP_THEN_TCP -> !peer.hasSession(System.nanoTime()) && peer.unansweredInitiations() >= 3;
            case UDP -> false;
        };
    }

    /** Connects to the peer and attaches the connection to it; null if a suspension began meanwhile. */
    private TcpConn dial(Peer peer) throws IOException {
        PeerEndpoint endpoint = owner.tunnel.endpoint(peer);
        InetSocketAddress target = endpoint.describe();
        if (target == null) {
            throw new IOException("no endpoint");
        }
        StreamSocket s = StreamSocket.connect(target, CONNECT_TIMEOUT_MILLIS);
        TcpLink link;
        try {
            link = new TcpLink(s);
        } catch (IOException e) {
            s.close();
            throw e;
        }
        TcpConn conn = new TcpConn(link, null, key, System.nanoTime(), null);
        TcpGate gate = owner.gate;
        synchronized (gate) {
            if (gate.paused() || gate.closed()) {
                // Nothing went over it yet: closing it costs the far end only a short-lived connection.
                link.close();
                return null;
            }
            owner.conns.add(conn);
        }
        owner.log("peer " + shortKey(key) + ": connected over TCP to " + target);
        conn.attached = endpoint;
        endpoint.observeTcp(link);
        peer.initiateNow(); // the handshake that UDP could not complete, at once
        return conn;
    }

    private static String shortKey(byte[] key) {
        return Base64.getEncoder().encodeToString(key).substring(0, 8) + "…";
    }
}
