package dev.patchcord.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code patchcord simplevpn server|client}: drop-ins for simplevpn's {@code srv} and {@code cli}. */
@Command(name = "simplevpn",
        description = {
                "Plain L3 tunnel over TCP, wire-compatible with simplevpn (NOT encrypted).",
                "A server (a hub without an interface) hands out addresses in 10.0.0.0/16 and passes "
                        + "packets between its clients; each client has a TUN interface and one TCP connection."},
        subcommands = {SimplevpnServerCommand.class, SimplevpnClientCommand.class},
        footer = {"", "Examples:",
                "  patchcord simplevpn server                      # TCP port 2002",
                "  patchcord simplevpn client -s vpn.example.net   # first 10.0.254.254",
                "  patchcord simplevpn client -s vpn.example.net -a 10.0.1.5"})
final class SimplevpnCommand implements Runnable {
    /** The prefix of every line both sides print. */
    static final String LABEL = "patchcord: simplevpn: ";
    static final int DEFAULT_PORT = 2002;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public void run() {
        CommandLine.usage(this, System.err);
    }
}
