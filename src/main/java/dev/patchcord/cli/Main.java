package dev.patchcord.cli;

import dev.patchcord.sys.Libc;
import dev.patchcord.sys.SysException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** The {@code patchcord} program. */
@Command(name = "patchcord", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"A VPN for Linux: a TUN or TAP interface carried to other hosts over UDP or TCP."},
        subcommands = {UpCommand.class, DownCommand.class, RestartCommand.class, ShowCommand.class, KeyCommands.Genkey.class, KeyCommands.Pubkey.class,
                KeyCommands.Genpsk.class, TinyvpnCommand.class, Tap2tapCommand.class, SimplevpnCommand.class, UdptunCommand.class, DirectoryCommand.class, ClusterCommand.class, PeerCommand.class, SyncconfCommand.class, DemoCommand.class,
                LabCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Examples:",
                "  patchcord up wg0                  # /etc/patchcord/wg0.conf, wg-quick style",
                "  patchcord show --json",
                "  patchcord peer add wg0 alice --endpoint vpn.example.net:51820",
                "  patchcord tinyvpn tun0 203.0.113.7 5555",
                "", "Run 'patchcord COMMAND --help' for a command's options; 'man patchcord' for all."})
public final class Main implements Runnable {

    public static void main(String[] args) {
        // Binding the C library costs a few hundred milliseconds in a cold JVM; do it on a second
        // core while the command line is parsed, so the interface is up sooner.
        Thread.ofPlatform().daemon().start(Libc::link);
        Journal.install();
        System.exit(run(args));
    }

    static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println(Journal.prefix(Journal.ERROR) + "patchcord: " + describe(e));
            if (System.getenv("PATCHCORD_TRACE") != null) {
                e.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        cl.setParameterExceptionHandler((e, a) -> {
            PrintWriter err = e.getCommandLine().getErr();
            err.println(Journal.prefix(Journal.ERROR) + "patchcord: " + e.getMessage());
            err.println(Journal.prefix(Journal.ERROR) + "Try 'patchcord " + commandPath(e.getCommandLine()) + "--help'.");
            return 2;
        });
        return cl.execute(args);
    }

    private static String commandPath(CommandLine cl) {
        String path = cl.getCommandSpec().qualifiedName(" ");
        path = path.startsWith("patchcord") ? path.substring("patchcord".length()).trim() : path;
        return path.isEmpty() ? "" : path + " ";
    }

    /** One line for an error: its message for expected failures, its type too for anything else. */
    static String describe(Throwable e) {
        if (e instanceof UserError || e instanceof IllegalArgumentException) {
            return e.getMessage();
        }
        if (e instanceof java.io.IOException) {
            // SysException says what failed already; other I/O errors say only how.
            return e instanceof SysException ? e.getMessage() : "I/O error: " + e.getMessage();
        }
        return "internal error: " + e + " (set PATCHCORD_TRACE=1 for details)";
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.err);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"patchcord " + (v == null ? "(development build)" : v)};
        }
    }
}
