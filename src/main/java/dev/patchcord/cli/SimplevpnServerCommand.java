package dev.patchcord.cli;

import dev.patchcord.core.simplevpn.AddressPool;
import dev.patchcord.device.SimplevpnHub;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.StreamSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.patchcord.control.Adoption;
import dev.patchcord.control.SimplevpnServerHandover;
import dev.patchcord.control.handover.HandoverSnapshot;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code patchcord simplevpn server [-p PORT] [-d]}: simplevpn's {@code srv}. Like the original it
 * has no interface: it only passes packets between its clients. It listens on IPv6 and IPv4.
 */
@Command(name = "server", sortOptions = false,
        description = {"Hub for simplevpn clients: assigns addresses (10.0.254.254 first) and routes between them."},
        footer = {"", "Examples:", "  patchcord simplevpn server", "  patchcord simplevpn server -p 4000 -d",
                "  patchcord restart simplevpn-4000      # a new process, no drop"})
final class SimplevpnServerCommand implements Callable<Integer> {
    @Option(names = {"-p", "--port"}, paramLabel = "PORT", defaultValue = "2002",
            description = "TCP port to listen on (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = {"-d", "--verbose"}, description = "Print one line per packet on standard error.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Set by a running process for its successor ({@link Restart}): where to receive the server. */
    @Option(names = PlainRestart.TAKE_OVER, hidden = true, paramLabel = "SOCKET")
    Path takeOver;

    @Spec
    CommandSpec spec;

    /** The name the pid file and {@code patchcord restart} know a server by: it has no interface. */
    static String runName(int port) {
        return "simplevpn-" + port;
    }

    @Override
    public Integer call() throws IOException {
        Addresses.port(port);
        var err = System.err;
        PlainWarning.print(err, "simplevpn");
        String name = runName(port);
        Wakeup wakeup = new Wakeup();
        // The threads' own wake-up: stopped with the session, or alone for a restart.
        Wakeup packets = wakeup.child();
        Takeover takeover = null;
        Adoption adoption = null;
        StreamSocket server;
        if (takeOver != null) {
            // A successor: the listener and every client connection change hands; nobody reconnects.
            takeover = Takeover.connect(name, takeOver, err);
            adoption = takeover.receive();
            try {
                server = adoption.adoptListener();
                if (server.localPort() != port) {
                    throw new IOException("the running server listens on port " + server.localPort() + ", not " + port);
                }
            } catch (IOException e) {
                adoption.closeUnadopted();
                takeover.fail(e.getMessage());
                throw new AssertionError("unreachable");
            }
        } else {
            // A descriptor of its own (not a JDK channel), so that it can be handed to another process.
            try {
                server = StreamSocket.listen(null, port);
            } catch (IOException e) {
                wakeup.close();
                throw new UserError("cannot listen on TCP port " + port + ": " + e.getMessage());
            }
        }
        TunnelSession session = new TunnelSession("simplevpn", err);
        session.onStop(wakeup::close);
        session.onStop(packets::close);
        session.onStop(server::close);
        SimplevpnHub hub = new SimplevpnHub(server, wakeup, packets, err, SimplevpnCommand.LABEL, verbose);
        if (adoption != null) {
            try {
                int[] addresses = SimplevpnServerHandover.addresses(adoption.snapshot());
                for (int i = 0; i < addresses.length; i++) {
                    HandoverSnapshot.TcpLink l = adoption.snapshot().tcpLinks().get(i);
                    hub.adoptClient(adoption.adoptStream(i), l.remote(), addresses[i], l.unread(), l.unsent());
                }
            } catch (IOException e) {
                adoption.closeUnadopted();
                takeover.fail(e.getMessage());
                throw new AssertionError("unreachable");
            }
        }
        PlainRestart.register(session, spec, name, "simplevpn", takeover,
                new SimplevpnServerHandover(name, hub, adoption == null ? null : adoption.snapshot()), err);
        return session.run(hub, wakeup, "server listening on TCP port " + port + ", assigning "
                + AddressPool.SIZE + " addresses of 10.0.0.0/16"
                + (adoption == null ? "" : "; " + adoption.snapshot().tcpLinks().size() + " clients taken over"));
    }
}
