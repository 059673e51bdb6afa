package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.Offloads;
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
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds an encrypted interface from a wg-quick file, in wg-quick's order: the node and its peers,
 * PreUp, the device, its MTU, addresses, routes and DNS, the UDP socket, PostUp; then the tunnel,
 * the address pool or client, TCP, the mesh, the configuration socket and the metrics. Each part
 * that needs undoing registers its stop step as it comes up.
 *
 * <p>The packet device, the UDP socket and the host's network configuration come from outside
 * ({@link #host}), so that a test can build a session on an
 * in-memory device and a loopback socket, without root.
 *
 * <p>The steps that stand on their own are in classes of their own: {@link InterfaceSetup} (the
 * host's side, fresh or adopted on a restart), {@link FileEndpoints}, {@link BuildWarmUp},
 * {@link MeshStart}, {@link ClusterStart} and {@link MetricsStart}; this class keeps the order.
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
    /** The warm-up of the packet path, beside the build or before it. */
    private final BuildWarmUp warmUp;
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
        this.warmUp = new BuildWarmUp(iface);
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
        warmUp.roundTrips(roundTrips);
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
            warmUp.await(); // on a failure too: its threads end before the caller goes on
        }
    }

    /**
     * Runs the warm-up now rather than beside the build: a successor taking over a running
     * interface does it before it asks for the interface, so that the running process's pause
     * does not include it. Its line goes into the ready message.
     */
    public SessionBuilder warmUpFirst() {
        warmUp.runFirst();
        return this;
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
        FileEndpoints fileEndpoints = new FileEndpoints(ifname, err);
        for (WgPeerSection ps : config.peers()) {
            Peer peer = node.addPeer(ps.publicKey(), ps.presharedKey());
            peer.setPersistentKeepalive(ps.persistentKeepalive());
            endpoints.put(peer, fileEndpoints.of(ps));
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
        warmUp.start(offloads);
        InterfaceSetup setup = new InterfaceSetup(config, ifname, network, sockets, adoption, err, opened);
        // In TAP mode the frame's Ethernet header and length ride inside the same plaintext, so the
        // interface MTU is 16 bytes smaller and the encrypted datagrams keep their size.
        int linkMtu = iface.tap() ? iface.mtuOrDefault() - TapFrames.ETHERNET_HEADER - TapFrames.PREFIX
                : iface.mtuOrDefault();

        if (adoption == null) {
            setup.hook("PreUp", iface.preUp());
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
        MetricsServer metrics = MetricsStart.listen(iface, ifname, adoption != null, session, err, opened);
        PacketDevice tun = adoption != null ? setup.adoptDevice(packets) : devices.open(ifname, iface.tap(), offloads, packets);
        session.device = tun;
        session.onStop(() -> setup.hook("PostDown", iface.postDown()));
        session.onStop(tun::close);
        // What this process put on the interface; a persistent one keeps it unless it is taken off again.
        List<Cidr> routes = new ArrayList<>();
        String routeTable = iface.routeTable();
        boolean persistent = tun instanceof TunDevice t && t.persistent();
        opened.add(() -> setup.closeAfterFailure(tun, persistent, routes, routeTable));
        if (persistent) {
            err.println("patchcord: " + ifname + ": using the existing persistent interface; it stays after exit");
            session.onStop(() -> network.unconfigure(ifname, iface.addresses(), routes, routeTable));
        }
        UdpSocket socket;
        try {
            socket = adoption != null ? setup.adoptSocket(session, packets, routes)
                    : setup.configureAndBind(session, packets, linkMtu, routes, routeTable);
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
            MeshStart.start(config, ifname, session, tunnel, debug, err, opened);
        }
        if (iface.store() != null) {
            ClusterStart.start(config, ifname, session, tunnel, offloads, devices, sockets, network, debug, err, opened);
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
        session.onStop(() -> setup.hook("PreDown", iface.preDown()));
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
                + warmUp.readyLine() + restored;
        return session;
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
}
