package dev.patchcord.control;

import dev.patchcord.cluster.HubRecord;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.core.wg.X25519;
import dev.patchcord.device.Offloads;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.PeerEndpoints;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The hub-to-hub tunnel of a cluster: a second WireGuard interface ({@code <ifname>-bp}) with a key
 * of its own, made fresh at each start and published in the hub's record, one peer per other live
 * hub, and one route per client attached elsewhere. A packet for such a client leaves the clients'
 * interface for the kernel, which routes it into the backplane; the backplane's allowed IPs (the
 * addresses of the clients attached to each hub) pick the hub. At the far end it comes out of that
 * hub's backplane interface and the kernel routes it to the client's interface. Routing through
 * the kernel keeps every hop visible to {@code ip route} and {@code tcpdump}.
 *
 * <p>Concurrency contract: the peers and routes are changed by one thread, the hub's (not safe
 * for several); the packet path runs on the backplane tunnel's own threads.
 */
final class Backplane implements AutoCloseable {
    /**
     * Hubs send one another a keepalive at least this often, so that a hub that still hears from
     * another knows it is alive even when etcd says otherwise (its lease expired while the store
     * was away): a second of silence is normal, three are not.
     */
    static final int KEEPALIVE_SECONDS = 1;

    private final String ifname;
    private final Node node;
    private final WgTunnel tunnel;
    private final PacketDevice device;
    private final UdpSocket socket;
    private final PrintStream err;
    /** Each other live hub's peer, by hub id. */
    private final Map<String, Peer> hubs = new HashMap<>();
    /** The client prefixes routed to each hub (also kept for a hub whose record is not known yet). */
    private final Map<String, Set<Cidr>> routed = new HashMap<>();

    private Backplane(String ifname, Node node, WgTunnel tunnel, PacketDevice device, UdpSocket socket,
            PrintStream err) {
        this.ifname = ifname;
        this.node = node;
        this.tunnel = tunnel;
        this.device = device;
        this.socket = socket;
        this.err = err;
    }

    /** The backplane interface of {@code ifname}: at most 15 characters, as Linux allows. */
    static String interfaceName(String ifname) {
        if (ifname.length() > 12) {
            throw new InterfaceSession.Failure("interface name " + ifname + " is too long for a cluster hub: its backplane "
                    + "interface is " + ifname + "-bp, and Linux allows 15 characters");
        }
        return ifname + "-bp";
    }

    /**
     * Opens the backplane interface and its UDP port, with a fresh key, and starts its loops (they
     * stop with {@code wakeup}).
     */
    static Backplane open(String mainIfname, int port, int mtu, SessionBuilder.Devices devices,
            SessionBuilder.Sockets sockets, HostNetwork network, Offloads offloads, Wakeup wakeup, PrintStream debug,
            PrintStream err) throws SysException {
        String name = interfaceName(mainIfname);
        byte[] key = X25519.generatePrivate(new SecureRandom());
        Node node = new Node(key, new SecureRandom(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD);
        Arrays.fill(key, (byte) 0);
        node.setMtu(mtu);
        PacketDevice device = devices.open(name, false, offloads, wakeup);
        UdpSocket socket = null;
        try {
            network.setMtu(name, mtu);
            network.setUp(name);
            socket = sockets.bind(port, wakeup);
            forwardIpv4(mainIfname);
            forwardIpv4(name);
            WgTunnel tunnel = new WgTunnel(device, socket, node, new PeerEndpoints(), wakeup, debug, offloads);
            tunnel.start();
            return new Backplane(name, node, tunnel, device, socket, err);
        } catch (SysException | RuntimeException e) {
            if (socket != null) {
                socket.close();
            }
            device.close();
            throw e;
        }
    }

    /**
     * Lets the kernel forward IPv4 between the two interfaces: per interface, so the host's other
     * interfaces keep their setting. IPv6 has no per-interface switch for this; a hub serving IPv6
     * clients needs {@code net.ipv6.conf.all.forwarding=1} (the hub says so at start).
     */
    private static void forwardIpv4(String ifname) throws SysException {
        Path p = Path.of("/proc/sys/net/ipv4/conf", ifname, "forwarding");
        try {
            Files.writeString(p, "1\n");
        } catch (java.io.IOException e) {
            throw new SysException("cannot turn on IPv4 forwarding on " + ifname + " (" + p + "): " + e.getMessage(), 0);
        }
    }

    /** Whether the host forwards IPv6 (needed between hubs for IPv6 clients). */
    static boolean ipv6Forwarding() {
        try {
            return Files.readString(Path.of("/proc/sys/net/ipv6/conf/all/forwarding")).strip().equals("1");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    String ifname() {
        return ifname;
    }

    byte[] publicKey() {
        return node.publicKey();
    }

    int port() {
        return socket.port();
    }

    /** Bytes and packets through the backplane, for the metrics. */
    long rxBytes() {
        long n = 0;
        for (Peer p : node.peers()) {
            n += p.rxBytes();
        }
        return n;
    }

    long txBytes() {
        long n = 0;
        for (Peer p : node.peers()) {
            n += p.txBytes();
        }
        return n;
    }

    /** When (System.nanoTime) the backplane last heard from a hub, or {@link Long#MIN_VALUE} if never. */
    long lastHeard(String hubId) {
        Peer peer = hubs.get(hubId);
        return peer == null ? Long.MIN_VALUE : peer.lastReceivedNanos();
    }

    /** Another hub is up (or changed its key or endpoint): its peer, with the clients routed to it. */
    void hubUp(HubRecord hub) {
        InetSocketAddress at = resolve(hub.backplaneEndpoint());
        Peer old = hubs.get(hub.id());
        if (old != null && Arrays.equals(old.publicKey(), hub.backplanePublicKey())) {
            if (at != null) {
                tunnel.endpoint(old).set(at);
            }
            return;
        }
        if (old != null) {
            node.removePeer(old);
        }
        Peer peer = node.addPeer(hub.backplanePublicKey(), null);
        peer.setPersistentKeepalive(KEEPALIVE_SECONDS);
        if (at != null) {
            tunnel.endpoints().put(peer, new PeerAddress(at, true));
        }
        hubs.put(hub.id(), peer);
        for (Cidr c : routed.getOrDefault(hub.id(), Set.of())) {
            node.allowedIps().add(c, peer);
        }
        peer.kick(); // the first client packet then finds a session
    }

    /** A hub's record went: its peer goes (its clients' routes go as their attachments do). */
    void hubGone(String hubId) {
        Peer peer = hubs.remove(hubId);
        if (peer != null) {
            node.removePeer(peer);
        }
    }

    /** Sends a client's prefixes to a hub (the kernel's routes into the backplane are the hub's part). */
    void route(List<Cidr> prefixes, String hubId) {
        if (prefixes.isEmpty()) {
            return;
        }
        routed.computeIfAbsent(hubId, h -> new LinkedHashSet<>()).addAll(prefixes);
        Peer peer = hubs.get(hubId);
        if (peer != null) {
            for (Cidr c : prefixes) {
                node.allowedIps().add(c, peer);
            }
        }
    }

    /** Stops sending a client's prefixes to a hub (it is attached here now, or nowhere). */
    void unroute(List<Cidr> prefixes, String hubId) {
        if (prefixes.isEmpty()) {
            return;
        }
        Set<Cidr> set = routed.get(hubId);
        if (set != null) {
            prefixes.forEach(set::remove);
            if (set.isEmpty()) {
                routed.remove(hubId);
            }
        }
        Peer peer = hubs.get(hubId);
        for (Cidr c : prefixes) {
            if (peer != null) {
                node.allowedIps().remove(c, peer);
            }
        }
    }

    /** How many client prefixes are routed to other hubs. */
    int routedPrefixes() {
        int n = 0;
        for (Set<Cidr> s : routed.values()) {
            n += s.size();
        }
        return n;
    }

    /** The ids of the hubs this backplane has a peer for. */
    List<String> hubIds() {
        return new ArrayList<>(hubs.keySet());
    }

    /** Stops the loops (the session's wakeup must be signalled first) and closes the interface and port. */
    @Override
    public void close() {
        boolean stopped = false;
        try {
            stopped = tunnel.awaitStopped(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (stopped) {
            tunnel.release(); // a loop still running would touch freed memory; the process ends soon anyway
        }
        socket.close();
        device.close();
    }

    private InetSocketAddress resolve(String hostPort) {
        try {
            Endpoint e = Endpoint.parse(hostPort);
            return new InetSocketAddress(InetAddress.getByName(e.host()), e.port());
        } catch (UnknownHostException | IllegalArgumentException e) {
            err.println("patchcord: " + ifname + ": a hub's backplane endpoint " + hostPort + " cannot be used: " + e.getMessage());
            return null;
        }
    }
}
