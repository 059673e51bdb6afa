package dev.patchcord.cli;

import dev.patchcord.core.simplevpn.AddressPool;
import dev.patchcord.device.SimplevpnHub;
import dev.patchcord.sys.Wakeup;
import dev.patchcord.transport.StreamSocket;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.util.concurrent.Callable;

/**
 * {@code patchcord simplevpn server [-p PORT] [-d]}: simplevpn's {@code srv}. Like the original it
 * has no interface: it only passes packets between its clients. It listens on IPv6 and IPv4.
 */
@Command(name = "server", sortOptions = false,
        description = {"Hub for simplevpn clients: assigns addresses (10.0.254.254 first) and routes between them."},
        footer = {"", "Examples:", "  patchcord simplevpn server", "  patchcord simplevpn server -p 4000 -d"})
final class SimplevpnServerCommand implements Callable<Integer> {
    @Option(names = {"-p", "--port"}, paramLabel = "PORT", defaultValue = "2002",
            description = "TCP port to listen on (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = {"-d", "--verbose"}, description = "Print one line per packet on standard error.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() throws IOException {
        Addresses.port(port);
        var err = System.err;
        PlainWarning.print(err, "simplevpn");
        // A descriptor of its own (not a JDK channel), so that it could be handed to another process.
        StreamSocket server;
        try {
            server = StreamSocket.listen(null, port);
        } catch (IOException e) {
            throw new UserError("cannot listen on TCP port " + port + ": " + e.getMessage());
        }
        Wakeup wakeup;
        try {
            wakeup = new Wakeup();
        } catch (IOException e) {
            server.close();
            throw e;
        }
        TunnelSession session = new TunnelSession("simplevpn", err);
        session.onStop(wakeup::close);
        session.onStop(server::close);
        SimplevpnHub hub = new SimplevpnHub(server, wakeup, err, SimplevpnCommand.LABEL, verbose);
        return session.run(hub, wakeup, "server listening on TCP port " + port + ", assigning "
                + AddressPool.SIZE + " addresses of 10.0.0.0/16");
    }
}
