package dev.patchcord.control;

import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.EndpointList;
import dev.patchcord.device.Offloads;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.PeerEndpoints;
import dev.patchcord.device.Warmup;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;
import dev.patchcord.tun.TunDevice;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Builds an encrypted interface from a wg-quick file, in wg-quick's order: the node and its peers,
 * PreUp, the device, its MTU, addresses, routes and DNS, the UDP socket, PostUp; then the tunnel,
 * the address pool or client, TCP, the mesh, the configuration socket and the metrics. Each part
 * that needs undoing registers its stop step as it comes up.
 *
 * <p>The packet device, the UDP socket and the host's network configuration come from outside
 * ({@link #host}), so that a test can build a session on an
 * in-memory device and a loopback socket, without root.
 */
public final class SessionBuilder {

    /** Opens the interface's packet device. */
    public interface Devices {
        PacketDevice open(String ifname, boolean tap, Offloads offloads, Wakeup wakeup) throws SysException;
    }

    /** Binds the UDP socket WireGuard messages come and go through. */
    public interface Sockets {
        UdpSocket bind(int port, Wakeup wakeup) throws SysException;
    }

    /** The kernel's TUN or TAP interface. */
    public static final Devices TUN = (ifname, tap, offloads, wakeup) ->
            // Virtio-net headers (TSO, coalescing): IP super-packets on a TUN, Ethernet super-frames on a TAP.
            offloads.vnet()
                    ? TunDevice.openWithVnetHeader(tap ? TunDevice.Kind.TAP : TunDevice.Kind.TUN, ifname, wakeup,
                            offloads.tso() ? TunDevice.OFFLOAD_ALL : 0)
                    : TunDevice.open(tap ? TunDevice.Kind.TAP : TunDevice.Kind.TUN, ifname, wakeup);

    /** How long the warm-up's round trips may take (a busy machine): it stops there, and the tunnel starts anyway. */
    static final long WARM_UP_MILLIS = 2_000;

    /** A socket on every address. */
    public static final Sockets UDP = (port, wakeup) -> UdpSocket.bind(null, port, wakeup);

    private final WgConfig config;
    private final WgInterfaceSection iface;
    private final Path file;
    private final String ifname;
    private final PrintStream err;
    private PrintStream debug;
    private Devices devices = TUN;
    private Sockets sockets = UDP;
    private HostNetwork network = HostNetwork.LINUX;
    private Path socketDir = UapiServer.DEFAULT_DIRECTORY;
    private Runnable beforePreDown = () -> { };
    private int warmUpRoundTrips;
    /** The warm-up running beside the build, joined before the session is handed over. */
    private CompletableFuture<Warmup.Result> warmUp;
    /**
     * What {@link #assemble} has opened so far, each with how to undo it: a failed build undoes
     * them last first (the device closed, and a persistent interface given back what it had), so
     * a builder called in-process leaves no socket, port, thread or descriptor behind. Once built,
     * the session's stop steps own them.
     */
    private final List<AutoCloseable> opened = new ArrayList<>();
    private Wakeup wakeup;
    /** Adopts the running process's TCP connections, as the build's last step; null when there are none. */
    private TcpAdoption adoptTcp;

    private interface TcpAdoption {
        void run() throws IOException;
    }

    /** The line of a warm-up run by {@link #warmUpFirst}, or "". */
    private String warmedUp = "";
    /** What a restart hands over (the interface, sockets and sessions), or null for a fresh start. */
    private Adoption adoption;

    /**
     * @param file the configuration file (named by the configuration socket, rewritten by SaveConfig)
     * @param err where warnings and news go
     */
    public SessionBuilder(WgConfig config, Path file, String ifname, PrintStream err) {
        this.config = config;
        this.iface = config.interfaceSection();
        this.file = file;
        this.ifname = ifname;
        this.err = err;
    }

    /** Where each handshake step, roaming and drops are told, or null for silence. */
    public SessionBuilder debug(PrintStream debug) {
        this.debug = debug;
        return this;
    }

    /** What the session is built on: by default {@link #TUN}, {@link #UDP} and {@link HostNetwork#LINUX}. */
    public SessionBuilder host(Devices devices, Sockets sockets, HostNetwork network) {
        this.devices = devices;
        this.sockets = sockets;
        this.network = network;
        return this;
    }

    /** The directory of the configuration socket ({@code IFNAME.sock}). */
    public SessionBuilder socketDir(Path socketDir) {
        this.socketDir = socketDir;
        return this;
    }

    /** A stop step that runs once the configuration socket is closed, before PreDown (the pid file's removal). */
    public SessionBuilder beforePreDown(Runnable step) {
        this.beforePreDown = step;
        return this;
    }

    /**
     * Builds around what the running process hands over ({@link Adoption}) instead of opening
     * and configuring the interface: no hook runs, no address, route or DNS server is set (they
     * are there already), the sockets are the running ones, and the configuration socket waits
     * unpublished until the running process has gone ({@link UapiServer#publish}). The stop steps
     * are those of a fresh start, so that a later stop undoes everything as usual.
     */
    public SessionBuilder adopting(Adoption adoption) {
        this.adoption = adoption;
        return this;
    }

    /**
     * Runs {@code roundTrips} synthetic round trips through two throwaway tunnels shaped like this
     * one while the interface is built ({@link Warmup}), so that its first packets find the packet
     * path compiled; 0 (the default) for none. TUN mode only.
     */
    public SessionBuilder warmUp(int roundTrips) {
        this.warmUpRoundTrips = roundTrips;
        return this;
    }

    /**
     * Brings the interface up as far as everything but the tunnel's loops.
     *
     * @param stop how the session asks to be stopped
     * @throws InterfaceSession.Failure for a problem the user can fix (a hook, an address, a port)
     */
    public InterfaceSession build(InterfaceSession.Stop stop) throws SysException {
        try {
            InterfaceSession session = assemble(stop);
            opened.clear(); // the session closes them now
            this.wakeup = null;
            return session;
        } catch (Throwable e) {
            releaseAfterFailure();
            throw e;
        } finally {
            awaitWarmUp(); // on a failure too: its threads end before the caller goes on
        }
    }

    /**
     * Runs the warm-up now rather than beside the build: a successor taking over a running
     * interface does it before it asks for the interface, so that the running process's pause
     * does not include it. Its line goes into the ready message.
     */
    public SessionBuilder warmUpFirst() {
        try {
            startWarmUp(Offloads.fromSetting(iface.offloads()));
        } catch (IllegalArgumentException e) {
            return this; // said by the build
        }
        warmedUp = awaitWarmUp();
        warmUpRoundTrips = 0;
        return this;
    }

    private void startWarmUp(Offloads offloads) {
        if (warmUpRoundTrips <= 0 || iface.tap() || !offloads.batching()) {
            return; // TAP frames and the one-packet path are not warmed up
        }
        // The device is not open yet; the stand-ins get what it is asked for (the kernel may grant
        // less, which changes no branch a lone packet takes).
        boolean vnet = offloads.vnet();
        int deviceOffloads = offloads.tso() ? TunDevice.OFFLOAD_ALL : 0;
        int mtu = iface.mtuOrDefault();
        int roundTrips = warmUpRoundTrips;
        CompletableFuture<Warmup.Result> result = new CompletableFuture<>();
        warmUp = result;
        Thread.ofPlatform().name("warm-up").daemon().start(() -> {
            try {
                result.complete(Warmup.run(vnet, deviceOffloads, offloads, mtu, roundTrips, WARM_UP_MILLIS));
            } catch (Throwable t) { // an Error too: the build waits for this result
                result.complete(new Warmup.Result(0, 0, t.toString()));
            }
        });
    }

    /** Waits for the warm-up (bounded); what it did, for the ready line, or "". */
    private String awaitWarmUp() {
        CompletableFuture<Warmup.Result> running = warmUp;
        warmUp = null;
        if (running == null) {
            return "";
        }
        Warmup.Result r;
        try {
            // Its own bounds, and a second for a thread that did not get a core in time.
            r = running.get(WARM_UP_MILLIS + Warmup.STOP_MILLIS + 1_000, TimeUnit.MILLISECONDS);
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

    private void releaseAfterFailure() {
        Wakeup wakeup = this.wakeup;
        if (wakeup != null) {
            wakeup.signal(); // the threads started so far (MTU watch, mesh) end on it before it closes
        }
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception suppressed) {
                // Already failing: the first error is the one the user needs.
            }
        }
        opened.clear();
        this.wakeup = null;
    }

    /** The offloads chosen, the node with the file's peers, and where those peers are. */
    private record Prepared(Offloads offloads, Node node, PeerEndpoints endpoints) {}

    /** Made by {@link #prepare} ahead of the build, or by the build itself. */
    private Prepared prepared;

    /**
     * Makes what needs only the file ahead of the build: the offloads (binding the native
     * libraries they choose), the node with its key and the file's peers (a Diffie-Hellman each).
     * A successor does it before it asks for the interface, so that the running process's pause
     * does not include it; the build does it itself otherwise.
     *
     * @throws InterfaceSession.Failure for an Offloads setting that is not valid
     */
    public SessionBuilder prepare() {
        if (prepared != null) {
            return this;
        }
        // Read before the node is built, which takes its X25519 engine from them.
        Offloads offloads;
        try {
            offloads = Offloads.fromSetting(iface.offloads());
        } catch (IllegalArgumentException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
        Node node = new Node(iface.privateKey(), new SecureRandom(), new Counters(), Node.DEFAULT_LOAD_THRESHOLD,
                offloads.curve25519());
        node.setMtu(iface.mtuOrDefault());
        node.setLayer2(iface.tap());
        PeerEndpoints endpoints = new PeerEndpoints();
        for (WgPeerSection ps : config.peers()) {
            Peer peer = node.addPeer(ps.publicKey(), ps.presharedKey());
            peer.setPersistentKeepalive(ps.persistentKeepalive());
            endpoints.put(peer, ps.endpoints().size() > 1 ? endpointList(ps.endpoints()) : peerAddress(ps.endpoint()));
            for (Cidr c : ps.allowedIps()) {
                node.allowedIps().add(c, peer);
            }
        }
        prepared = new Prepared(offloads, node, endpoints);
        return this;
    }

    private InterfaceSession assemble(InterfaceSession.Stop stop) throws SysException {
        prepare();
        Offloads offloads = prepared.offloads();
        Node node = prepared.node();
        PeerEndpoints endpoints = prepared.endpoints();
        startWarmUp(offloads);
        // In TAP mode the frame's Ethernet header and length ride inside the same plaintext, so the
        // interface MTU is 16 bytes smaller and the encrypted datagrams keep their size.
        int linkMtu = iface.tap() ? iface.mtuOrDefault() - TapFrames.ETHERNET_HEADER - TapFrames.PREFIX
                : iface.mtuOrDefault();

        if (adoption == null) {
            hook("PreUp", iface.preUp());
        }
        Wakeup wakeup = new Wakeup();
        this.wakeup = wakeup;
        opened.add(wakeup);
        InterfaceSession session = new InterfaceSession(ifname, node, wakeup);
        session.onStop(wakeup::close);
        // The packet loops' own wake-up: stopped with the session, or alone for a hand-over.
        Wakeup packets = wakeup.child();
        opened.add(packets);
        session.onStop(packets::close);
        MetricsServer metrics = null;
        if (iface.metrics() != null && adoption != null) {
            // The running process still listens there: the port is free once it has gone.
            var late = new java.util.concurrent.atomic.AtomicReference<MetricsServer>();
            session.afterHandover.add(() -> startMetricsLate(session, late));
            session.onStop(() -> {
                MetricsServer m = late.get();
                if (m != null) {
                    m.close();
                }
            });
        } else if (iface.metrics() != null) {
            Endpoint at = Endpoint.parse(iface.metrics());
            try {
                metrics = new MetricsServer(new InetSocketAddress(InetAddress.ofLiteral(at.host()), at.port()), ifname);
            } catch (IOException e) {
                throw new InterfaceSession.Failure("Metrics = " + iface.metrics() + ": cannot listen there ("
                        + e.getMessage() + ")");
            }
            opened.add(metrics);
            session.onStop(metrics::close);
        }
        PacketDevice tun = adoption != null ? adoptDevice(packets) : devices.open(ifname, iface.tap(), offloads, packets);
        session.device = tun;
        session.onStop(() -> hook("PostDown", iface.postDown()));
        session.onStop(tun::close);
        // What this process put on the interface; a persistent one keeps it unless it is taken off again.
        List<Cidr> routes = new ArrayList<>();
        String routeTable = iface.routeTable();
        boolean persistent = tun instanceof TunDevice t && t.persistent();
        opened.add(() -> closeAfterFailure(tun, persistent, routes, routeTable));
        if (persistent) {
            err.println("patchcord: " + ifname + ": using the existing persistent interface; it stays after exit");
            session.onStop(() -> network.unconfigure(ifname, iface.addresses(), routes, routeTable));
        }
        UdpSocket socket;
        try {
            socket = adoption != null ? adoptSocket(session, packets, routes)
                    : configureAndBind(session, packets, linkMtu, routes, routeTable);
        } catch (NetConfig.NetConfigException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
        session.socket = socket;
        WgTunnel tunnel = new WgTunnel(tun, socket, node, endpoints, packets, debug, offloads);
        session.tunnel = tunnel;
        tunnel.setForwarding(iface.hub(), iface.clientIsolation());
        // 'ip link set IFACE mtu N' takes effect at once, as with the kernel's WireGuard.
        try {
            Runnable stopWatching = network.watchMtu(ifname, wakeup, tunnel::setLinkMtu);
            opened.add(stopWatching::run);
            session.onStop(stopWatching);
        } catch (SysException e) {
            err.println("patchcord: " + ifname + ": MTU changes will not be followed: " + e.getMessage());
        }
        if (iface.addressMode() == AddressMode.POOL) {
            AddressService service = AddressService.fromPool(config, ifname, tunnel, err);
            tunnel.setControlHandler(service);
            tunnel.setTickHook(service::tick);
        } else if (iface.addressMode() == AddressMode.AUTO) {
            WgPeerSection serverPeer = config.peers().getFirst();
            boolean[] refused = {false};
            AddressClient client = new AddressClient(tunnel, node.peer(serverPeer.publicKey()), ifname,
                    iface.requestedAddresses(), serverPeer.allowedIps(), iface.routes(), iface.routeTable(), err, () -> {
                        refused[0] = true;
                        stop.requestStop();
                    });
            tunnel.setControlHandler(client);
            tunnel.setTickHook(client::tick);
            session.onStop(() -> {
                if (refused[0]) {
                    throw new InterfaceSession.Failure("the address server refused the requested address");
                }
            });
        }
        if (iface.transport().tcp()) {
            boolean tcpOnly = iface.transport() == TransportMode.TCP;
            TcpTransport tcp = new TcpTransport(tunnel, tunnel::socket,
                    tcpOnly ? TcpTransport.Mode.TCP : TcpTransport.Mode.UDP_THEN_TCP,
                    iface.listenPort() == null ? 0 : socket.port(), debug);
            tunnel.setTransport(tcp);
            opened.add(tcp);
            session.tcp = tcp;
            try {
                TcpTransport.Suspended running = adoption != null ? adoption.tcp() : null;
                if (running != null) {
                    // Last of all (below): an adopted connection is read at once, and from then on
                    // the running process could not take it back.
                    adoptTcp = () -> tcp.adopt(running);
                } else {
                    tcp.start();
                }
            } catch (IOException e) {
                throw new InterfaceSession.Failure("cannot listen on TCP port " + socket.port() + ": " + e.getMessage());
            }
            session.onStop(tcp::close);
        }
        if (iface.mesh() != null) {
            startMesh(session, tunnel);
        }
        if (iface.store() != null) {
            startClusterHub(session, tunnel, node, offloads);
        }
        session.onStop(() -> tunnel.socket().close());
        WgUapiDevice control = new WgUapiDevice(node, tunnel, file);
        session.control = control;
        if (!control.reportsConfigFile()) {
            err.println("patchcord: " + ifname + ": the configuration socket cannot name " + file.toAbsolutePath()
                    + " (too long, or not UTF-8): give 'patchcord peer' and 'syncconf' the file, not the name");
        }
        if (iface.saveConfig()) {
            session.onStop(() -> saveConfig(session.configDevice()));
        }
        session.onStop(() -> hook("PreDown", iface.preDown()));
        session.onStop(beforePreDown);
        // A cluster hub's socket writes its clients' changes to the store; metrics and SaveConfig see the interface.
        UapiDevice device = session.cluster == null ? control : new ClusterUapiDevice(control, session.cluster);
        session.configDevice = device;
        startConfigSocket(session, device, stop);
        if (metrics != null) {
            metrics.serve(session.configDevice());
            err.println("patchcord: " + ifname + ": Prometheus metrics on http://" + iface.metrics() + "/metrics");
        }
        String restored = "";
        if (adoption != null) {
            try {
                restored = "; taken over from the running process: " + adoption.restore(session);
            } catch (IOException e) {
                throw new InterfaceSession.Failure(e.getMessage());
            }
            if (adoptTcp != null) {
                try {
                    adoptTcp.run();
                } catch (IOException e) {
                    throw new InterfaceSession.Failure("cannot take over the TCP connections: " + e.getMessage());
                }
            }
            UapiServer uapi = session.uapi;
            if (uapi != null) {
                session.afterHandover.add(() -> {
                    try {
                        uapi.publish();
                    } catch (IOException e) {
                        err.println("patchcord: " + ifname + ": cannot publish the configuration socket: " + e.getMessage());
                    }
                });
            }
        }
        MeshPeers mesh = session.mesh;
        session.readyMessage = (iface.tap() ? "TAP " : "") + "interface " + ifname + " (MTU " + linkMtu
                + "), public key "
                + Keys.toBase64(node.publicKey()) + ", UDP port " + socket.port() + ", " + config.peers().size()
                + (config.peers().size() == 1 ? " peer" : " peers")
                + (mesh == null ? "" : " and " + mesh.size() + " mesh peers")
                + (session.cluster == null ? "" : "; " + session.cluster.describe()) + "; " + tunnel.describeOffloads()
                + warmedUp + awaitWarmUp() + restored;
        return session;
    }

    /**
     * The metrics endpoint of a successor, once the running process has gone and freed its
     * port; a failure is said, not fatal (the tunnel matters more than its figures).
     */
    private void startMetricsLate(InterfaceSession session, java.util.concurrent.atomic.AtomicReference<MetricsServer> held) {
        Endpoint at = Endpoint.parse(iface.metrics());
        try {
            MetricsServer m = new MetricsServer(new InetSocketAddress(InetAddress.ofLiteral(at.host()), at.port()), ifname);
            held.set(m);
            m.serve(session.configDevice());
        } catch (IOException e) {
            err.println("patchcord: " + ifname + ": Metrics = " + iface.metrics() + ": cannot listen there after the"
                    + " restart (" + e.getMessage() + ")");
        }
    }

    /** The configuration socket for {@code wg}; deleting its file stops the session, as with wireguard-go. */
    private void startConfigSocket(InterfaceSession session, UapiDevice control, InterfaceSession.Stop stop) {
        try {
            UapiServer uapi = adoption != null ? UapiServer.unpublished(socketDir, ifname, control, debug)
                    : new UapiServer(socketDir, ifname, control, debug);
            session.uapi = uapi;
            opened.add(uapi::close);
            session.onStop(uapi::close);
            // Deleting the socket is the cross-platform way to ask a userspace WireGuard to exit.
            Thread.ofVirtual().start(() -> {
                while (uapi.socketFileIntact()) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (!stop.stopRequested()) {
                    err.println("patchcord: " + ifname + ": " + uapi.socketPath() + " was deleted; stopping");
                    stop.requestStop();
                }
            });
        } catch (java.nio.file.AccessDeniedException e) {
            err.println("patchcord: " + ifname + ": no configuration socket for wg: this user may not write in "
                    + socketDir + " (see dist/systemd/patchcord@.service, or set PATCHCORD_SOCKET_DIR)");
        } catch (IOException e) {
            err.println("patchcord: " + ifname + ": no configuration socket for wg (" + e.getMessage() + ")");
        }
    }

    /**
     * {@code PeersFile} and {@code Directory}: peers from outside the file, applied live, with
     * hole punching and relay fallback checked once a second. SIGHUP reads the peers file again.
     */
    private void startMesh(InterfaceSession session, WgTunnel tunnel) {
        Set<String> keys = new HashSet<>();
        Set<Cidr> routed = new HashSet<>();
        for (WgPeerSection ps : config.peers()) {
            keys.add(Keys.toBase64(ps.publicKey()));
            ps.allowedIps().forEach(c -> routed.add(c.network()));
        }
        MeshPeers mesh = new MeshPeers(session.node(), tunnel.endpoints(), ifname, iface.routes(), iface.routeTable(), keys, routed, err,
                debug, System::nanoTime);
        try {
            MeshSources sources = new MeshSources(iface.mesh(), iface.privateKey(), mesh, tunnel, ifname, err);
            sources.start();
            opened.add(sources::close);
            session.onStop(sources::close);
            session.meshReload = sources::reload;
        } catch (ConfigException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
        Wakeup wakeup = session.wakeup();
        Thread.ofPlatform().name("mesh").daemon().start(() -> {
            while (!wakeup.signalled()) {
                mesh.tick();
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        session.mesh = mesh;
    }

    /**
     * {@code Store}: this interface is one hub of a cluster. Its clients come from the store, its
     * backplane carries their traffic to and from the other hubs, and the kernel forwards between
     * the two interfaces (patchcord's own forwarding would not know which hub a client is on).
     */
    private void startClusterHub(InterfaceSession session, WgTunnel tunnel, Node node, Offloads offloads)
            throws SysException {
        StoreSettings st = iface.store();
        if (st.backplane() == null) {
            throw new InterfaceSession.Failure("Store needs Backplane = HOST:PORT: where the other hubs of cluster "
                    + st.cluster() + " reach this one");
        }
        if (iface.tap() || iface.mesh() != null || iface.addressMode() != AddressMode.STATIC) {
            throw new InterfaceSession.Failure("Store (a cluster hub) works with a TUN interface and static addresses; "
                    + "not with TAP, a mesh, [Pool] or Address = auto");
        }
        String hubId = st.hubId() != null ? st.hubId() : ClusterHub.defaultHubId();
        int port = Endpoint.parse(st.backplane()).port();
        Backplane backplane;
        try {
            backplane = Backplane.open(ifname, port, iface.mtuOrDefault(), devices, sockets, network, offloads,
                    session.wakeup(), debug, err);
        } catch (SysException e) {
            throw new InterfaceSession.Failure("cannot open the backplane on UDP port " + port + ": " + e.getMessage());
        }
        opened.add(backplane);
        session.onStop(backplane::close);
        if (iface.hub()) {
            err.println("patchcord: " + ifname + ": Hub = true does not apply to a cluster hub: the kernel forwards "
                    + "between clients, here and through the backplane");
        }
        tunnel.setForwarding(false, iface.clientIsolation());
        if (iface.addresses().stream().anyMatch(a -> a.address() instanceof java.net.Inet6Address)
                && !Backplane.ipv6Forwarding()) {
            err.println("patchcord: " + ifname + ": IPv6 between the hubs' clients needs net.ipv6.conf.all.forwarding=1");
        }
        ClusterStore store;
        try {
            store = ClusterStore.openForHub(st);
        } catch (StoreException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
        Set<String> fileKeys = new HashSet<>();
        config.peers().forEach(p -> fileKeys.add(Keys.toBase64(p.publicKey())));
        List<Cidr> filePrefixes = new ArrayList<>();
        config.peers().forEach(p -> filePrefixes.addAll(p.allowedIps()));
        ClusterHub hub = new ClusterHub(store, hubId, st.backplane(), node, tunnel, backplane,
                new ClusterRoutes(ifname, backplane.ifname(), network, err), fileKeys, iface.addresses(), filePrefixes,
                err, ifname, System::nanoTime);
        opened.add(hub);
        hub.start();
        session.onStop(hub::close);
        session.cluster = hub;
    }

    /** A peer with one Endpoint (or none). */
    private static PeerAddress peerAddress(Endpoint endpoint) {
        PeerAddress address = new PeerAddress(endpoint == null ? null : socketAddress(endpoint), true);
        if (endpoint != null && endpoint.literal().isEmpty()) {
            // A host name: looked up again when handshakes to it fail (the host may have moved).
            address.setHost(endpoint.host(), endpoint.port());
        }
        return address;
    }

    /**
     * A peer with a list of endpoints. Every host name is looked up now, as a lone one is; one that
     * cannot be is only a warning, since the others are there to stand in for it, and it is looked
     * up again when its turn comes. The peer starts on the first entry with an address.
     */
    private PeerAddress endpointList(List<Endpoint> list) {
        List<EndpointList.Entry> entries = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        int start = -1;
        InterfaceSession.Failure first = null;
        for (Endpoint e : list) {
            entries.add(new EndpointList.Entry(e.toString(), e.literal().isEmpty() ? e.host() : null, e.port()));
            InetSocketAddress a = null;
            try {
                a = socketAddress(e);
            } catch (InterfaceSession.Failure f) {
                first = first == null ? f : first;
                err.println("patchcord: " + ifname + ": Endpoint " + e + ": " + f.getMessage()
                        + "; trying it again when its turn comes");
            }
            addresses.add(a);
            if (a != null && start < 0) {
                start = addresses.size() - 1;
            }
        }
        if (start < 0) {
            throw first; // not one of them: as for a lone endpoint, the tunnel cannot start
        }
        PeerAddress address = new PeerAddress(null, true);
        address.setList(new EndpointList(entries, addresses, start));
        return address;
    }

    /** A peer's Endpoint as a socket address; a host name is looked up now. */
    private static InetSocketAddress socketAddress(Endpoint endpoint) {
        String host = endpoint.host(); // never empty: Endpoint refuses that
        try {
            return new InetSocketAddress(InetAddress.getByName(host), endpoint.port());
        } catch (java.net.UnknownHostException e) {
            throw new InterfaceSession.Failure("cannot resolve host '" + host + "'");
        } catch (IllegalArgumentException e) {
            throw new InterfaceSession.Failure("'" + host + "' is not a valid address");
        }
    }

    /** A start that failed half-way: a persistent interface gets back what it had. */
    private void closeAfterFailure(PacketDevice tun, boolean persistent, List<Cidr> routes, String table) {
        if (persistent && adoption == null) { // an adopted interface is still the running process's
            network.unconfigure(ifname, iface.addresses(), routes, table);
        }
        tun.close();
    }

    private void saveConfig(UapiDevice control) {
        UapiDevice.DeviceState state = control.get();
        // A cluster hub's clients live in the store: written into the file they would become its own peers.
        List<UapiDevice.PeerState> own = state.peers().stream()
                .filter(p -> !p.extensions().containsKey(ClusterUapiDevice.CLUSTER)).toList();
        try {
            WgConfigWriter.save(file, WgConfigWriter.render(iface, new UapiDevice.DeviceState(state.privateKey(),
                    state.listenPort(), state.fwmark(), own, state.extensions())));
        } catch (IOException e) {
            throw new InterfaceSession.Failure("SaveConfig: cannot write " + file + ": " + e.getMessage());
        }
    }

    /**
     * Configures the interface as wg-quick does (MTU, addresses, up, routes, DNS), binds the UDP
     * socket and runs PostUp. {@code routes} receives the routes added, for the stop steps.
     */
    private UdpSocket configureAndBind(InterfaceSession session, Wakeup packets, int linkMtu, List<Cidr> routes,
            String routeTable) throws SysException, NetConfig.NetConfigException {
        network.setMtu(ifname, linkMtu);
        for (Cidr a : iface.addresses()) {
            network.addAddress(ifname, a);
        }
        network.setUp(ifname);
        if (iface.routes()) {
            routes.addAll(fileRoutes(true));
            network.addRoutes(ifname, routes, routeTable);
        }
        if (!iface.dns().isEmpty()) {
            if (network.setDns(ifname, iface.dnsServers(), iface.dnsSearchDomains())) {
                opened.add(this::clearDns);
                session.onStop(this::clearDns);
            } else {
                err.println("patchcord: " + ifname + ": DNS not applied: resolvconf is not installed");
            }
        }
        UdpSocket socket = sockets.bind(iface.listenPort() == null ? 0 : iface.listenPort(), packets);
        opened.add(socket);
        if (iface.fwMark() != null) {
            socket.setMark(iface.fwMark());
        }
        hook("PostUp", iface.postUp());
        return socket;
    }

    /**
     * The running process's UDP socket; the routes and DNS it set are recorded for the stop
     * steps, as if this process had set them.
     */
    private UdpSocket adoptSocket(InterfaceSession session, Wakeup packets, List<Cidr> routes) throws SysException {
        if (iface.routes()) {
            routes.addAll(fileRoutes(false));
        }
        if (!iface.dns().isEmpty()) {
            session.onStop(this::clearDns); // withdraws nothing if resolvconf is not installed
        }
        try {
            UdpSocket socket = adoption.socket(packets);
            opened.add(socket);
            return socket;
        } catch (IOException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
    }

    private PacketDevice adoptDevice(Wakeup packets) throws SysException {
        try {
            return adoption.device(ifname, iface.tap(), packets);
        } catch (IOException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
    }

    /** The routes the file asks for: every peer's allowed IPs, but a default route only with a Table. */
    private List<Cidr> fileRoutes(boolean warn) {
        List<Cidr> routes = new ArrayList<>();
        for (WgPeerSection ps : config.peers()) {
            for (Cidr c : ps.allowedIps()) {
                if (c.prefix() == 0 && iface.routeTable() == null) {
                    if (warn) {
                        err.println("patchcord: " + ifname + ": not routing " + c + " (a default route through the"
                                + " tunnel needs policy routing; add it in PostUp, or set Table)");
                    }
                    continue;
                }
                routes.add(c);
            }
        }
        return routes;
    }

    private void clearDns() {
        try {
            network.clearDns(ifname);
        } catch (NetConfig.NetConfigException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
    }

    private void hook(String which, List<String> commands) {
        try {
            Hooks.runShell(which, commands, ifname);
        } catch (Hooks.HookFailed e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
    }
}
