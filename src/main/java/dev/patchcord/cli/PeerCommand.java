package dev.patchcord.cli;

import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.control.AddressPicker;
import dev.patchcord.control.ClientConfig;
import dev.patchcord.control.ConfigException;
import dev.patchcord.control.PeerBook;
import dev.patchcord.control.UapiClient;
import dev.patchcord.control.WgConfig;
import dev.patchcord.control.WgPeerSection;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code patchcord peer add|remove|list}: clients of a server, managed on the server. A new
 * client gets fresh keys, a free address, a place in the server's file and (if the server runs)
 * in the running interface at once; its configuration is printed with a QR code for the
 * WireGuard phone apps. The client's private key is shown once and kept nowhere. With
 * {@code Store} in the server's file, the clients are the cluster's, in its store ({@link ClusterPeers}).
 */
@Command(name = "peer", description = "Add, remove and list the clients of a server.",
        subcommands = {PeerCommand.Add.class, PeerCommand.Remove.class, PeerCommand.List_.class},
        footer = {"", "Examples:",
                "  patchcord peer add wg0 alice --endpoint vpn.example.com:51820",
                "  patchcord peer list wg0",
                "  patchcord peer remove wg0 alice"})
final class PeerCommand {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    static final SecureRandom RANDOM = new SecureRandom();

    /** How the server is named, for every subcommand. */
    static final String SERVER = "The server: its configuration file, or its interface name (the file the running "
            + "interface was started from, else IFNAME.conf in /etc/patchcord or /etc/wireguard).";

    /** The server's file, parsed, and what the running interface has, if it runs. */
    private record Server(Path file, String ifname, String text, WgConfig config, Path socket, boolean running) {
        static Server load(String arg) {
            Path file = ConfigFiles.ofInterface(arg);
            String ifname = ConfigFiles.interfaceName(file);
            String text;
            WgConfig config;
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
                config = WgConfig.parse(text, file.toString());
            } catch (ConfigException e) {
                throw new UserError(e.getMessage());
            } catch (IOException e) {
                throw new UserError("cannot read " + file + ": " + e.getMessage());
            }
            Path socket = RunDir.socketDir().resolve(ifname + ".sock");
            return new Server(file, ifname, text, config, socket, Files.exists(socket));
        }

        /** Sends a UAPI set to the running interface; fails loudly if it is refused. */
        void set(String body) {
            String reply;
            try {
                reply = UapiClient.request(socket, "set=1\n" + body + "\n");
            } catch (IOException e) {
                throw new UserError(ifname + " did not take the change (" + socket + ": " + e.getMessage() + ")");
            }
            if (!reply.contains("errno=0")) {
                throw new UserError(ifname + " refused the change: " + reply.strip());
            }
        }

        /** Every prefix in use: the server's addresses, its peers' in the file and in the running interface. */
        List<Cidr> taken() {
            List<Cidr> taken = new ArrayList<>();
            for (Cidr own : config.interfaceSection().addresses()) {
                taken.add(new Cidr(own.address(), own.bits())); // the server's own host, not its subnet
            }
            for (WgPeerSection p : config.peers()) {
                taken.addAll(p.allowedIps());
            }
            if (running) {
                try {
                    String reply = UapiClient.request(socket, "get=1\n\n");
                    for (String line : reply.split("\n")) {
                        if (line.startsWith("allowed_ip=")) {
                            taken.add(Cidr.parse(line.substring("allowed_ip=".length())));
                        }
                    }
                } catch (IOException | IllegalArgumentException e) {
                    throw new UserError("cannot read the peers of the running " + ifname + ": " + e.getMessage());
                }
            }
            return taken;
        }

        void write(String newText) {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".new");
            try {
                Files.deleteIfExists(tmp);
                // The file holds the server's private key: the new one is private from the start.
                Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
                Files.writeString(tmp, newText, StandardCharsets.UTF_8);
                Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UserError("cannot write " + file + ": " + e.getMessage());
            }
        }
    }

    @Command(name = "add", sortOptions = false,
            description = {"Make a new client: keys, a free address, a [Peer] in the server's file and in the "
                    + "running interface (with Store in the file: a client in the cluster's store instead); print "
                    + "the client's configuration and its QR code."},
            footer = {"", "Examples:",
                    "  patchcord peer add wg0 alice --endpoint vpn.example.com:51820",
                    "  patchcord peer add wg0 phone --allowed-ips 0.0.0.0/0,::/0 --dns 10.8.0.1 \\",
                    "      --png phone.png",
                    "  patchcord peer add /etc/patchcord/wg0.conf laptop --address 10.8.0.50 \\",
                    "      --output laptop.conf --no-qr"})
    static final class Add implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "IFNAME|CONFIG", description = SERVER)
        String server;
        @Parameters(index = "1", paramLabel = "NAME", description = "The client's name (letters, digits, '.', '_', '-').")
        String name;
        @Option(names = "--address", paramLabel = "auto|ADDR[,ADDR]", defaultValue = "auto",
                description = "The client's address(es): 'auto' picks the lowest free one in each of the server's subnets (default).")
        String address;
        @Option(names = "--endpoint", paramLabel = "HOST[:PORT][,...]",
                description = "Where the client reaches the server, or a comma-separated list of a cluster's hubs (default: the server's PublicEndpoint; the port defaults to its ListenPort).")
        String endpoint;
        @Option(names = "--allowed-ips", paramLabel = "LIST",
                description = "What the client sends through the tunnel (default: the server's subnets; 0.0.0.0/0,::/0 for everything).")
        String allowedIps;
        @Option(names = "--dns", paramLabel = "LIST", description = "DNS servers for the client's configuration.")
        String dns;
        @Option(names = "--keepalive", paramLabel = "SECONDS", defaultValue = "25",
                description = "The client's PersistentKeepalive, to keep NAT mappings open; 0 for none (default: ${DEFAULT-VALUE}).")
        int keepalive;
        @Option(names = "--no-psk", description = "No preshared key (by default each client gets one, for post-quantum resistance).")
        boolean noPsk;
        @Option(names = "--output", paramLabel = "FILE", description = "Also write the client's configuration to FILE (mode 600).")
        Path output;
        @Option(names = "--png", paramLabel = "FILE", description = "Also write the QR code to FILE as a PNG image.")
        Path png;
        @Option(names = "--no-qr", description = "Do not print the QR code.")
        boolean noQr;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() throws IOException {
            PeerBook.checkName(name);
            if (keepalive < 0 || keepalive > 65535) {
                throw new UserError("--keepalive " + keepalive + " is out of range (0-65535)");
            }
            Server s = Server.load(server);
            StoreSettings store = s.config().interfaceSection().store();
            if (store != null) {
                // The hubs of a cluster take their clients from the shared store, not from this file.
                return ClusterPeers.add(this, s.config(), store);
            }
            if (PeerBook.find(s.text(), name) != null) {
                throw new UserError("a peer named '" + name + "' is already in " + s.file());
            }
            var iface = s.config().interfaceSection();
            String serverEndpoint = serverEndpoint(iface.publicEndpoint(), iface.listenPort());
            List<Cidr> subnets = iface.addresses();
            List<Cidr> mine = addresses(subnets, s.taken());
            List<Cidr> routed = routed(subnets);
            byte[] privateKey = X25519.generatePrivate(RANDOM);
            byte[] publicKey = X25519.publicKey(privateKey);
            byte[] psk = newPsk();
            String hosts = String.join(", ", mine.stream().map(Cidr::toString).toList());
            String newText = PeerBook.add(s.text(), name, Keys.toBase64(publicKey), psk == null ? null : Keys.toBase64(psk), hosts);
            if (s.running()) {
                StringBuilder body = new StringBuilder("public_key=").append(Keys.toHex(publicKey)).append('\n');
                if (psk != null) {
                    body.append("preshared_key=").append(Keys.toHex(psk)).append('\n');
                }
                for (Cidr c : mine) {
                    body.append("allowed_ip=").append(c).append('\n');
                }
                s.set(body.toString());
            }
            try {
                s.write(newText);
            } catch (UserError e) {
                if (s.running()) {
                    s.set("public_key=" + Keys.toHex(publicKey) + "\nremove=true\n");
                }
                throw e;
            }
            print(iface.privateKey(), privateKey, psk, mine, routed, serverEndpoint, "added " + name + " (" + hosts + ") to " + s.file()
                    + (s.running() ? " and to the running " + s.ifname() : "; " + s.ifname() + " is not running, so it takes effect at the next start"));
            return 0;
        }

        /** What the client sends through the tunnel: --allowed-ips, else the server's subnets. */
        List<Cidr> routed(List<Cidr> subnets) {
            List<Cidr> routed = allowedIps != null ? cidrs("--allowed-ips", allowedIps)
                    : subnets.stream().map(Cidr::network).toList();
            if (routed.isEmpty()) {
                throw new UserError("the server has no Address: give the client's --allowed-ips");
            }
            return routed;
        }

        /** A fresh preshared key, or null with --no-psk. */
        byte[] newPsk() {
            if (noPsk) {
                return null;
            }
            byte[] psk = new byte[32];
            RANDOM.nextBytes(psk);
            return psk;
        }

        /**
         * Prints the client's configuration (and writes --output and --png), after {@code done} on
         * standard error; wipes {@code privateKey} once the text holds it.
         */
        void print(byte[] serverPrivateKey, byte[] privateKey, byte[] psk, List<Cidr> mine, List<Cidr> routed,
                   String serverEndpoint, String done) throws IOException {
            String serverKey = Keys.toBase64(X25519.publicKey(serverPrivateKey));
            List<String> dnsList = dns == null ? List.of() : List.of(dns.split("\\s*,\\s*"));
            ClientConfig client = new ClientConfig(name, Keys.toBase64(privateKey), mine, dnsList, serverKey,
                    psk == null ? null : Keys.toBase64(psk), routed, serverEndpoint, keepalive);
            String text = client.text();
            java.util.Arrays.fill(privateKey, (byte) 0);
            PrintStream err = System.err;
            err.println("patchcord: " + done);
            if (output != null) {
                writePrivate(output, text);
                err.println("patchcord: wrote " + output);
            }
            QrCode qr = QrCode.of(text);
            if (png != null) {
                qr.writePng(png);
                err.println("patchcord: wrote " + png);
            }
            System.out.print(text);
            if (!noQr) {
                System.out.println();
                System.out.print(qr.terminal());
            }
            err.println("patchcord: the client's private key is shown only now; it is not kept on this server");
        }

        /**
         * The client's Endpoint: --endpoint (a comma-separated list names several hubs, kept in
         * its order) or the server's PublicEndpoint, each with the ListenPort if it has no port.
         */
        String serverEndpoint(String recorded, Integer listenPort) {
            String e = endpoint != null ? endpoint : recorded;
            if (e == null) {
                throw new UserError("where do clients reach this server? Give --endpoint HOST:PORT, or set "
                        + "PublicEndpoint = HOST:PORT in the server's [Interface]");
            }
            List<String> out = new ArrayList<>();
            for (String one : e.split(",", -1)) {
                if (one.isBlank()) {
                    throw new UserError("--endpoint '" + e + "' has an empty entry");
                }
                out.add(withPort(one.strip(), listenPort));
            }
            return String.join(", ", out);
        }

        private static String withPort(String e, Integer listenPort) {
            boolean hasPort = e.startsWith("[") ? e.contains("]:") : e.chars().filter(c -> c == ':').count() == 1;
            if (!hasPort) {
                if (listenPort == null) {
                    throw new UserError("the endpoint '" + e + "' has no port and the server has no ListenPort");
                }
                e = (e.contains(":") && !e.startsWith("[") ? "[" + e + "]" : e) + ":" + listenPort;
            }
            return e;
        }

        /** The hosts of --address, none of them in {@code taken}; null for 'auto'. */
        List<Cidr> chosenAddresses(List<Cidr> taken) {
            if (address.equals("auto")) {
                return null;
            }
            List<Cidr> chosen = new ArrayList<>();
            for (Cidr c : cidrs("--address", address)) {
                Cidr host = new Cidr(c.address(), c.bits());
                for (Cidr t : taken) {
                    if (t.contains(host.address())) {
                        throw new UserError(host + " is taken (" + t + ")");
                    }
                }
                chosen.add(host);
            }
            return chosen;
        }

        private List<Cidr> addresses(List<Cidr> subnets, List<Cidr> taken) {
            List<Cidr> chosen = chosenAddresses(taken);
            if (chosen != null) {
                return chosen;
            }
            if (subnets.isEmpty()) {
                throw new UserError("the server has no Address to pick from: give --address");
            }
            List<Cidr> picked = new ArrayList<>();
            for (Cidr subnet : subnets) {
                if (subnet.prefix() == subnet.bits()) {
                    continue; // a single-host address has no room for clients
                }
                picked.add(AddressPicker.pick(subnet, taken)
                        .orElseThrow(() -> new UserError("no free address left in " + subnet.network())));
            }
            if (picked.isEmpty()) {
                throw new UserError("the server's addresses are single hosts: give --address");
            }
            return picked;
        }
    }

    @Command(name = "remove", description = "Remove a client by name from the server's file and the running interface "
            + "(with Store: from the cluster's store, releasing its addresses).",
            footer = {"", "Example:", "  patchcord peer remove wg0 alice"})
    static final class Remove implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "IFNAME|CONFIG", description = SERVER)
        String server;
        @Parameters(index = "1", paramLabel = "NAME", description = "The client's name, as 'patchcord peer list' shows it.")
        String name;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() throws IOException {
            Server s = Server.load(server);
            StoreSettings store = s.config().interfaceSection().store();
            if (store != null) {
                return ClusterPeers.remove(store, name);
            }
            PeerBook.Entry e = PeerBook.find(s.text(), name);
            if (e == null) {
                throw new UserError("no peer named '" + name + "' in " + s.file());
            }
            if (s.running() && e.publicKey() != null) {
                s.set("public_key=" + Keys.toHex(Keys.fromBase64(e.publicKey())) + "\nremove=true\n");
            }
            s.write(PeerBook.remove(s.text(), e));
            System.err.println("patchcord: removed " + name + " from " + s.file() + (s.running() ? " and from the running " + s.ifname() : ""));
            return 0;
        }
    }

    @Command(name = "list", description = "List the server's peers (with Store: the cluster's clients): name, public key, allowed IPs.",
            footer = {"", "Example:", "  patchcord peer list wg0"})
    static final class List_ implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "IFNAME|CONFIG", description = SERVER)
        String server;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() throws IOException {
            Server s = Server.load(server);
            StoreSettings store = s.config().interfaceSection().store();
            if (store != null) {
                return ClusterPeers.list(store);
            }
            for (PeerBook.Entry e : PeerBook.list(s.text())) {
                System.out.println((e.name() == null ? "-" : e.name()) + "\t" + e.publicKey() + "\t" + e.allowedIps());
            }
            return 0;
        }
    }

    private static List<Cidr> cidrs(String option, String list) {
        List<Cidr> out = new ArrayList<>();
        for (String part : list.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            try {
                out.add(Cidr.parse(part.strip()));
            } catch (IllegalArgumentException e) {
                throw new UserError(option + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static void writePrivate(Path file, String text) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
