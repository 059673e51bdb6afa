package dev.patchcord.cli;

import dev.patchcord.control.Adoption;
import dev.patchcord.control.NetConfig;
import dev.patchcord.control.SimplevpnClientHandover;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.Counters;
import dev.patchcord.core.simplevpn.ControlMessage;
import dev.patchcord.device.SimplevpnClient;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.StreamSocket;
import dev.patchcord.tun.InterfaceName;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.TunDevice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code patchcord simplevpn client -s HOST [-a ADDR] [-p PORT] [-d]}: simplevpn's {@code cli}.
 *
 * <p>The first connection and address are obtained before the ready line, so "ready" means the
 * interface has its address and carries packets; until then SIGINT/SIGTERM still end it cleanly.
 */
@Command(name = "client", sortOptions = false,
        description = {"Connect a TUN interface to a simplevpn server and take the address it assigns."},
        footer = {"", "Examples:", "  patchcord simplevpn client -s vpn.example.net",
                "  patchcord simplevpn client -s 203.0.113.7 -p 4000 -a 10.0.1.5 -i svpn0"})
final class SimplevpnClientCommand implements Callable<Integer> {

    @Option(names = {"-s", "--server"}, paramLabel = "HOST", required = true,
            description = "The server: host name, IPv4 or IPv6 address.")
    String host;

    @Option(names = {"-a", "--address"}, paramLabel = "ADDR",
            description = "Ask for this static address (default: whatever the server assigns).")
    String address;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", defaultValue = "2002",
            description = "The server's TCP port, also for reconnections (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--prefix", paramLabel = "N", defaultValue = "16",
            description = "Prefix length of the address on the interface (default: ${DEFAULT-VALUE}, the server's pool).")
    int prefix;

    @Option(names = {"-i", "--iface"}, paramLabel = "NAME",
            description = "TUN interface name (default: the kernel picks tunN).")
    String iface;

    @Option(names = {"-d", "--verbose"}, description = "Print one line per packet on standard error.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Set by a running process for its successor ({@link Restart}): where to receive the interface. */
    @Option(names = PlainRestart.TAKE_OVER, hidden = true, paramLabel = "SOCKET")
    Path takeOver;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws SysException {
        Addresses.port(port);
        if (prefix < 1 || prefix > 32) {
            throw new UserError("--prefix " + prefix + " is out of range (1-32)");
        }
        if (iface != null) {
            InterfaceName.require(iface);
        }
        int wanted = address == null ? ControlMessage.NONE : staticAddress(address);
        // Resolve before touching the system, so a typo costs nothing.
        InetSocketAddress server = Addresses.socket(host, port);
        var err = System.err;
        PlainWarning.print(err, "simplevpn");
        Wakeup wakeup = new Wakeup();
        // The loops' own wake-up: stopped with the session, or alone for a restart.
        Wakeup packets = wakeup.child();
        if (takeOver != null) {
            return takeOver(server, wanted, wakeup, packets, err);
        }
        TunDevice tun;
        try {
            tun = TunDevice.open(TunDevice.Kind.TUN, iface, packets);
        } catch (SysException e) {
            wakeup.close();
            throw e;
        }
        String ifname = tun.name();
        Counters counters = new Counters();
        SimplevpnClient client = new SimplevpnClient(tun, host, server, wanted,
                (previous, assigned) -> setAddress(ifname, previous, assigned),
                wakeup, packets, err, SimplevpnCommand.LABEL, verbose, counters);
        int assigned;
        try {
            // TunnelSession installs its own handlers once running; these cover the first connection.
            for (String signal : List.of("INT", "TERM", "HUP")) {
                Signals.on(signal, client::shutdown);
            }
            assigned = client.connect();
        } catch (RuntimeException e) {
            tun.close();
            wakeup.close();
            throw e;
        }
        if (assigned == ControlMessage.NONE) {
            tun.close();
            wakeup.close();
            err.println(SimplevpnCommand.LABEL + "stopped; " + counters.summary());
            return 0;
        }
        return run(tun, client, null, null, wakeup, packets, err);
    }

    /**
     * A successor ({@code patchcord restart}): the interface is up and addressed, and the
     * connection has its address already; only the descriptors change hands, and the stream goes
     * on where the running process stopped reading it.
     */
    private int takeOver(InetSocketAddress server, int wanted, Wakeup wakeup, Wakeup packets, PrintStream err)
            throws SysException {
        Takeover takeover = Takeover.connect(iface != null ? iface : "simplevpn", takeOver, err);
        Adoption adoption = takeover.receive();
        TunDevice tun;
        SimplevpnClient client;
        try {
            int assigned = SimplevpnClientHandover.assignedAddress(adoption.snapshot());
            tun = adoption.adoptDevice(iface, TunDevice.Kind.TUN, packets);
            String ifname = tun.name();
            StreamSocket connection = adoption.adoptStream(0);
            client = new SimplevpnClient(tun, host, server, wanted,
                    (previous, address) -> setAddress(ifname, previous, address),
                    wakeup, packets, err, SimplevpnCommand.LABEL, verbose, new Counters());
            client.adoptConnection(connection, assigned, adoption.snapshot().tcpLinks().get(0).unread());
        } catch (IOException e) {
            adoption.closeUnadopted();
            takeover.fail(e.getMessage()); // ends this process: the interface is still the running one's
            throw new AssertionError("unreachable");
        }
        return run(tun, client, takeover, adoption, wakeup, packets, err);
    }

    private int run(TunDevice tun, SimplevpnClient client, Takeover takeover, Adoption adoption, Wakeup wakeup,
            Wakeup packets, PrintStream err) {
        TunnelSession session = new TunnelSession("simplevpn", err);
        session.onStop(wakeup::close);
        session.onStop(packets::close);
        session.onStop(tun::close);
        PlainRestart.register(session, spec, tun.name(), "simplevpn", takeover,
                new SimplevpnClientHandover(tun, client, adoption == null ? null : adoption.snapshot()), err);
        return session.run(client, wakeup, "interface " + tun.name() + " " + ControlMessage.format(client.address())
                + "/" + prefix + " <-> " + SockAddr.format(client.server()) + " over TCP"
                + (takeover == null ? "" : " (taken over)"));
    }

    /** The {@code -a} address: an IPv4 literal that the protocol can carry as a static request. */
    private static int staticAddress(String text) {
        InetAddress a;
        try {
            a = Cidr.parseAddress(text);
        } catch (IllegalArgumentException e) {
            throw new UserError("-a " + text + ": " + e.getMessage());
        }
        if (!(a instanceof Inet4Address)) {
            throw new UserError("-a " + text + ": simplevpn addresses are IPv4");
        }
        int v = ControlMessage.fromBytes(a.getAddress());
        if (v == ControlMessage.NONE || v == ControlMessage.ALL_ONES) {
            // 0.0.0.0 would be a dynamic request and 255.255.255.255 a keepalive on the wire.
            throw new UserError("-a " + text + " cannot be requested");
        }
        return v;
    }

    /**
     * Puts the assigned address on the interface (replacing the previous one after a reconnection
     * that brought a new address) and brings it up the first time. The original set the address
     * with a fixed 255.255.0.0 netmask; the prefix is an option here, /16 by default because the
     * server's pool is 10.0.0.0/16 and every client must reach every other.
     */
    private void setAddress(String ifname, int previous, int assigned) {
        try {
            if (previous != ControlMessage.NONE) {
                removeAddress(ifname, cidr(previous));
            }
            NetConfig.addAddress(ifname, cidr(assigned));
            if (previous == ControlMessage.NONE) {
                Link.setUp(ifname);
            }
        } catch (NetConfig.NetConfigException | SysException e) {
            throw new UserError("cannot set address " + ControlMessage.format(assigned) + " on " + ifname + ": "
                    + e.getMessage());
        }
    }

    private Cidr cidr(int address) {
        try {
            return new Cidr(InetAddress.getByAddress(ControlMessage.toBytes(address)), prefix);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 bytes are an address", e);
        }
    }

    /** A failure is reported but not fatal: the new address is what matters. */
    private static void removeAddress(String ifname, Cidr old) {
        try {
            NetConfig.removeAddress(ifname, old);
        } catch (NetConfig.NetConfigException e) {
            System.err.println(SimplevpnCommand.LABEL + "cannot remove the old address " + old + ": " + e.getMessage());
        }
    }
}
