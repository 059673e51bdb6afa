package dev.patchcord.control;

import dev.patchcord.control.handover.HandoverSnapshot;
import dev.patchcord.control.handover.HandoverSnapshot.Role;
import dev.patchcord.device.Pausable;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;
import dev.patchcord.tun.TunDevice;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The running side of a restart for a plain (unencrypted) mode, {@code tinyvpn}, {@code tap2tap}
 * and {@code udptun}: it stops the two packet loops between packets and hands over the TUN/TAP
 * descriptor and the UDP socket. There are no sessions and no keys; the one piece of state worth
 * carrying is the peer address tap2tap learned from the last valid frame (without
 * {@code --remote} it would otherwise send nowhere until the peer is heard from again). It rides
 * in the snapshot's configuration field as one line, {@code endpoint=ADDRESS:PORT}, so that the
 * snapshot's layout stays version 1.
 *
 * <p>Concurrency: one hand-over at a time, driven by the restart thread; the loops are stopped
 * for the whole exchange.
 */
public final class PlainHandover implements Handover {
    /** How long the packet loops may take to reach their next wait (they return between packets). */
    static final long PAUSE_MILLIS = 5_000;
    /** The configuration line that carries a learned peer address. */
    private static final String ENDPOINT = "endpoint=";

    private final PacketDevice device;
    private final UdpSocket socket;
    private final Pausable tunnel;
    private final int handovers;
    private final long firstStartEpochMillis;
    private PeerAddress learned;
    private String refusal;
    private boolean paused;

    /**
     * @param previous the snapshot this process took over with, or null if it made the interface:
     *                 the count of hand-overs and the interface's first start go on from it
     */
    public PlainHandover(PacketDevice device, UdpSocket socket, Pausable tunnel, HandoverSnapshot previous) {
        this.device = device;
        this.socket = socket;
        this.tunnel = tunnel;
        this.handovers = previous == null ? 0 : previous.handovers() + 1;
        this.firstStartEpochMillis = previous == null ? System.currentTimeMillis() : previous.firstStartEpochMillis();
    }

    /** Hands over the address {@code peer} sends to now, for a tunnel that learns it from the traffic. */
    public PlainHandover carrying(PeerAddress peer) {
        this.learned = peer;
        return this;
    }

    /** Refuses every hand-over with {@code why} (a setting the successor could not carry on with). */
    public PlainHandover refusing(String why) {
        this.refusal = why;
        return this;
    }

    @Override
    public String refusal() {
        if (refusal != null) {
            return refusal;
        }
        if (!(device instanceof TunDevice)) {
            return "standard input and output ('stdio') cannot be handed to another process; stop it and start it again";
        }
        return null;
    }

    @Override
    public Outgoing pause() throws IOException {
        String why = refusal();
        if (why != null) {
            throw new IOException(why);
        }
        TunDevice tun = (TunDevice) device;
        try {
            paused = true;
            if (!tunnel.pause(PAUSE_MILLIS)) {
                throw new IOException("the packet loops did not stop within " + PAUSE_MILLIS / 1000 + " s");
            }
            InetSocketAddress peer = learned == null ? null : learned.describe();
            byte[] config = peer == null ? new byte[0] : endpointLine(peer).getBytes(StandardCharsets.UTF_8);
            HandoverSnapshot snapshot = new HandoverSnapshot(handovers, firstStartEpochMillis, tun.name(),
                    HandoverSnapshot.Kind.PLAIN, tun.offloads(), List.of(Role.TUN, Role.UDP), List.of(), config, List.of(),
                    List.of());
            return new Outgoing(snapshot, new int[] {tun.fd(), socket.fd()});
        } catch (IOException | RuntimeException e) {
            resume(false);
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            resume(false);
            throw new IOException("interrupted while stopping the packet loops");
        }
    }

    @Override
    public void resume(boolean stateSent) { // nothing secret: the same traffic goes on
        if (paused) {
            paused = false;
            tunnel.resume();
        }
    }

    /** A plain tunnel holds no secret. */
    @Override
    public void wipe() {
    }

    static String endpointLine(InetSocketAddress peer) {
        InetAddress a = peer.getAddress();
        String host = a instanceof java.net.Inet6Address ? "[" + a.getHostAddress() + "]" : a.getHostAddress();
        return ENDPOINT + host + ":" + peer.getPort() + "\n";
    }

    /**
     * The peer address the running process sent to, if it handed one over (tap2tap learns it), or
     * null.
     *
     * @throws IOException if the snapshot's configuration field is not what this class writes
     */
    public static InetSocketAddress learnedPeer(HandoverSnapshot snapshot) throws IOException {
        String text = new String(snapshot.uapiConfig(), StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) {
            return null;
        }
        int colon = text.lastIndexOf(':');
        if (!text.startsWith(ENDPOINT) || text.contains("\n") || colon < ENDPOINT.length()) {
            throw new IOException("the hand-over's peer address is not an endpoint= line");
        }
        String host = text.substring(ENDPOINT.length(), colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 1 || port > 65535) {
                throw new IOException("the hand-over's peer port " + port + " is out of range");
            }
            return new InetSocketAddress(InetAddress.ofLiteral(host), port);
        } catch (IllegalArgumentException e) {
            throw new IOException("the hand-over's peer address '" + text.substring(ENDPOINT.length()) + "' is not an address");
        }
    }
}
