package dev.patchcord.control;

import dev.patchcord.core.Cidr;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Interface addresses, routes and DNS. This is the one place patchcord runs {@code ip} (and
 * {@code resolvconf}): addresses and routes are set once at start, and removing the interface at
 * exit takes them away again, so netlink would buy nothing here but code.
 */
public final class NetConfig {
    private NetConfig() {}

    /** A failed {@code ip} command, with what it printed. */
    public static final class NetConfigException extends Exception {
        public NetConfigException(String message) {
            super(message);
        }
    }

    /**
     * Puts an address on the interface. {@code replace} rather than {@code add}: on a persistent
     * interface the address of an earlier run that ended without clean-up may still be there.
     */
    public static void addAddress(String ifname, Cidr address) throws NetConfigException {
        ip(family(address), "address", "replace", address.toString(), "dev", ifname);
    }

    /** Takes an address off the interface again (a lease that moved or ended). */
    public static void removeAddress(String ifname, Cidr address) throws NetConfigException {
        ip(family(address), "address", "del", address.toString(), "dev", ifname);
    }

    /**
     * Routes each destination into the interface, in the main table or the named one, with one
     * {@code ip -batch} for all of them (a thousand peers are a thousand routes). {@code replace}
     * makes it idempotent: an address's own subnet route may already exist.
     */
    public static void addRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfigException {
        routes("replace", ifname, destinations, table);
    }

    /** Removes routes {@link #addRoutes} made, when their peer leaves; one that is already gone is no error. */
    public static void removeRoutes(String ifname, List<Cidr> destinations, String table) throws NetConfigException {
        routes("del", ifname, destinations, table);
    }

    private static void routes(String verb, String ifname, List<Cidr> destinations, String table)
            throws NetConfigException {
        if (destinations.isEmpty()) {
            return;
        }
        StringBuilder batch = new StringBuilder();
        for (Cidr d : destinations) {
            batch.append("route ").append(verb).append(' ').append(d.network()).append(" dev ").append(ifname);
            if (table != null) {
                batch.append(" table ").append(table);
            }
            batch.append('\n');
        }
        // -force: go on past a route that is already gone, so one stale entry does not keep the rest.
        run(List.of("ip", "-force", "-batch", "-"), batch.toString());
    }

    /**
     * Hands DNS servers and search domains to resolvconf for this interface, as wg-quick does.
     *
     * @return false if resolvconf is not installed (nothing was changed)
     */
    public static boolean setDns(String ifname, List<String> servers, List<String> searchDomains)
            throws NetConfigException {
        if (!onPath("resolvconf")) {
            return false;
        }
        StringBuilder conf = new StringBuilder();
        servers.forEach(s -> conf.append("nameserver ").append(s).append('\n'));
        if (!searchDomains.isEmpty()) {
            conf.append("search ").append(String.join(" ", searchDomains)).append('\n');
        }
        run(List.of("resolvconf", "-a", ifname, "-m", "0", "-x"), conf.toString());
        return true;
    }

    /** Withdraws what {@link #setDns} gave resolvconf. */
    public static void clearDns(String ifname) throws NetConfigException {
        if (onPath("resolvconf")) {
            run(List.of("resolvconf", "-d", ifname, "-f"), "");
        }
    }

    /**
     * What a failed command printed, on one line, with the missing privilege named: {@code ip}
     * says only "Operation not permitted" when CAP_NET_ADMIN is missing.
     */
    static String oneLine(String output) {
        String line = output.strip().replaceAll("\\s*\\R\\s*", "; ");
        if (line.contains("Operation not permitted")) {
            line += " (needs CAP_NET_ADMIN)";
        }
        return line;
    }

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (new java.io.File(dir, program).canExecute()) {
                return true;
            }
        }
        return false;
    }

    private static String family(Cidr c) {
        return c.isIpv4() ? "-4" : "-6";
    }

    private static void ip(String... args) throws NetConfigException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        run(cmd, "");
    }

    private static void run(List<String> cmd, String input) throws NetConfigException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try (var in = p.getOutputStream()) {
                in.write(input.getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new NetConfigException(String.join(" ", cmd) + " did not finish");
            }
            if (p.exitValue() != 0) {
                throw new NetConfigException(String.join(" ", cmd) + ": " + oneLine(out));
            }
        } catch (IOException e) {
            throw new NetConfigException("cannot run '" + cmd.getFirst() + "': " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetConfigException(String.join(" ", cmd) + " was interrupted");
        }
    }
}
