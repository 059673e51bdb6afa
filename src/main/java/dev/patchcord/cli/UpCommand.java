package dev.patchcord.cli;

import dev.patchcord.control.AddressClient;
import dev.patchcord.control.AddressService;
import dev.patchcord.control.ConfigException;
import dev.patchcord.control.Hooks;
import dev.patchcord.control.LeaseStore;
import dev.patchcord.control.MeshPeers;
import dev.patchcord.control.MeshSources;
import dev.patchcord.control.NetConfig;
import dev.patchcord.control.PoolSection;
import dev.patchcord.control.Endpoint;
import dev.patchcord.control.MetricsServer;
import dev.patchcord.control.UapiServer;
import dev.patchcord.control.WgUapiDevice;
import dev.patchcord.control.WgConfig;
import dev.patchcord.control.WgConfigWriter;
import dev.patchcord.control.TransportMode;
import dev.patchcord.control.WgInterfaceSection;
import dev.patchcord.control.WgPeerSection;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.assign.AddressPool;
import dev.patchcord.core.assign.AddressServer;
import dev.patchcord.core.l2.TapFrames;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.Node;
import dev.patchcord.core.wg.Peer;
import dev.patchcord.device.Offloads;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.PeerEndpoints;
import dev.patchcord.device.WgTunnel;
import dev.patchcord.lab.Self;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.TcpTransport;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.MtuWatch;
import dev.patchcord.tun.TunDevice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** {@code patchcord up CONFIG|IFNAME}: an encrypted WireGuard interface from a wg-quick style file. */
@Command(name = "up", sortOptions = false,
        description = {
                "Bring up an encrypted WireGuard interface from a wg-quick style configuration.",
                "CONFIG is a file (its name, without .conf, names the interface) or an interface name "
                        + "looked up as /etc/patchcord/IFNAME.conf, then /etc/wireguard/IFNAME.conf. The same "
                        + "file works with wg-quick. Without --foreground patchcord starts in the background "
                        + "once the interface is up; 'patchcord down IFNAME' stops it."},
        footer = {"", "Examples:",
                "  patchcord up wg0               # wg0.conf in /etc/patchcord or /etc/wireguard",
                "  patchcord up -f ./office.conf  # in the foreground, interface 'office'"})
final class UpCommand implements Callable<Integer> {

    @Option(names = {"-f", "--foreground"}, description = "Stay in the foreground (for systemd and scripts).")
    boolean foreground;

    @Option(names = {"-d", "--verbose"}, description = "Print each handshake step (initiation and response sent and received, "
            + "session established, rekey), roaming and drops on standard error.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(paramLabel = "CONFIG|IFNAME", description = "Configuration file, or interface name.")
    String target;

    @Override
    public Integer call() throws Exception {
        Path file = ConfigFiles.resolve(target);
        String ifname = ConfigFiles.interfaceName(file);
        WgConfig config;
        try {
            config = WgConfig.parse(file);
        } catch (ConfigException e) {
            throw new UserError(e.getMessage());
        }
        WgConfig.permissionWarning(file).ifPresent(w -> System.err.println("patchcord: " + w));
        if (RunDir.running(ifname).isPresent()) {
            throw new UserError(ifname + " is already up (" + RunDir.pidFile(ifname) + ")");
        }
        return foreground ? runForeground(config, file, ifname) : startBackground(file, ifname);
    }

    /** Starts this command again with --foreground in a new session, and waits until it is up. */
    private int startBackground(Path file, String ifname) throws IOException, InterruptedException {
        try {
            Files.createDirectories(RunDir.dir());
        } catch (IOException e) {
            // Reported below: an unprivileged user meets it first here.
        }
        if (!Files.isDirectory(RunDir.dir()) || !Files.isWritable(RunDir.dir())) {
            throw new UserError("cannot write in " + RunDir.dir() + " (the background process keeps its pid and log"
                    + " there): use --foreground, or set PATCHCORD_RUN_DIR to a writable directory");
        }
        Path log = RunDir.logFile(ifname);
        List<String> cmd = new ArrayList<>();
        if (new java.io.File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid"); // its own session: the terminal's signals no longer reach it
        }
        cmd.addAll(Self.command("up", "--foreground", file.toAbsolutePath().toString()));
        if (verbose) {
            cmd.add("--verbose");
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (RunDir.running(ifname).isPresent()) {
                System.err.println(Files.readString(log).strip());
                System.err.println("patchcord: " + ifname + " is up in the background; log " + log
                        + ", stop it with 'patchcord down " + ifname + "'");
                return 0;
            }
            if (p.waitFor(100, TimeUnit.MILLISECONDS)) {
                System.err.print(Files.readString(log));
                return p.exitValue() == 0 ? 1 : p.exitValue();
            }
        }
        p.destroy();
        throw new UserError(ifname + " did not come up within 30 s; see " + log);
    }

    /** The mesh's SIGHUP action (read the peers file again), or null without a mesh. */
    private Runnable meshReload;

    private int runForeground(WgConfig config, Path file, String ifname) throws SysException {
        // The JVM would keep a host name's address for 30 s; re-resolution wants a fresher answer.
        java.security.Security.setProperty("networkaddress.cache.ttl", "5");
        java.security.Security.setProperty("networkaddress.cache.negative.ttl", "2");
        WgInterfaceSection iface = config.interfaceSection();
        PrintStream err = System.err;
        PrintStream debug = verbose ? Journal.debug(err) : null;
        Counters counters = new Counters();
        Node node = new Node(iface.privateKey(), new SecureRandom(), counters, Node.DEFAULT_LOAD_THRESHOLD);
        node.setMtu(iface.mtuOrDefault());
        node.setLayer2(iface.tap());
        // In TAP mode the frame's Ethernet header and length ride inside the same plaintext, so the
        // interface MTU is 16 bytes smaller and the encrypted datagrams keep their size.
        int linkMtu = iface.tap() ? iface.mtuOrDefault() - TapFrames.ETHERNET_HEADER - TapFrames.PREFIX
                : iface.mtuOrDefault();
        PeerEndpoints endpoints = new PeerEndpoints();
        for (WgPeerSection ps : config.peers()) {
            Peer peer = node.addPeer(ps.publicKey(), ps.presharedKey());
            peer.setPersistentKeepalive(ps.persistentKeepalive());
            InetSocketAddress endpoint = ps.endpoint() == null ? null
                    : Addresses.socket(ps.endpoint().host(), ps.endpoint().port());
            PeerAddress address = new PeerAddress(endpoint, true);
            if (ps.endpoint() != null && ps.endpoint().literal().isEmpty()) {
                // A host name: looked up again when handshakes to it fail (the host may have moved).
                address.setHost(ps.endpoint().host(), ps.endpoint().port());
            }
            endpoints.put(peer, address);
            for (Cidr c : ps.allowedIps()) {
                node.allowedIps().add(c, peer);
            }
        }

        hook("PreUp", iface.preUp(), ifname);
        TunnelSession session = new TunnelSession(ifname, err);
        Wakeup wakeup = new Wakeup();
        session.onStop(wakeup::close);
        Offloads offloads;
        try {
            offloads = Offloads.fromSetting(iface.offloads());
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        MetricsServer metrics = null;
        if (iface.metrics() != null) {
            Endpoint at = Endpoint.parse(iface.metrics());
            try {
                metrics = new MetricsServer(new InetSocketAddress(InetAddress.ofLiteral(at.host()), at.port()), ifname);
            } catch (IOException e) {
                throw new UserError("Metrics = " + iface.metrics() + ": cannot listen there (" + e.getMessage() + ")");
            }
            session.onStop(metrics::close);
        }
        // Virtio-net headers (TSO, coalescing) are for IP packets; a TAP interface keeps one frame per read.
        TunDevice tun = !iface.tap() && offloads.vnet()
                ? TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, ifname, wakeup,
                        offloads.tso() ? TunDevice.OFFLOAD_ALL : 0)
                : TunDevice.open(iface.tap() ? TunDevice.Kind.TAP : TunDevice.Kind.TUN, ifname, wakeup);
        session.onStop(() -> hook("PostDown", iface.postDown(), ifname));
        session.onStop(tun::close);
        // What this process put on the interface; a persistent one keeps it unless it is taken off again.
        List<Cidr> routes = new ArrayList<>();
        String routeTable = iface.routeTable();
        if (tun.persistent()) {
            err.println("patchcord: " + ifname + ": using the existing persistent interface; it stays after exit");
            session.onStop(() -> unconfigure(ifname, iface.addresses(), routes, routeTable));
        }
        UdpSocket socket;
        try {
            Link.setMtu(ifname, linkMtu);
            for (Cidr a : iface.addresses()) {
                NetConfig.addAddress(ifname, a);
            }
            Link.setUp(ifname);
            if (iface.routes()) {
                String table = routeTable;
                for (WgPeerSection ps : config.peers()) {
                    for (Cidr c : ps.allowedIps()) {
                        if (c.prefix() == 0 && table == null) {
                            err.println("patchcord: " + ifname + ": not routing " + c + " (a default route through the"
                                    + " tunnel needs policy routing; add it in PostUp, or set Table)");
                            continue;
                        }
                        routes.add(c);
                    }
                }
                NetConfig.addRoutes(ifname, routes, table);
            }
            if (!iface.dns().isEmpty()) {
                if (NetConfig.setDns(ifname, iface.dnsServers(), iface.dnsSearchDomains())) {
                    session.onStop(() -> clearDns(ifname));
                } else {
                    err.println("patchcord: " + ifname + ": DNS not applied: resolvconf is not installed");
                }
            }
            socket = UdpSocket.bind(null, iface.listenPort() == null ? 0 : iface.listenPort(), wakeup);
            if (iface.fwMark() != null) {
                socket.setMark(iface.fwMark());
            }
            hook("PostUp", iface.postUp(), ifname);
        } catch (NetConfig.NetConfigException e) {
            closeAfterFailure(tun, iface, routes, routeTable);
            throw new UserError(e.getMessage());
        } catch (SysException | RuntimeException e) {
            closeAfterFailure(tun, iface, routes, routeTable);
            throw e;
        }
        WgTunnel tunnel = new WgTunnel(tun, socket, node, endpoints, wakeup, debug, offloads);
        tunnel.setForwarding(iface.hub(), iface.clientIsolation());
        // 'ip link set IFACE mtu N' takes effect at once, as with the kernel's WireGuard.
        try {
            MtuWatch mtuWatch = MtuWatch.start(ifname, wakeup, tunnel::setLinkMtu);
            session.onStop(mtuWatch::close);
        } catch (SysException e) {
            err.println("patchcord: " + ifname + ": MTU changes will not be followed: " + e.getMessage());
        }
        if (iface.pool() != null) {
            startAddressServer(config, ifname, node, tunnel, err, tun);
        } else if (iface.autoAddress()) {
            WgPeerSection serverPeer = config.peers().getFirst();
            boolean[] refused = {false};
            AddressClient client = new AddressClient(tunnel, node.peer(serverPeer.publicKey()), ifname,
                    iface.requestedAddresses(), serverPeer.allowedIps(), iface.routes(), iface.routeTable(), err, () -> {
                        refused[0] = true;
                        session.requestStop();
                    });
            tunnel.setControlHandler(client);
            tunnel.setTickHook(client::tick);
            session.onStop(() -> {
                if (refused[0]) {
                    throw new UserError("the address server refused the requested address");
                }
            });
        }
        if (iface.transport().tcp()) {
            boolean tcpOnly = iface.transport() == TransportMode.TCP;
            TcpTransport tcp = new TcpTransport(tunnel, tunnel::socket,
                    tcpOnly ? TcpTransport.Mode.TCP : TcpTransport.Mode.UDP_THEN_TCP,
                    iface.listenPort() == null ? 0 : socket.port(), debug);
            tunnel.setTransport(tcp);
            try {
                tcp.start();
            } catch (IOException e) {
                tun.close();
                throw new UserError("cannot listen on TCP port " + socket.port() + ": " + e.getMessage());
            }
            session.onStop(tcp::close);
        }
        MeshPeers mesh = iface.mesh() == null ? null : startMesh(config, ifname, node, tunnel, session, wakeup, tun, err);
        session.onStop(() -> tunnel.socket().close());
        WgUapiDevice control = new WgUapiDevice(node, tunnel, file);
        if (!control.reportsConfigFile()) {
            err.println("patchcord: " + ifname + ": the configuration socket cannot name " + file.toAbsolutePath()
                    + " (too long, or not UTF-8): give 'patchcord peer' and 'syncconf' the file, not the name");
        }
        if (iface.saveConfig()) {
            session.onStop(() -> saveConfig(file, iface, control));
        }
        session.onStop(() -> hook("PreDown", iface.preDown(), ifname));
        session.onStop(() -> RunDir.removePid(ifname));
        session.onReady(() -> RunDir.writePidOrWarn(ifname, err));
        ConfigReload reload = new ConfigReload(file, config, control, ifname, err, meshReload);
        session.onReload(reload);
        try {
            UapiServer uapi = new UapiServer(RunDir.socketDir(), ifname, control, debug);
            session.onStop(uapi::close);
            reload.exclusive(uapi::exclusive);
            // Deleting the socket is the cross-platform way to ask a userspace WireGuard to exit.
            Thread.ofVirtual().start(() -> {
                while (uapi.socketFileIntact()) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (!session.stopRequested()) {
                    err.println("patchcord: " + ifname + ": " + uapi.socketPath() + " was deleted; stopping");
                    session.requestStop();
                }
            });
        } catch (java.nio.file.AccessDeniedException e) {
            err.println("patchcord: " + ifname + ": no configuration socket for wg: this user may not write in "
                    + RunDir.socketDir() + " (see dist/systemd/patchcord@.service, or set PATCHCORD_SOCKET_DIR)");
        } catch (IOException e) {
            err.println("patchcord: " + ifname + ": no configuration socket for wg (" + e.getMessage() + ")");
        }
        if (metrics != null) {
            metrics.serve(control);
            err.println("patchcord: " + ifname + ": Prometheus metrics on http://" + iface.metrics() + "/metrics");
        }
        return session.run(tunnel, wakeup, (iface.tap() ? "TAP " : "") + "interface " + ifname + " (MTU " + linkMtu
                + "), public key "
                + Keys.toBase64(node.publicKey()) + ", UDP port " + socket.port() + ", " + config.peers().size()
                + (config.peers().size() == 1 ? " peer" : " peers")
                + (mesh == null ? "" : " and " + mesh.size() + " mesh peers") + "; " + tunnel.describeOffloads());
    }

    /**
     * {@code PeersFile} and {@code Directory}: peers from outside the file, applied live, with
     * hole punching and relay fallback checked once a second. SIGHUP reads the peers file again.
     */
    private MeshPeers startMesh(WgConfig config, String ifname, Node node, WgTunnel tunnel, TunnelSession session,
                                Wakeup wakeup, TunDevice tun, PrintStream err) {
        WgInterfaceSection iface = config.interfaceSection();
        Set<String> keys = new HashSet<>();
        Set<Cidr> routed = new HashSet<>();
        for (WgPeerSection ps : config.peers()) {
            keys.add(Keys.toBase64(ps.publicKey()));
            ps.allowedIps().forEach(c -> routed.add(c.network()));
        }
        MeshPeers mesh = new MeshPeers(node, tunnel.endpoints(), ifname, iface.routes(), iface.routeTable(), keys, routed, err, verbose ? Journal.debug(err) : null, System::nanoTime);
        try {
            MeshSources sources = new MeshSources(iface.mesh(), iface.privateKey(), mesh, tunnel, ifname, err);
            sources.start();
            session.onStop(sources::close);
            meshReload = sources::reload;
        } catch (ConfigException e) {
            tun.close();
            throw new UserError(e.getMessage());
        }
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
        return mesh;
    }

    /** {@code [Pool]}: lease addresses to the peers, keeping the leases in the lease file. */
    private static void startAddressServer(WgConfig config, String ifname, Node node, WgTunnel tunnel, PrintStream err,
                                           TunDevice tun) {
        PoolSection ps = config.interfaceSection().pool();
        List<Cidr> ranges = ps.ranges();
        // Never lease the server's own addresses, nor anything inside a peer's fixed AllowedIPs.
        List<Cidr> reserved = new ArrayList<>();
        for (Cidr a : config.interfaceSection().addresses()) {
            reserved.add(new Cidr(a.address(), a.isIpv4() ? 32 : 128));
        }
        Set<String> fixed = new HashSet<>();
        for (WgPeerSection p : config.peers()) {
            for (Cidr c : p.allowedIps()) {
                for (Cidr r : ranges) {
                    if (r.isIpv4() == c.isIpv4() && (r.contains(c.address()) || c.contains(r.address()))) {
                        fixed.add(Keys.toBase64(p.publicKey()));
                        if (c.prefix() >= r.prefix()) {
                            reserved.add(c);
                        }
                    }
                }
            }
        }
        AddressPool pool;
        try {
            pool = new AddressPool(ps.v4Range(), ps.v6Prefix(), reserved, ps.leaseSeconds(), ps.routes());
        } catch (IllegalArgumentException e) {
            tun.close();
            throw new UserError(config.source() + ": [Pool]: " + e.getMessage());
        }
        AddressServer server = new AddressServer(pool,
                key -> node.peer(key) != null && !fixed.contains(Keys.toBase64(key)));
        Path leaseFile = ps.leaseFile(ifname);
        AddressService service = new AddressService(tunnel, server, new LeaseStore(leaseFile), ps.deadPeerSeconds(),
                ifname, err);
        try {
            if (leaseFile.toAbsolutePath().getParent() != null) {
                Files.createDirectories(leaseFile.toAbsolutePath().getParent());
            }
            service.restore();
        } catch (IOException e) {
            tun.close();
            throw new UserError("cannot read the leases in " + leaseFile + ": " + e.getMessage());
        }
        tunnel.setControlHandler(service);
        tunnel.setTickHook(service::tick);
    }

    /** A start that failed half-way: a persistent interface gets back what it had. */
    private static void closeAfterFailure(TunDevice tun, WgInterfaceSection iface, List<Cidr> routes, String table) {
        if (tun.persistent()) {
            unconfigure(tun.name(), iface.addresses(), routes, table);
        }
        tun.close();
    }

    /**
     * Takes this process's addresses and routes off a persistent interface, which outlives the
     * process (a created one takes them along when it goes). Best effort: what is already gone,
     * or cannot be removed, is no reason to fail a stop.
     */
    private static void unconfigure(String ifname, List<Cidr> addresses, List<Cidr> routes, String table) {
        try {
            NetConfig.removeRoutes(ifname, routes, table);
        } catch (NetConfig.NetConfigException ignored) {
            // a route the kernel already dropped
        }
        for (Cidr a : addresses) {
            try {
                NetConfig.removeAddress(ifname, a);
            } catch (NetConfig.NetConfigException ignored) {
                // never added (the start failed first) or removed by someone else
            }
        }
    }

    private static void saveConfig(Path file, WgInterfaceSection iface, WgUapiDevice control) {
        try {
            WgConfigWriter.save(file, WgConfigWriter.render(iface, control.get()));
        } catch (IOException e) {
            throw new UserError("SaveConfig: cannot write " + file + ": " + e.getMessage());
        }
    }

    private static void clearDns(String ifname) {
        try {
            NetConfig.clearDns(ifname);
        } catch (NetConfig.NetConfigException e) {
            throw new UserError(e.getMessage());
        }
    }

    private static void hook(String which, List<String> commands, String ifname) {
        try {
            Hooks.runShell(which, commands, ifname);
        } catch (Hooks.HookFailed e) {
            throw new UserError(e.getMessage());
        }
    }
}
