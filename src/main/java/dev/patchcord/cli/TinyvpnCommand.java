package dev.patchcord.cli;

import dev.patchcord.control.Adoption;
import dev.patchcord.control.PlainHandover;
import dev.patchcord.core.Counters;
import dev.patchcord.core.Framing;
import dev.patchcord.core.IpFraming;
import dev.patchcord.core.RawFraming;
import dev.patchcord.device.Offloads;
import dev.patchcord.device.PeerAddress;
import dev.patchcord.device.PlainTunnel;
import dev.patchcord.sys.SysException;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.SockAddr;
import dev.patchcord.transport.UdpSocket;
import dev.patchcord.tun.InterfaceName;
import dev.patchcord.tun.Link;
import dev.patchcord.tun.PacketDevice;
import dev.patchcord.tun.StdioDevice;
import dev.patchcord.tun.TunDevice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code patchcord tinyvpn [-d] IFNAME|stdio HOST PORT}: a drop-in for tinyvpn. */
@Command(name = "tinyvpn", sortOptions = false,
        description = {
                "Plain L3 tunnel over UDP, wire-compatible with tinyvpn (NOT encrypted).",
                "Raw IP packets, one per datagram; the same PORT is bound and sent to; datagrams are "
                        + "accepted from any source. With IFNAME 'stdio' no interface is made and no root is "
                        + "needed: each line of standard input is sent, and what arrives goes to standard output."},
        footer = {"", "Examples:",
                "  patchcord tinyvpn tun0 203.0.113.7 5555",
                "  ip addr add 10.9.0.1/24 dev tun0               # addresses are yours to set",
                "  patchcord tinyvpn stdio peer.example 5555    # chat without root"})
final class TinyvpnCommand implements Callable<Integer> {
    /** tinyvpn receives into 1500 bytes, so no datagram it is sent may be longer. */
    static final int MAX_DATAGRAM = 1500;

    @Option(names = {"-d", "--verbose"}, description = "Print one line per packet on standard error.")
    boolean verbose;

    @Mixin
    OffloadsOption offloads = new OffloadsOption();

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Set by a running process for its successor ({@link Restart}): where to receive the interface. */
    @Option(names = PlainRestart.TAKE_OVER, hidden = true, paramLabel = "SOCKET")
    Path takeOver;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IFNAME|stdio", description = "TUN interface name (tun%%d lets the kernel pick), or 'stdio'.")
    String ifname;

    @Parameters(index = "1", paramLabel = "HOST", description = "The peer: host name, IPv4 or IPv6 address.")
    String host;

    @Parameters(index = "2", paramLabel = "PORT", description = "UDP port bound locally and sent to (number or service name).")
    String port;

    @Override
    public Integer call() throws SysException {
        boolean stdio = ifname.equals("stdio");
        if (!stdio) {
            InterfaceName.require(ifname);
        }
        int portNumber = Addresses.port(port);
        Offloads chosen = offloads.chosen();
        InetSocketAddress peerAddress = Addresses.socket(host, portNumber);
        var err = System.err;
        PlainWarning.print(err, "tinyvpn");
        TunnelSession session = new TunnelSession("tinyvpn", err);
        Wakeup wakeup = new Wakeup();
        session.onStop(wakeup::close);
        // The packet loops' own wake-up: stopped with the session, or alone for a restart.
        Wakeup packets = wakeup.child();
        session.onStop(packets::close);
        PacketDevice device;
        Framing framing;
        UdpSocket socket;
        Takeover takeover = null;
        Adoption adoption = null;
        if (stdio) {
            device = new StdioDevice(System.in, System.out, MAX_DATAGRAM);
            framing = new RawFraming(MAX_DATAGRAM);
        } else if (takeOver != null) {
            // A successor: the interface is up and addressed already; only the descriptors change hands.
            takeover = Takeover.connect(ifname, takeOver, err);
            adoption = takeover.receive();
            try {
                device = adoption.adoptDevice(ifname, TunDevice.Kind.TUN, packets);
            } catch (IOException e) {
                adoption.closeUnadopted();
                takeover.fail(e.getMessage());
                throw new AssertionError("unreachable");
            }
            framing = new IpFraming(MAX_DATAGRAM);
        } else {
            // Virtio-net headers let the TUN hand over TCP super-packets, cut here to MTU-sized packets.
            TunDevice tun = chosen.vnet()
                    ? TunDevice.openWithVnetHeader(TunDevice.Kind.TUN, ifname, packets,
                            chosen.tso() ? TunDevice.OFFLOAD_ALL : 0)
                    : TunDevice.open(TunDevice.Kind.TUN, ifname, packets);
            device = tun;
            framing = new IpFraming(MAX_DATAGRAM);
            try {
                // tinyvpn leaves the link down; bringing it up saves a step and changes nothing on the wire.
                Link.setUp(tun.name());
            } catch (SysException e) {
                tun.close();
                throw e;
            }
        }
        session.onStop(device::close);
        if (adoption != null) {
            try {
                socket = adoption.adoptSocket(packets);
            } catch (IOException e) {
                adoption.closeUnadopted();
                takeover.fail(e.getMessage()); // ends this process: the interface is still the running one's
                throw new AssertionError("unreachable");
            }
        } else {
            try {
                socket = UdpSocket.bind(null, portNumber, packets);
            } catch (SysException e) {
                device.close();
                throw e;
            }
        }
        session.onStop(socket::close);
        PlainTunnel tunnel = new PlainTunnel(device, socket, framing, new PeerAddress(peerAddress, false),
                new Counters(), verbose ? Journal.debug(err) : null, chosen, packets);
        PlainRestart.register(session, spec, stdio ? null : device.name(), "tinyvpn", takeover,
                new PlainHandover(device, socket, tunnel, adoption == null ? null : adoption.snapshot()), err);
        return session.run(tunnel, wakeup, (stdio ? "stdio" : "interface " + device.name())
                + " <-> " + SockAddr.format(peerAddress) + ", listening on UDP port " + socket.port()
                + "; " + tunnel.describeOffloads());
    }
}
