package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverSnapshot;
import dev.patchcord.control.handover.HandoverSnapshot.Role;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.SessionState;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.tun.TunDevice;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The running side of a restart, for an encrypted interface: stops its traffic at a safe point
 * and gathers what a successor needs ({@link #pause}), carries on if the successor fails
 * ({@link #resume}), and wipes its keys once the successor has taken over ({@link #wipe}).
 *
 * <p>Concurrency: one hand-over at a time, run by the caller under the configuration socket's
 * exclusive lock, so that no {@code wg set} changes the device between the snapshot and the
 * successor's start. The packet loops are stopped for the whole exchange; the MTU watch and the
 * mesh go on (they only touch the node, whose state the successor receives when the loops stop).
 */
public final class InterfaceHandover implements Handover {
    /** How long the packet loops may take to reach their next wait (they return between batches). */
    static final long PAUSE_MILLIS = 5_000;

    private final InterfaceSession session;
    private boolean tcpSuspended;
    private boolean paused;

    public InterfaceHandover(InterfaceSession session) {
        this.session = session;
    }

    /**
     * Why this interface cannot be handed over, or null if it can. A cluster hub's clients move
     * to the other hubs when it restarts (docs/cluster.md), and its backplane is a second
     * interface this class does not carry.
     */
    @Override
    public String refusal() {
        if (session.cluster() != null) {
            return "a cluster hub (Store) is not handed over: restart it with 'systemctl restart' or down/up, and its"
                    + " clients move to the other hubs";
        }
        if (!(session.device() instanceof TunDevice)) {
            return "the interface is not a kernel TUN/TAP device";
        }
        return null;
    }

    /**
     * Stops the loops and collects the state. On failure everything is resumed before the
     * exception leaves.
     */
    @Override
    public Outgoing pause() throws IOException {
        String refusal = refusal();
        if (refusal != null) {
            throw new IOException(refusal);
        }
        WgTunnel tunnel = session.tunnel();
        try {
            paused = true;
            if (!tunnel.pause(PAUSE_MILLIS)) {
                throw new IOException("the packet loops did not stop within " + PAUSE_MILLIS / 1000 + " s");
            }
            List<Role> roles = new ArrayList<>();
            List<Integer> fds = new ArrayList<>();
            roles.add(Role.TUN);
            fds.add(((TunDevice) session.device()).fd());
            roles.add(Role.UDP);
            fds.add(tunnel.socket().fd());
            List<HandoverSnapshot.TcpLink> links = new ArrayList<>();
            TcpTransport tcp = session.tcp();
            if (tcp != null) {
                TcpTransport.Suspended s = tcp.suspend(); // resumes by itself if it fails
                tcpSuspended = true;
                if (s.listenerFd() >= 0) {
                    roles.add(Role.TCP_LISTENER);
                    fds.add(s.listenerFd());
                }
                for (TcpTransport.LinkState l : s.links()) {
                    roles.add(Role.TCP_LINK);
                    fds.add(l.fd());
                    links.add(new HandoverSnapshot.TcpLink(l.peerKey(), l.dialled(), l.attached(), l.remote(), l.unread(),
                            l.unsent(), l.ageNanos(), l.quietNanos()));
                }
            }
            long now = System.nanoTime();
            List<SessionState> sessions = session.node().exportSessions(now);
            List<HandoverSnapshot.Station> stations = new ArrayList<>();
            for (MacTable.Station<Peer> st : tunnel.stations(now)) {
                stations.add(new HandoverSnapshot.Station(st.mac(), st.port().publicKey(), st.ageNanos()));
            }
            byte[] config = HandoverConfig.of(session.control().get()).getBytes(StandardCharsets.UTF_8);
            HandoverSnapshot snapshot = new HandoverSnapshot(session.control().handovers(),
                    session.control().interfaceStarted(), session.ifname(),
                    session.node().layer2() ? HandoverSnapshot.Kind.WIREGUARD_TAP : HandoverSnapshot.Kind.WIREGUARD_TUN,
                    ((TunDevice) session.device()).offloads(), roles, links, config, sessions,
                    stations);
            return new Outgoing(snapshot, fds.stream().mapToInt(Integer::intValue).toArray());
        } catch (IOException | RuntimeException e) {
            resume(false);
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resume(false);
            throw new IOException("interrupted while stopping the packet loops");
        }
    }

    /** The successor failed: the traffic goes on here, as if nothing had happened. */
    @Override
    public void resume(boolean stateSent) {
        if (stateSent) {
            // The successor may have sealed under these sessions: a counter used there must never
            // be used again here under the same key. New handshakes make new keys.
            session.node().endSessions();
        }
        try {
            if (tcpSuspended) {
                tcpSuspended = false;
                if (stateSent) {
                    session.tcp().resumeWithoutConnections(); // the successor may have read from them
                } else {
                    session.tcp().resume();
                }
            }
        } finally {
            if (paused) {
                paused = false;
                session.tunnel().resume();
            }
        }
    }

    /**
     * The successor carries the interface now: every session key, handshake secret, preshared
     * key and the private key of this process are zeroed, so that nothing of them outlives the
     * hand-over here. The process must then exit without its clean-up steps (the interface, its
     * addresses and the sockets are the successor's).
     */
    @Override
    public void wipe() {
        session.node().wipeSecrets();
    }
}
