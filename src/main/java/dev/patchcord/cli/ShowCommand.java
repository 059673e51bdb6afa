package dev.patchcord.cli;

import dev.patchcord.control.UapiClient;
import dev.patchcord.control.UapiProtocol;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code patchcord show [IFNAME] [--json]}: like {@code wg show}, plus patchcord's own figures. */
@Command(name = "show", description = {
        "Show running interfaces, their peers and counters, as 'wg show' does, plus patchcord's mode, transport "
                + "and dropped packets by reason (for patchcord's own interfaces: other implementations' "
                + "interfaces, such as wireguard-go's, are listed without them). Private and preshared keys are "
                + "shown only with --show-keys."},
        footer = {"", "Examples:", "  patchcord show", "  patchcord show wg0 --json"})
final class ShowCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "IFNAME", description = "One interface (default: all).")
    String ifname;

    @Option(names = "--json", description = "Machine-readable output (schema in the README).")
    boolean json;

    @Option(names = "--show-keys", description = "Also print the private key and the preshared keys (base64).")
    boolean showKeys;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** One interface as the UAPI described it: device lines, then one map per peer. */
    record Device(String name, Map<String, String> device, List<Map<String, List<String>>> peers) {
        /**
         * Whether patchcord runs this interface. The socket directory is shared with wireguard-go
         * (and {@code show} lists its interfaces, as {@code wg show} does), but only patchcord's
         * replies carry the {@code patchcord_} keys: without them the mode, the transport, the
         * packet counts and the drops are unknown, not zero.
         */
        boolean patchcord() {
            String ext = UapiProtocol.EXTENSION_PREFIX;
            return device.keySet().stream().anyMatch(k -> k.startsWith(ext))
                    || peers.stream().anyMatch(p -> p.keySet().stream().anyMatch(k -> k.startsWith(ext)));
        }
    }

    @Override
    public Integer call() throws IOException {
        Path dir = RunDir.socketDir();
        List<String> names = new ArrayList<>();
        if (ifname != null) {
            names.add(ifname);
        } else if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".sock"))
                        .map(n -> n.substring(0, n.length() - 5)).sorted().forEach(names::add);
            }
        }
        List<Device> devices = new ArrayList<>();
        for (String name : names) {
            String reply;
            try {
                reply = UapiClient.request(dir.resolve(name + ".sock"), "get=1\n\n");
            } catch (IOException e) {
                if (ifname != null) {
                    throw new UserError(name + " is not running (" + dir.resolve(name + ".sock") + ": " + e.getMessage() + ")");
                }
                continue;
            }
            devices.add(parse(name, reply));
        }
        PrintStream out = System.out;
        if (json) {
            out.println(ShowJson.render(devices, showKeys));
        } else {
            devices.forEach(d -> text(d, out, showKeys));
        }
        return 0;
    }

    static Device parse(String name, String reply) {
        Map<String, String> device = new LinkedHashMap<>();
        List<Map<String, List<String>>> peers = new ArrayList<>();
        Map<String, List<String>> peer = null;
        for (String line : reply.split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String key = line.substring(0, eq), value = line.substring(eq + 1);
            if (key.equals("errno")) {
                if (!value.equals("0")) {
                    throw new UserError(name + ": the interface answered errno " + value);
                }
                continue;
            }
            if (key.equals("public_key")) {
                peer = new LinkedHashMap<>();
                peers.add(peer);
            }
            if (peer == null) {
                device.put(key, value);
            } else {
                peer.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
            }
        }
        return new Device(name, device, peers);
    }

    static String base64(String hex) {
        return Keys.toBase64(Keys.fromHex(hex));
    }

    static String publicKey(Map<String, String> device) {
        String priv = device.get("private_key");
        return priv == null ? null : Keys.toBase64(X25519.publicKey(Keys.fromHex(priv)));
    }

    private static String first(Map<String, List<String>> peer, String key) {
        List<String> v = peer.get(key);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    /** The private key in base64 (only for --show-keys), or null. */
    static String privateKey(Map<String, String> device) {
        String priv = device.get("private_key");
        return priv == null ? null : base64(priv);
    }

    /** A peer's preshared key in base64, or null when it has none (the UAPI sends 64 zeros then). */
    static String presharedKey(Map<String, List<String>> peer) {
        String psk = first(peer, "preshared_key");
        return psk == null || psk.chars().allMatch(c -> c == '0') ? null : base64(psk);
    }

    static void text(Device d, PrintStream out, boolean showKeys) {
        Map<String, String> dev = d.device();
        String ext = UapiProtocol.EXTENSION_PREFIX;
        out.println("interface: " + d.name());
        if (publicKey(dev) != null) {
            out.println("  public key: " + publicKey(dev));
            out.println("  private key: " + (showKeys ? privateKey(dev) : "(hidden)"));
        }
        if (dev.containsKey("listen_port")) {
            out.println("  listening port: " + dev.get("listen_port"));
        }
        if (dev.containsKey("fwmark")) {
            out.println("  fwmark: 0x" + Long.toHexString(Long.parseLong(dev.get("fwmark"))));
        }
        if (d.patchcord()) {
            if (dev.containsKey(ext + "mode")) {
                out.println("  mode: " + dev.get(ext + "mode") + ", transport: " + dev.get(ext + "transport"));
            }
            if (dev.containsKey(ext + "process_started")) {
                out.println("  process: pid " + dev.get(ext + "pid") + ", started " + time(dev.get(ext + "process_started"))
                        + "; up since " + time(dev.get(ext + "interface_started")) + ", " + dev.get(ext + "handovers")
                        + " restarts without a drop");
            }
            List<String> drops = new ArrayList<>();
            dev.forEach((k, v) -> {
                if (k.startsWith(ext + "drop_")) {
                    drops.add(k.substring((ext + "drop_").length()).replace('_', '-') + " " + v);
                }
            });
            out.println("  dropped: " + (drops.isEmpty() ? "none" : String.join(", ", drops)));
        }
        for (Map<String, List<String>> p : d.peers()) {
            out.println();
            out.println("peer: " + base64(first(p, "public_key")));
            String psk = presharedKey(p);
            if (psk != null) {
                out.println("  preshared key: " + (showKeys ? psk : "(hidden)"));
            }
            if (first(p, "endpoint") != null) {
                out.println("  endpoint: " + first(p, "endpoint"));
            }
            List<String> ips = p.getOrDefault("allowed_ip", List.of());
            out.println("  allowed ips: " + (ips.isEmpty() ? "(none)" : String.join(", ", ips)));
            long sec = Long.parseLong(first(p, "last_handshake_time_sec") == null ? "0" : first(p, "last_handshake_time_sec"));
            if (sec > 0) {
                out.println("  latest handshake: " + ago(System.currentTimeMillis() / 1000 - sec));
            }
            out.println("  transfer: " + bytes(first(p, "rx_bytes")) + " received, " + bytes(first(p, "tx_bytes")) + " sent");
            String keepalive = first(p, "persistent_keepalive_interval");
            if (keepalive != null && !keepalive.equals("0")) {
                out.println("  persistent keepalive: every " + keepalive + " seconds");
            }
        }
        out.println();
    }

    /** Epoch seconds as a UTC time, as the log and journal show them. */
    static String time(String epochSeconds) {
        try {
            return java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
                    .format(java.time.Instant.ofEpochSecond(Long.parseLong(epochSeconds)).atZone(java.time.ZoneOffset.UTC));
        } catch (RuntimeException e) {
            return "(unknown)";
        }
    }

    private static String ago(long seconds) {
        if (seconds < 60) {
            return seconds + (seconds == 1 ? " second ago" : " seconds ago");
        }
        long m = seconds / 60;
        return m + (m == 1 ? " minute, " : " minutes, ") + seconds % 60 + " seconds ago";
    }

    private static String bytes(String n) {
        double v = n == null ? 0 : Long.parseUnsignedLong(n);
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? String.format("%.0f %s", v, units[u]) : String.format("%.2f %s", v, units[u]);
    }
}
