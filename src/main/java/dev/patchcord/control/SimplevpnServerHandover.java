package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverSnapshot;
import dev.patchcord.control.handover.HandoverSnapshot.Role;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.device.SimplevpnHub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The running side of a restart for {@code patchcord simplevpn server}: it stops the hub's threads
 * between packets and hands over the listening socket and every client connection, each with the
 * bytes its reader had read in part (unread) and those queued for it and not yet written (unsent),
 * so that no client notices. The server has no interface: its snapshot names the run name
 * {@code simplevpn-PORT} instead, and carries no TUN descriptor.
 *
 * <p>Each client's address rides in the snapshot's configuration field, one line per connection in
 * the order of the connections, {@code client=A.B.C.D}, or {@code client=none} for one that has not
 * asked yet (the layout stays version 1); the successor claims those addresses in its pool.
 *
 * <p>Concurrency: one hand-over at a time, driven by the restart thread; the threads are stopped
 * for the whole exchange.
 */
public final class SimplevpnServerHandover implements Handover {
    private static final String CLIENT = "client=";
    private static final String NONE = "none";

    private final String runName;
    private final SimplevpnHub hub;
    private final int handovers;
    private final long firstStartEpochMillis;
    private boolean paused;

    /**
     * @param runName  the name the pid file and the hand-over socket go by, {@code simplevpn-PORT}
     * @param previous the snapshot this process took over with, or null if it started the server
     */
    public SimplevpnServerHandover(String runName, SimplevpnHub hub, HandoverSnapshot previous) {
        this.runName = runName;
        this.hub = hub;
        this.handovers = previous == null ? 0 : previous.handovers() + 1;
        this.firstStartEpochMillis = previous == null ? System.currentTimeMillis() : previous.firstStartEpochMillis();
    }

    @Override
    public String refusal() {
        return null;
    }

    /** The clients of the last {@link #pause}, whose connections went with the snapshot. */
    private List<SimplevpnHub.ClientState> sent = List.of();

    @Override
    public Outgoing pause() throws IOException {
        try {
            paused = true;
            if (!hub.pause(PlainHandover.PAUSE_MILLIS)) {
                throw new IOException("the server's threads did not stop within " + PlainHandover.PAUSE_MILLIS / 1000 + " s");
            }
            List<SimplevpnHub.ClientState> clients = hub.handover();
            sent = clients;
            List<Role> roles = new ArrayList<>(List.of(Role.TCP_LISTENER));
            List<HandoverSnapshot.TcpLink> links = new ArrayList<>();
            int[] fds = new int[1 + clients.size()];
            fds[0] = hub.listener().fd();
            StringBuilder config = new StringBuilder();
            for (int i = 0; i < clients.size(); i++) {
                SimplevpnHub.ClientState c = clients.get(i);
                roles.add(Role.TCP_LINK);
                links.add(new HandoverSnapshot.TcpLink(null, false, true, c.peer(), c.unread(), c.unsent(), c.ageNanos(), 0));
                fds[1 + i] = c.socket().fd();
                config.append(CLIENT).append(c.address() == ControlMessage.NONE ? NONE : ControlMessage.format(c.address()))
                        .append('\n');
            }
            HandoverSnapshot snapshot = new HandoverSnapshot(handovers, firstStartEpochMillis, runName,
                    HandoverSnapshot.Kind.PLAIN, 0, roles, links, config.toString().getBytes(StandardCharsets.UTF_8),
                    List.of(), List.of());
            return new Outgoing(snapshot, fds);
        } catch (IOException | RuntimeException e) {
            resume(false);
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resume(false);
            throw new IOException("interrupted while stopping the server's threads");
        }
    }

    /**
     * Carries on. After a failure once the snapshot went, the successor may have read from the
     * clients' connections, so their streams no longer frame where this server expects: they are
     * closed (the successor is gone by now), and the clients connect again as after any outage.
     */
    @Override
    public void resume(boolean stateSent) {
        if (paused) {
            paused = false;
            hub.resume();
        }
        if (stateSent) {
            sent.forEach(c -> c.socket().close());
        }
    }

    /** The server holds no secret. */
    @Override
    public void wipe() {
    }

    /**
     * Each handed-over connection's address, in the order of the snapshot's connections
     * ({@link ControlMessage#NONE} for one without).
     *
     * @throws IOException if the configuration field is not what this class writes
     */
    public static int[] addresses(HandoverSnapshot snapshot) throws IOException {
        if (snapshot.kind() != HandoverSnapshot.Kind.PLAIN || snapshot.count(Role.TCP_LISTENER) != 1
                || snapshot.count(Role.TUN) != 0) {
            throw new IOException("the running process is not a simplevpn server");
        }
        String text = new String(snapshot.uapiConfig(), StandardCharsets.UTF_8);
        List<String> lines = text.isEmpty() ? List.of() : text.lines().toList();
        if (lines.size() != snapshot.tcpLinks().size()) {
            throw new IOException("the hand-over names " + lines.size() + " addresses for "
                    + snapshot.tcpLinks().size() + " connections");
        }
        int[] out = new int[lines.size()];
        for (int i = 0; i < out.length; i++) {
            String line = lines.get(i);
            if (!line.startsWith(CLIENT)) {
                throw new IOException("the hand-over's line '" + line + "' is not a client= line");
            }
            String value = line.substring(CLIENT.length());
            if (value.equals(NONE)) {
                out[i] = ControlMessage.NONE;
                continue;
            }
            try {
                byte[] b = dev.patchcord.core.Cidr.parseAddress(value).getAddress();
                if (b.length != 4) {
                    throw new IllegalArgumentException("not IPv4");
                }
                out[i] = ControlMessage.fromBytes(b);
            } catch (IllegalArgumentException e) {
                throw new IOException("the hand-over's client address '" + value + "' is not an IPv4 address");
            }
        }
        return out;
    }
}
