package dev.patchcord.cli;

import dev.patchcord.control.ConfigException;
import dev.patchcord.control.ConfigSync;
import dev.patchcord.control.UapiClient;
import dev.patchcord.control.UapiException;
import dev.patchcord.control.UapiGetReply;
import dev.patchcord.control.WgConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code patchcord syncconf IFNAME [CONFIG]}: makes a running interface's peers what the file
 * says, touching only what changed, through the UAPI socket, so it works on wireguard-go too.
 */
@Command(name = "syncconf", sortOptions = false,
        description = {"Apply a configuration file's WireGuard settings and peers to a running interface without "
                + "disturbing unchanged peers (as 'wg syncconf'): removed peers go, new ones come, changed ones are "
                + "updated in place and keep their sessions. Address, MTU, DNS and the other interface settings need "
                + "a restart. A running 'patchcord up' does the same for its own file on SIGHUP."},
        footer = {"", "Examples:",
                "  patchcord syncconf wg0                   # the file wg0 was started from",
                "  patchcord syncconf wg0 /tmp/new-wg0.conf",
                "  kill -HUP $(cat /run/patchcord/wg0.pid)  # the same, from its own file"})
final class SyncconfCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IFNAME", description = "The running interface.")
    String ifname;

    @Parameters(index = "1", arity = "0..1", paramLabel = "CONFIG",
            description = "The file (default: the one the running IFNAME was started from, else IFNAME.conf in "
                    + "/etc/patchcord or /etc/wireguard).")
    String config;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() {
        Path file = ConfigFiles.ofInterface(config != null ? config : ifname);
        WgConfig desired;
        try {
            desired = WgConfig.parse(file);
        } catch (ConfigException e) {
            throw new UserError(e.getMessage());
        } catch (IOException e) {
            throw new UserError("cannot read " + file + ": " + e.getMessage());
        }
        Path socket = RunDir.socketDir().resolve(ifname + ".sock");
        try {
            ConfigSync sync = ConfigSync.plan(desired, UapiGetReply.parse(UapiClient.request(socket, "get=1\n\n")), Set.of());
            if (!sync.body().isEmpty()) {
                String reply = UapiClient.request(socket, "set=1\n" + sync.body() + "\n");
                if (!reply.contains("errno=0")) {
                    throw new UserError(ifname + " refused the change: " + reply.strip());
                }
            }
            System.err.println("patchcord: " + ifname + ": " + describe(sync));
            return 0;
        } catch (ConfigException e) {
            throw new UserError(e.getMessage());
        } catch (UapiException e) {
            throw new UserError(ifname + ": " + e.getMessage());
        } catch (IOException e) {
            throw new UserError(ifname + " is not running (" + socket + ": " + e.getMessage() + ")");
        }
    }

    static String describe(ConfigSync sync) {
        if (sync.body().isEmpty()) {
            return "already in sync with the file";
        }
        return sync.added() + " peers added, " + sync.removed() + " removed, " + sync.changed() + " changed";
    }
}
