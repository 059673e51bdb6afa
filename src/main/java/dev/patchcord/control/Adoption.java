package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverLink;
import dev.patchcord.control.handover.HandoverSnapshot;
import dev.patchcord.control.handover.HandoverSnapshot.Role;
import dev.patchcord.core.l2.MacTable;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.TunDevice;

import dev.patchcord.transport.StreamSocket;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The successor's side of a restart, for an encrypted interface: the descriptors and the
 * snapshot received from the running process, and how {@link SessionBuilder} builds around them
 * instead of opening its own (the interface, its addresses and routes are there already, and no
 * hook runs again). Once the session is built, {@link #restore} gives it the running device's
 * peers and sessions, before any loop starts.
 *
 * <p>Ownership: every descriptor is either adopted (then the session closes it) or closed by
 * {@link #closeUnadopted} when the build fails; closing a copy never disturbs the running
 * process, which holds its own.
 */
public final class Adoption {
    private final HandoverSnapshot snapshot;
    private final int[] fds;
    private final boolean[] adopted;

    /**
     * @throws IOException when the descriptors do not match the snapshot's list of them
     */
    public Adoption(HandoverSnapshot snapshot, int[] fds) throws IOException {
        if (fds.length != snapshot.roles().size()) {
            throw new IOException("the hand-over passed " + fds.length + " descriptors for " + snapshot.roles().size());
        }
        this.snapshot = snapshot;
        this.fds = fds.clone();
        this.adopted = new boolean[fds.length];
    }

    public HandoverSnapshot snapshot() {
        return snapshot;
    }

    private int take(Role role, int nth) throws IOException {
        int seen = 0;
        for (int i = 0; i < fds.length; i++) {
            if (snapshot.roles().get(i) == role && seen++ == nth) {
                adopted[i] = true;
                return fds[i];
            }
        }
        throw new IOException("the hand-over passed no " + role + " descriptor");
    }

    /**
     * The interface, checked against the configuration: a file changed in a way the running
     * interface cannot follow (TUN to TAP, another name) makes the hand-over fail, and the running
     * process carries on.
     */
    TunDevice device(String ifname, boolean tap, Wakeup wakeup) throws SysException, IOException {
        TunDevice d = TunDevice.adopt(take(Role.TUN, 0), wakeup, snapshot.deviceOffloads());
        if (!d.name().equals(ifname)) {
            throw new IOException("the running interface is " + d.name() + ", the configuration names " + ifname);
        }
        if ((d.kind() == TunDevice.Kind.TAP) != tap) {
            throw new IOException("the running interface is " + d.kind() + " and the configuration now says "
                    + (tap ? "TAP" : "TUN") + ": that needs 'patchcord down' and 'up'");
        }
        return d;
    }

    UdpSocket socket(Wakeup wakeup) throws SysException, IOException {
        return UdpSocket.adopt(take(Role.UDP, 0), wakeup);
    }

    /**
     * The interface of a plain mode (tinyvpn, tap2tap, udptun), checked against the command line:
     * a snapshot of an encrypted interface, another kind of device or another name (unless the
     * command line lets the kernel pick one, {@code tun%d}) makes the hand-over fail, and the
     * running process carries on.
     *
     * @param ifname the name the command line asks for, possibly a {@code %d} pattern
     */
    public TunDevice adoptDevice(String ifname, TunDevice.Kind kind, Wakeup wakeup) throws SysException, IOException {
        if (snapshot.kind() != HandoverSnapshot.Kind.PLAIN) {
            throw new IOException("the running process carries a " + snapshot.kind() + " interface, not a plain tunnel");
        }
        TunDevice d = TunDevice.adopt(take(Role.TUN, 0), wakeup, snapshot.deviceOffloads());
        if (d.kind() != kind) {
            d.close();
            throw new IOException("the running interface " + d.name() + " is " + d.kind() + ", this command makes " + kind);
        }
        if (ifname != null && !ifname.contains("%") && !d.name().equals(ifname)) {
            d.close();
            throw new IOException("the running interface is " + d.name() + ", the command line names " + ifname);
        }
        return d;
    }

    /** The UDP socket of a plain mode, with everything set on it (its port, buffers, GRO). */
    public UdpSocket adoptSocket(Wakeup wakeup) throws SysException, IOException {
        return UdpSocket.adopt(take(Role.UDP, 0), wakeup);
    }

    /**
     * The {@code nth} TCP connection of a plain mode (a simplevpn client's to its server), as it
     * is: its unread bytes are in {@link HandoverSnapshot#tcpLinks()}.
     */
    public StreamSocket adoptStream(int nth) throws IOException {
        return StreamSocket.adopt(take(Role.TCP_LINK, nth));
    }

    /** The TCP listener of a plain mode (the simplevpn server's). */
    public StreamSocket adoptListener() throws IOException {
        return StreamSocket.adopt(take(Role.TCP_LISTENER, 0));
    }

    /** The WireGuard-over-TCP listener and connections, or null if the running process had none. */
    TcpTransport.Suspended tcp() throws IOException {
        if (snapshot.count(Role.TCP_LISTENER) == 0 && snapshot.count(Role.TCP_LINK) == 0) {
            return null;
        }
        int listener = snapshot.count(Role.TCP_LISTENER) == 0 ? -1 : take(Role.TCP_LISTENER, 0);
        List<TcpTransport.LinkState> links = new ArrayList<>();
        List<HandoverSnapshot.TcpLink> described = snapshot.tcpLinks();
        for (int i = 0; i < described.size(); i++) {
            HandoverSnapshot.TcpLink l = described.get(i);
            links.add(new TcpTransport.LinkState(take(Role.TCP_LINK, i), l.peerKey(), l.unread(), l.remote(), l.dialled(),
                    l.attached(), l.unsent(), l.ageNanos(), l.quietNanos()));
        }
        return new TcpTransport.Suspended(listener, links);
    }

    /**
     * Makes the new session's device what the running one was, then gives every peer its
     * sessions. With a mesh, the peers the mesh adds come from it again and find their sessions
     * waiting ({@link dev.patchcord.core.wg.Node#importSessions}); only the file's peers are set
     * from the snapshot.
     *
     * @return a line for the log: how many peers got their sessions back
     */
    String restore(InterfaceSession session) throws IOException {
        String body = new String(snapshot.uapiConfig(), StandardCharsets.UTF_8);
        if (session.mesh() == null) {
            try {
                SetRequest wanted = HandoverConfig.request(body);
                String removals = HandoverConfig.removals(session.control().get(), wanted);
                if (!removals.isEmpty()) {
                    session.control().set(HandoverConfig.request(removals));
                }
                session.control().set(wanted);
            } catch (UapiException e) {
                throw new IOException("cannot apply the running device's configuration: " + e.getMessage());
            }
        }
        long now = System.nanoTime();
        int restored = session.node().importSessions(snapshot.sessions(), now);
        int stations = 0;
        for (HandoverSnapshot.Station st : snapshot.stations()) {
            Peer peer = session.node().peer(st.peerKey());
            if (peer != null) {
                session.tunnel().restoreStation(new MacTable.Station<>(st.mac(), peer, st.ageNanos()), now);
                stations++;
            }
        }
        session.control().takenOver(snapshot.firstStartEpochMillis(), snapshot.handovers() + 1);
        snapshot.wipe(); // the node holds its own copies now, also of the states still waiting for their peers
        return restored + " of " + snapshot.sessions().size() + " peers' sessions carried over"
                + (stations == 0 ? "" : ", " + stations + " learned MAC addresses");
    }

    /** Closes the descriptors no object took (a build that failed half-way). */
    public void closeUnadopted() {
        for (int i = 0; i < fds.length; i++) {
            if (!adopted[i]) {
                adopted[i] = true;
                HandoverLink.closeAll(new int[] {fds[i]});
            }
        }
    }
}
