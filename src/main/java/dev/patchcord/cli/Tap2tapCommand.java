package dev.patchcord.cli;

import dev.patchcord.control.Adoption;
import dev.patchcord.control.Hooks;
import dev.patchcord.control.PlainHandover;
import dev.patchcord.control.Privileges;
import dev.patchcord.core.Counters;
import dev.patchcord.core.EthernetFraming;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.Offloads;
import dev.patchcord.device.PlainTunnel;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.InterfaceName;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.TunDevice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code patchcord tap2tap}: a drop-in for tap2tap, an Ethernet cable over UDP. */
@Command(name = "tap2tap", sortOptions = false,
        versionProvider = Main.Version.class,
        description = {
                "Plain L2 tunnel over UDP, wire-compatible with tap2tap (NOT encrypted).",
                "One Ethernet frame per datagram. Without --remote patchcord waits for the peer; "
                        + "either way it sends to wherever the last valid frame came from, so a peer "
                        + "without a fixed address (or one that moves) is followed."},
        footer = {"", "Examples:",
                "  patchcord tap2tap -i tap0 --up ./up.sh              # the fixed side",
                "  patchcord tap2tap -i tap0 --remote vps.example.net  # the side behind NAT"})
final class Tap2tapCommand implements Callable<Integer> {
    static final int DEFAULT_PORT = 1234;
    static final int DEFAULT_MTU = 1458;

    @Option(names = {"-i", "--iface"}, paramLabel = "NAME", description = "TAP interface name (default: the kernel picks tapN).")
    String iface;

    @Option(names = "--remote", paramLabel = "ADDR", description = "The peer: host name, IPv4 or IPv6 address.")
    String remote;

    @Option(names = "--mtu", paramLabel = "N", description = "Interface MTU (default: ${DEFAULT-VALUE}).", defaultValue = "1458")
    int mtu;

    @Option(names = "--port", paramLabel = "N", description = "UDP port bound and sent to (default: ${DEFAULT-VALUE}).", defaultValue = "1234")
    int port;

    @Option(names = "--up", paramLabel = "SCRIPT", description = "Run SCRIPT IFNAME once the interface is up, before the socket opens.")
    String up;

    @Option(names = "--down", paramLabel = "SCRIPT", description = "Run SCRIPT IFNAME at shutdown, while the interface still exists.")
    String down;

    @Option(names = {"-u", "--uid"}, paramLabel = "UID", description = "Switch to this user once the socket is open.")
    Integer uid;

    @Option(names = {"-g", "--gid"}, paramLabel = "GID", description = "Switch to this group once the socket is open.")
    Integer gid;

    @Option(names = {"-d", "--verbose"}, description = "Print one line per frame on standard error.")
    boolean verbose;

    @Mixin
    OffloadsOption offloads = new OffloadsOption();

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    /** Set by a running process for its successor ({@link Restart}): where to receive the interface. */
    @Option(names = PlainRestart.TAKE_OVER, hidden = true, paramLabel = "SOCKET")
    Path takeOver;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws SysException {
        if (iface != null) {
            InterfaceName.require(iface);
        }
        if (mtu < 68 || mtu > 65000) {
            throw new UserError("--mtu " + mtu + " is out of range (68-65000)");
        }
        Addresses.port(port);
        Offloads chosen = offloads.chosen();
        if (uid != null && uid < 0 || gid != null && gid < 0) {
            throw new UserError("--uid and --gid must not be negative");
        }
        // Resolve before touching the system, so a typo costs nothing (tap2tap checks it last).
        InetSocketAddress remoteAddress = remote == null ? null : Addresses.socket(remote, port);
        var err = System.err;
        PlainWarning.print(err, "tap2tap");
        TunnelSession session = new TunnelSession("tap2tap", err);
        Wakeup wakeup = new Wakeup();
        session.onStop(wakeup::close);
        // The packet loops' own wake-up: stopped with the session, or alone for a restart.
        Wakeup packets = wakeup.child();
        session.onStop(packets::close);
        Takeover takeover = null;
        Adoption adoption = null;
        TunDevice tap;
        UdpSocket socket;
        InetSocketAddress learned = null;
        if (takeOver != null) {
            // A successor: the interface is up with its MTU, and the up script has run; only the
            // descriptors change hands (and the peer address the running process learned).
            takeover = Takeover.connect(iface != null ? iface : "tap2tap", takeOver, err);
            adoption = takeover.receive();
            try {
                tap = adoption.adoptDevice(iface, TunDevice.Kind.TAP, packets);
                socket = adoption.adoptSocket(packets);
                learned = PlainHandover.learnedPeer(adoption.snapshot());
            } catch (IOException e) {
                adoption.closeUnadopted();
                takeover.fail(e.getMessage()); // ends this process: the interface is still the running one's
                throw new AssertionError("unreachable");
            }
            session.onStop(tap::close);
        } else {
            tap = TunDevice.open(TunDevice.Kind.TAP, iface, packets);
            session.onStop(tap::close);
            try {
                Link.setMtu(tap.name(), mtu);
                Link.setUp(tap.name());
                System.out.println("tap device is: " + tap.name());
                System.out.flush();
                Hooks.run("up", up, tap.name());
                socket = UdpSocket.bind(null, port, packets);
                if (uid != null || gid != null) {
                    int u = uid != null ? uid : 65534;
                    int g = gid != null ? gid : 65534;
                    Privileges.drop(u, g);
                }
            } catch (Hooks.HookFailed e) {
                abandon(tap, packets, wakeup);
                throw new UserError(e.getMessage());
            } catch (SysException | RuntimeException e) {
                abandon(tap, packets, wakeup);
                throw e;
            }
        }
        session.onStop(socket::close);
        session.onStop(() -> {
            try {
                Hooks.run("down", down, tap.name());
            } catch (Hooks.HookFailed e) {
                throw new UserError(e.getMessage());
            }
        });
        EthernetFraming framing = new EthernetFraming(mtu);
        PeerAddress peer = new PeerAddress(learned != null ? learned : remoteAddress, true);
        PlainTunnel tunnel = new PlainTunnel(tap, socket, framing, peer,
                new Counters(), verbose ? Journal.debug(err) : null, chosen, packets);
        PlainHandover handover = new PlainHandover(tap, socket, tunnel, adoption == null ? null : adoption.snapshot())
                .carrying(peer);
        if (uid != null || gid != null) {
            // The successor would start as the user this process became, without the rights to
            // the run directory or to a new process's start; the interface needs root to be made again.
            handover.refusing("a tap2tap that switched user (-u/-g) cannot be restarted in place; stop it and start it again");
        }
        PlainRestart.register(session, spec, tap.name(), "tap2tap", takeover, handover, err);
        String peerText = learned != null ? "peer " + SockAddr.format(learned) + " (carried over)"
                : remoteAddress == null ? "waiting for the peer" : "remote " + SockAddr.format(remoteAddress);
        return session.run(tunnel, wakeup, "interface " + tap.name() + " (MTU " + mtu + "), " + peerText
                + ", UDP port " + socket.port() + "; " + tunnel.describeOffloads());
    }

    /** Set-up failed before the tunnel ran: remove the interface again. */
    private static void abandon(TunDevice tap, Wakeup packets, Wakeup wakeup) {
        tap.close();
        packets.close();
        wakeup.close();
    }
}
