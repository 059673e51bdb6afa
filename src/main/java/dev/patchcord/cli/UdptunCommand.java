package dev.patchcord.cli;

import dev.patchcord.control.Adoption;
import dev.patchcord.control.CaTrust;
import dev.patchcord.control.PlainHandover;
import dev.patchcord.control.Refresher;
import dev.patchcord.control.HostsUrl;
import dev.patchcord.core.Counters;
import dev.patchcord.core.udptun.HostsException;
import dev.patchcord.core.udptun.HostsJson;
import dev.patchcord.core.udptun.HostsTable;
import dev.patchcord.device.UdptunTunnel;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.InterfaceName;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.TunDevice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code patchcord udptun [options]}: a drop-in for udptun, routing by inner destination. */
@Command(name = "udptun", sortOptions = false,
        description = {
                "Plain L3 tunnel over UDP to many peers, wire-compatible with udptun (NOT encrypted, IPv4 only).",
                "Each IPv4 packet from the interface goes, as one datagram, to the host its destination address maps to "
                        + "(exact match, first entry equal to it or 0.0.0.0 wins); with no entry an ICMP host unreachable "
                        + "is written back into the interface. Datagrams holding one IPv4 packet are accepted from anyone.",
                "Exactly one of -A, --hosts-file, --hosts-url is required."},
        footer = {"", "hosts.json: { nodes: { \"10.0.0.2\": { \"host\": \"peer.example\", \"port\": 7777 }, ... } }",
                "", "Examples:",
                "  patchcord udptun -d ut0 -A 203.0.113.7",
                "  patchcord udptun -d ut0 --hosts-file hosts.json",
                "  ip addr add 10.0.0.1/24 dev ut0; ip link set ut0 mtu 1472  # yours to set"})
final class UdptunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-a", "--local-address"}, paramLabel = "ADDR", description = "Address to listen on (default: all, IPv6 and IPv4).")
    String localAddress;

    @Option(names = {"-p", "--local-port"}, paramLabel = "PORT", defaultValue = "7777", description = "UDP port to listen on (default: ${DEFAULT-VALUE}).")
    int localPort;

    @Option(names = {"-A", "--remote-address"}, paramLabel = "HOST", description = "Send everything to this one host (a single wildcard entry).")
    String remoteAddress;

    @Option(names = {"-P", "--remote-port"}, paramLabel = "PORT", defaultValue = "7777", description = "Port for -A (default: ${DEFAULT-VALUE}).")
    int remotePort;

    @Option(names = "--hosts-file", paramLabel = "FILE", description = "Static hosts.json table, read once at start.")
    Path hostsFile;

    @Option(names = "--hosts-url", paramLabel = "URL", description = "http(s) URL of a hosts.json table, fetched again every interval.")
    String hostsUrl;

    @Option(names = "--hosts-url-interval", paramLabel = "SECONDS", defaultValue = "${env:HOSTS_URL_INTERVAL:-300}",
            description = "Refresh period of --hosts-url (default: 300, or env HOSTS_URL_INTERVAL).")
    double interval;

    @Option(names = "--ca-file", paramLabel = "FILE", defaultValue = "${env:CA_FILE}",
            description = "PEM file of CA certificates to trust for https instead of the system's (env CA_FILE).")
    Path caFile;

    @Option(names = "--ca-path", paramLabel = "DIR", defaultValue = "${env:CA_PATH}",
            description = "Directory of PEM CA certificates to trust for https (env CA_PATH).")
    Path caPath;

    @Option(names = {"-d", "--device"}, paramLabel = "IFNAME", defaultValue = "tun%d", description = "TUN interface name (default: ${DEFAULT-VALUE}, the kernel picks).")
    String device;

    @Option(names = "--verbose", description = "Print one line per packet on standard error.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Set by a running process for its successor ({@link Restart}): where to receive the interface. */
    @Option(names = PlainRestart.TAKE_OVER, hidden = true, paramLabel = "SOCKET")
    Path takeOver;

    @Override
    public Integer call() throws SysException {
        int methods = (remoteAddress != null ? 1 : 0) + (hostsFile != null ? 1 : 0) + (hostsUrl != null ? 1 : 0);
        if (methods != 1) {
            throw new ParameterException(spec.commandLine(),
                    "choose exactly one of -A, --hosts-file, --hosts-url to say where packets go");
        }
        InterfaceName.require(device);
        Addresses.port(localPort);
        InetAddress bindAddress = localAddress == null ? null : Addresses.host(localAddress);
        var err = System.err;
        String label = "udptun";
        HostsTable initial;
        HostsUrl url = null;
        if (remoteAddress != null) {
            initial = HostsTable.wildcard(Addresses.socket(remoteAddress, Addresses.port(remotePort)));
        } else if (hostsFile != null) {
            initial = loadFile(hostsFile);
        } else {
            if (!(interval > 0) || Double.isInfinite(interval)) {
                throw new UserError("--hosts-url-interval must be a positive number of seconds");
            }
            try {
                url = new HostsUrl(new URI(hostsUrl), CaTrust.context(caFile, caPath));
            } catch (URISyntaxException e) {
                throw new UserError("'" + hostsUrl + "' is not a URL");
            } catch (HostsException e) {
                throw new UserError(e.getMessage());
            }
            initial = HostsTable.EMPTY;
        }
        PlainWarning.print(err, label);
        TunnelSession session = new TunnelSession(label, err);
        // The first fetch comes before the interface (and, for a successor, before the running
        // process pauses for it), so a working URL is in use from the first packet; the table
        // goes into the tunnel once there is one.
        UdptunTunnel[] made = {null};
        HostsTable[] first = {initial};
        Refresher<HostsTable> refresher = null;
        if (url != null) {
            HostsUrl from = url;
            refresher = new Refresher<>(
                    () -> HostsTable.resolve(HostsJson.parse(from.fetch()), InetAddress::getByName),
                    t -> {
                        UdptunTunnel running = made[0];
                        if (running == null) {
                            first[0] = t;
                            return;
                        }
                        boolean changed = !t.equals(running.table());
                        running.install(t);
                        if (changed && session.ready()) {
                            err.println("patchcord: " + label + ": hosts table changed: " + t.size() + " hosts");
                        }
                    }, interval, err, label, "hosts table");
            refresher.refresh();
        }
        Wakeup wakeup = new Wakeup();
        session.onStop(wakeup::close);
        // The packet loops' own wake-up: stopped with the session, or alone for a restart.
        Wakeup packets = wakeup.child();
        session.onStop(packets::close);
        Takeover takeover = null;
        Adoption adoption = null;
        TunDevice tun;
        UdpSocket socket;
        if (takeOver != null) {
            // A successor: the interface is up and addressed already; only the descriptors change
            // hands. The hosts table was read above, from the same flag, file or URL.
            takeover = Takeover.connect(device, takeOver, err);
            adoption = takeover.receive();
            try {
                tun = adoption.adoptDevice(device, TunDevice.Kind.TUN, packets);
                socket = adoption.adoptSocket(packets);
            } catch (IOException e) {
                adoption.closeUnadopted();
                takeover.fail(e.getMessage()); // ends this process: the interface is still the running one's
                throw new AssertionError("unreachable");
            }
            session.onStop(tun::close);
        } else {
            tun = TunDevice.open(TunDevice.Kind.TUN, device, packets);
            session.onStop(tun::close);
            try {
                // udptun leaves the link down; bringing it up saves a step and changes nothing on the wire.
                Link.setUp(tun.name());
                socket = UdpSocket.bind(bindAddress, localPort, packets);
            } catch (SysException e) {
                tun.close();
                throw e;
            }
        }
        session.onStop(socket::close);
        UdptunTunnel tunnel = new UdptunTunnel(tun, socket, first[0], new Counters(), verbose ? Journal.debug(err) : null,
                packets);
        made[0] = tunnel;
        String source = remoteAddress != null ? "all to " + remoteAddress + ":" + remotePort
                : hostsFile != null ? initial.size() + " hosts from " + hostsFile : null;
        if (refresher != null) {
            refresher.start();
            session.onStop(refresher::close);
            source = tunnel.table().size() + " hosts from " + url.uri() + ", refreshed every "
                    + java.math.BigDecimal.valueOf(interval).stripTrailingZeros().toPlainString() + " s";
        }
        PlainRestart.register(session, spec, tun.name(), label, takeover,
                new PlainHandover(tun, socket, tunnel, adoption == null ? null : adoption.snapshot()), err);
        return session.run(tunnel, wakeup, "interface " + tun.name() + ", " + source
                + ", listening on UDP " + (localAddress == null ? "" : localAddress + " ") + "port " + socket.port());
    }

    private static HostsTable loadFile(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            return HostsTable.resolve(HostsJson.parse(text), InetAddress::getByName);
        } catch (IOException e) {
            throw new UserError("cannot read hosts file " + file + ": " + e.getMessage());
        } catch (HostsException e) {
            throw new UserError(file + ": " + e.getMessage());
        }
    }
}
