package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverSnapshot;
import dev.patchcord.control.handover.HandoverSnapshot.Role;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.device.SimplevpnClient;
import dev.patchcord.transport.StreamSocket;
import dev.patchcord.tun.TunDevice;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The running side of a restart for {@code patchcord simplevpn client}: it stops the client's
 * loops between packets and hands over the TUN descriptor and the TCP connection to the server,
 * with the bytes of a packet read only in part, so that the server sees one unbroken stream and
 * the successor neither reconnects nor asks for an address again. Every write is a whole packet
 * under a lock, so nothing is ever half-written: the connection has no unsent bytes.
 *
 * <p>The address the server assigned rides in the snapshot's configuration field as one line,
 * {@code address=A.B.C.D} (the layout stays version 1); the successor needs it for the second
 * copy of the assignment the server may still send and for its log.
 *
 * <p>Concurrency: one hand-over at a time, driven by the restart thread; the loops are stopped
 * for the whole exchange.
 */
public final class SimplevpnClientHandover implements Handover {
    /** How long the loops may take to reach their next wait; as {@link PlainHandover}'s. */
    static final long PAUSE_MILLIS = PlainHandover.PAUSE_MILLIS;
    /** The configuration line that carries the assigned address. */
    private static final String ADDRESS = "address=";

    private final TunDevice device;
    private final SimplevpnClient client;
    private final int handovers;
    private final long firstStartEpochMillis;
    private final long connectedAt;
    private boolean paused;

    /**
     * @param previous the snapshot this process took over with, or null if it made the interface
     */
    public SimplevpnClientHandover(TunDevice device, SimplevpnClient client, HandoverSnapshot previous) {
        this.device = device;
        this.client = client;
        this.handovers = previous == null ? 0 : previous.handovers() + 1;
        this.firstStartEpochMillis = previous == null ? System.currentTimeMillis() : previous.firstStartEpochMillis();
        this.connectedAt = System.nanoTime();
    }

    /** Always possible while connected; {@link #pause} says so when the connection is down. */
    @Override
    public String refusal() {
        return null;
    }

    @Override
    public Outgoing pause() throws IOException {
        try {
            paused = true;
            if (!client.pause(PAUSE_MILLIS)) {
                throw new IOException("the client's loops did not stop within " + PAUSE_MILLIS / 1000 + " s");
            }
            StreamSocket connection = client.connection();
            if (connection == null) {
                // Mid-reconnection: the successor would have to dial anyway; this process does it.
                throw new IOException("not connected to the server now; try again once the client is");
            }
            byte[] config = addressLine(client.address()).getBytes(StandardCharsets.UTF_8);
            HandoverSnapshot.TcpLink link = new HandoverSnapshot.TcpLink(null, true, true,
                    String.valueOf(connection.remote()), client.unread(), new byte[0],
                    System.nanoTime() - connectedAt, 0);
            HandoverSnapshot snapshot = new HandoverSnapshot(handovers, firstStartEpochMillis, device.name(),
                    HandoverSnapshot.Kind.PLAIN, device.offloads(), List.of(Role.TUN, Role.TCP_LINK), List.of(link),
                    config, List.of(), List.of());
            return new Outgoing(snapshot, new int[] {device.fd(), connection.fd()});
        } catch (IOException | RuntimeException e) {
            resume(false);
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resume(false);
            throw new IOException("interrupted while stopping the client's loops");
        }
    }

    /**
     * Carries on. After a failure once the snapshot went, the successor may have read from the
     * connection, so the stream no longer frames where this client expects: it is closed (the
     * successor is gone by now), and the client connects again as after any outage.
     */
    @Override
    public void resume(boolean stateSent) {
        StreamSocket connection = stateSent ? client.connection() : null;
        if (paused) {
            paused = false;
            client.resume();
        }
        if (connection != null) {
            connection.close();
        }
    }

    /** The client holds no secret. */
    @Override
    public void wipe() {
    }

    static String addressLine(int address) {
        return ADDRESS + ControlMessage.format(address) + "\n";
    }

    /**
     * The address the running client was assigned, from its snapshot.
     *
     * @throws IOException if the configuration field is not what this class writes, or the
     *                     snapshot does not carry one connection
     */
    public static int assignedAddress(HandoverSnapshot snapshot) throws IOException {
        if (snapshot.kind() != HandoverSnapshot.Kind.PLAIN || snapshot.tcpLinks().size() != 1) {
            throw new IOException("the running process is not a simplevpn client");
        }
        String text = new String(snapshot.uapiConfig(), StandardCharsets.UTF_8).strip();
        if (!text.startsWith(ADDRESS) || text.contains("\n")) {
            throw new IOException("the hand-over's address is not an address= line");
        }
        try {
            byte[] b = dev.patchcord.core.Cidr.parseAddress(text.substring(ADDRESS.length())).getAddress();
            if (b.length != 4) {
                throw new IllegalArgumentException("not IPv4");
            }
            return ControlMessage.fromBytes(b);
        } catch (IllegalArgumentException e) {
            throw new IOException("the hand-over's address '" + text.substring(ADDRESS.length()) + "' is not an IPv4 address");
        }
    }
}
