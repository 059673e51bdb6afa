package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.PacketDevice;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The interface's set-up on the host, the part of {@link SessionBuilder}'s build that differs
 * between a fresh start and a restart. A fresh start configures the interface as wg-quick does,
 * binds the UDP socket and runs the hooks; a restart adopts the running process's device and
 * socket ({@link Adoption}, docs/restart.md) and only records what that process set, so that the
 * stop steps undo it as if this process had set it.
 *
 * <p>Each part opened goes into the build's {@code opened} list, for the build to undo if it fails.
 */
final class InterfaceSetup {

    private final WgConfig config;
    private final WgInterfaceSection iface;
    private final String ifname;
    private final HostNetwork network;
    private final SessionBuilder.Sockets sockets;
    /** What a restart hands over, or null for a fresh start. */
    private final Adoption adoption;
    private final PrintStream err;
    private final List<AutoCloseable> opened;

    InterfaceSetup(WgConfig config, String ifname, HostNetwork network, SessionBuilder.Sockets sockets,
            Adoption adoption, PrintStream err, List<AutoCloseable> opened) {
        this.config = config;
        this.iface = config.interfaceSection();
        this.ifname = ifname;
        this.network = network;
        this.sockets = sockets;
        this.adoption = adoption;
        this.err = err;
        this.opened = opened;
    }

    /**
     * Configures the interface as wg-quick does (MTU, addresses, up, routes, DNS), binds the UDP
     * socket and runs PostUp. {@code routes} receives the routes added, for the stop steps.
     */
    UdpSocket configureAndBind(InterfaceSession session, Wakeup packets, int linkMtu, List<Cidr> routes,
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
    UdpSocket adoptSocket(InterfaceSession session, Wakeup packets, List<Cidr> routes) throws SysException {
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

    /** The running process's packet device, as it hands it over. */
    PacketDevice adoptDevice(Wakeup packets) throws SysException {
        try {
            return adoption.device(ifname, iface.tap(), packets);
        } catch (IOException e) {
            throw new InterfaceSession.Failure(e.getMessage());
        }
    }

    /** A start that failed half-way: a persistent interface gets back what it had. */
    void closeAfterFailure(PacketDevice tun, boolean persistent, List<Cidr> routes, String table) {
        if (persistent && adoption == null) { // an adopted interface is still the running process's
            network.unconfigure(ifname, iface.addresses(), routes, table);
        }
        tun.close();
    }

    /**
     * Runs one of the file's hooks (PreUp, PostUp, PreDown, PostDown) in a shell.
     *
     * @throws InterfaceSession.Failure when a line fails (the lines after it are not run)
     */
    void hook(String which, List<String> commands) {
        try {
            Hooks.runShell(which, commands, ifname);
        } catch (Hooks.HookFailed e) {
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
}
