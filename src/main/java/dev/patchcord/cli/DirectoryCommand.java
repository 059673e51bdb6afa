package dev.patchcord.cli;

import dev.patchcord.control.Endpoint;
import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList.PeerListException;
import dev.patchcord.control.WgConfig;
import dev.patchcord.cluster.ClusterStore;
import dev.patchcord.cluster.StoreException;
import dev.patchcord.cluster.StoreSettings;
import dev.patchcord.control.directory.DirectoryServer;
import dev.patchcord.control.directory.DirectoryState;
import dev.patchcord.control.directory.MembersFile;
import dev.patchcord.control.directory.SharedRegistrations;
import dev.patchcord.control.directory.TlsMaterial;
import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code patchcord directory serve}: the mesh directory (docs/protocol.md, part 2). */
@Command(name = "directory",
        description = {
                "The mesh directory: tells the members of a mesh where the others are, and the address each one's NAT "
                        + "shows to the outside, so that nodes behind NATs can reach each other directly.",
                "Nodes use it with 'Directory = https://HOST:PORT' and 'DirectoryKey = KEY' in [Interface]."},
        subcommands = {DirectoryCommand.Serve.class},
        footer = {"", "Run 'patchcord directory serve --help' for the options.",
                "", "Example:", "  patchcord directory serve --members members.json \\", "      --private-key directory.key \\",
                "      --cert fullchain.pem --tls-key privkey.pem"})
final class DirectoryCommand implements Runnable {
    private static final String LABEL = "patchcord: directory: ";
    private static final int DEFAULT_PORT = 8443;
    private static final long MAX_TTL_SECONDS = 86_400;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public void run() {
        CommandLine.usage(this, System.err);
    }

    @Command(name = "serve", sortOptions = false,
            description = {
                    "Serve the mesh directory in the foreground until SIGINT or SIGTERM: HTTPS (POST /v1/sync, GET /v1/key) "
                            + "and UDP probes on the same port number.",
                    "Only the public keys in the members file are answered, each request must carry a MAC under the key "
                            + "the node shares with the directory's key, and the members file is read again when it changes."},
            footer = {"", "Members file (a peer list; the authority on who is in the mesh and which addresses each may use):",
                    "  { peers: [ { name: \"alpha\", publicKey: \"…\", allowedIps: [\"10.9.0.1/32\"] },",
                    "             { name: \"hub\", publicKey: \"…\", allowedIps: [\"10.9.0.0/24\"],",
                    "               endpoints: [\"203.0.113.1:51820\"], relay: true } ] }",
                    "", "Examples:",
                    "  umask 077; patchcord genkey > directory.key",
                    "  patchcord pubkey < directory.key      # the nodes' DirectoryKey",
                    "  patchcord directory serve --members members.json \\", "      --private-key directory.key \\",
                    "      --cert /etc/letsencrypt/live/dir.example.net/fullchain.pem \\",
                    "      --tls-key /etc/letsencrypt/live/dir.example.net/privkey.pem",
                    "  patchcord directory serve --listen 203.0.113.5:443 --members members.json \\",
                    "      --private-key directory.key \\",
                    "      --keystore directory.p12 --keystore-password-file directory.pass",
                    "  patchcord directory serve --members members.json --private-key directory.key \\",
                    "      --cert fullchain.pem --tls-key privkey.pem \\",
                    "      --store etcd://10.0.0.5:2379,10.0.0.6:2379 --cluster mesh",
                    "  openssl pkcs8 -topk8 -nocrypt -in old.key -out tls.key  # to PKCS#8"})
    static final class Serve implements Callable<Integer> {
        @Option(names = "--listen", paramLabel = "[ADDR:]PORT", defaultValue = "" + DEFAULT_PORT,
                description = "Address and port for HTTPS (TCP) and probes (UDP) (default: port ${DEFAULT-VALUE} "
                        + "on all addresses, IPv4 and IPv6). An IPv6 address goes in brackets: [2001:db8::1]:8443.")
        String listen;

        @Option(names = "--members", paramLabel = "FILE", description = "The members file (required), checked for changes every second.")
        Path members;

        @Option(names = "--private-key", paramLabel = "FILE", description = "The directory's private key, as 'patchcord genkey' writes it (required).")
        Path privateKey;

        @Option(names = "--cert", paramLabel = "FILE", description = "PEM certificate chain, the server's certificate first (with --tls-key).")
        Path cert;

        @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM PKCS#8 private key of the certificate (-----BEGIN PRIVATE KEY-----).")
        Path tlsKey;

        @Option(names = "--keystore", paramLabel = "FILE", description = "PKCS#12 key store with the key and certificate chain, instead of --cert/--tls-key.")
        Path keystore;

        @Option(names = "--keystore-password-file", paramLabel = "FILE", description = "File whose first line is the key store's password.")
        Path keystorePasswordFile;

        @Option(names = "--ttl", paramLabel = "SECONDS", defaultValue = "120",
                description = "How long a node's declared and observed endpoints are reported after it last told them "
                        + "(default: ${DEFAULT-VALUE}).")
        long ttl;

        @Option(names = "--store", paramLabel = "etcd://HOST:PORT[,…]",
                description = "Share what this server records with the other directory servers of --cluster through etcd, "
                        + "and answer from what all of them recorded (as [Interface] Store).")
        String store;

        @Option(names = "--cluster", paramLabel = "NAME", description = "The cluster's name in the store (with --store; as Cluster).")
        String cluster;

        @Option(names = "--store-ca", paramLabel = "FILE", description = "PEM CAs of etcd's server certificate: TLS to etcd (as StoreCA).")
        String storeCa;

        @Option(names = "--store-cert", paramLabel = "FILE", description = "PEM client certificate for etcd, with --store-key (as StoreCert).")
        String storeCert;

        @Option(names = "--store-key", paramLabel = "FILE", description = "PEM PKCS#8 key of --store-cert (as StoreKey).")
        String storeKey;

        @Option(names = "--verbose", description = "Print a line for every sync, refusal and new observed endpoint.")
        boolean verbose;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;

        @Override
        public Integer call() throws IOException {
            PrintStream err = System.err;
            if (members == null) {
                throw new UserError("--members FILE is required (the list of the mesh's public keys)");
            }
            if (privateKey == null) {
                throw new UserError("--private-key FILE is required (the directory's key, from 'patchcord genkey')");
            }
            boolean pem = cert != null || tlsKey != null;
            boolean pkcs12 = keystore != null || keystorePasswordFile != null;
            if (pem && pkcs12) {
                throw new UserError("give either --cert and --tls-key or --keystore and --keystore-password-file, not both");
            }
            if (!pem && !pkcs12) {
                throw new UserError("a TLS certificate is required: --cert FILE --tls-key FILE, "
                        + "or --keystore FILE --keystore-password-file FILE");
            }
            if (pem && (cert == null || tlsKey == null)) {
                throw new UserError("--cert and --tls-key go together");
            }
            if (pkcs12 && (keystore == null || keystorePasswordFile == null)) {
                throw new UserError("--keystore and --keystore-password-file go together");
            }
            if (ttl < 1 || ttl > MAX_TTL_SECONDS) {
                throw new UserError("--ttl must be from 1 to " + MAX_TTL_SECONDS + " seconds");
            }
            InetSocketAddress listenAddress = listenAddress(listen);
            StoreSettings storeSettings = storeSettings();

            List<Path> secrets = new ArrayList<>(pem ? List.of(privateKey, tlsKey) : List.of(privateKey, keystorePasswordFile));
            if (storeKey != null) {
                secrets.add(Path.of(storeKey));
            }
            for (Path secret : new LinkedHashSet<>(secrets)) {
                WgConfig.permissionWarning(secret).ifPresent(w -> err.println("patchcord: " + w));
            }
            byte[] key = readPrivateKey(privateKey);
            MembersFile file = new MembersFile(members);
            List<MeshPeer> peers;
            try {
                peers = file.load();
            } catch (PeerListException e) {
                throw new UserError(e.getMessage());
            }
            DirectoryState state;
            try {
                state = new DirectoryState(key, peers, ttl * 1000);
            } catch (IllegalArgumentException e) {
                throw new UserError("members file " + members + ": " + e.getMessage());
            }
            Arrays.fill(key, (byte) 0);
            TlsMaterial tls;
            try {
                tls = pem ? TlsMaterial.fromPem(cert, tlsKey) : TlsMaterial.fromPkcs12(keystore, keystorePasswordFile);
            } catch (TlsMaterial.TlsException e) {
                throw new UserError(e.getMessage());
            }
            try {
                tls.certificate().checkValidity();
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                err.println("patchcord: Warning: the TLS certificate (" + tls.certificate().getSubjectX500Principal()
                        + ") is valid only from " + tls.certificate().getNotBefore().toInstant() + " to "
                        + tls.certificate().getNotAfter().toInstant() + "; nodes will refuse it");
            }
            limitHttpServer();
            ClusterStore shared = null;
            if (storeSettings != null) {
                try {
                    shared = ClusterStore.open(storeSettings);
                } catch (StoreException e) {
                    throw new UserError("cluster " + storeSettings.cluster() + ": " + e.getMessage());
                }
            }
            DirectoryServer server;
            try {
                server = DirectoryServer.start(new DirectoryServer.Settings(listenAddress, tls.context(), verbose),
                        state, file, err, System::currentTimeMillis);
            } catch (IOException e) {
                if (shared != null) {
                    shared.close();
                }
                throw new UserError(e.getMessage());
            }
            if (shared == null) {
                return serve(server, null, err);
            }
            try (ClusterStore s = shared) {
                return serve(server, SharedRegistrations.start(s, state, where(storeSettings), err), err);
            }
        }

        /**
         * The store options as settings, or null without --store; checked as the [Interface] keys
         * are, with messages that name the options.
         */
        StoreSettings storeSettings() {
            if (store == null) {
                String lone = cluster != null ? "--cluster" : storeCa != null ? "--store-ca"
                        : storeCert != null ? "--store-cert" : storeKey != null ? "--store-key" : null;
                if (lone != null) {
                    throw new UserError(lone + " needs --store etcd://HOST:PORT");
                }
                return null;
            }
            if (cluster == null) {
                throw new UserError("--store needs --cluster NAME (the mesh's name in the store)");
            }
            if ((storeCert == null) != (storeKey == null)) {
                throw new UserError("--store-cert and --store-key go together");
            }
            if (storeCert != null && storeCa == null) {
                throw new UserError("--store-cert needs --store-ca (a client certificate is only sent over TLS)");
            }
            for (String f : new String[] {storeCa, storeCert, storeKey}) {
                if (f != null && f.isBlank()) {
                    throw new UserError("--store-ca, --store-cert and --store-key need a file name");
                }
            }
            try {
                return new StoreSettings(StoreSettings.parseEndpoints(store), cluster, storeCa, storeCert, storeKey);
            } catch (IllegalArgumentException e) {
                throw new UserError("--store/--cluster: " + e.getMessage());
            }
        }

        private static String where(StoreSettings s) {
            return "cluster " + s.cluster() + " in etcd at " + String.join(", ", s.endpoints());
        }

        private int serve(DirectoryServer server, SharedRegistrations sharing, PrintStream err) {
            CountDownLatch stop = new CountDownLatch(1);
            for (String name : List.of("INT", "TERM", "HUP")) {
                Signals.on(name, stop::countDown);
            }
            Signals.on("USR1", () -> err.println(LABEL + server.state().summary()));
            server.onFailure(stop::countDown);
            DirectoryState state = server.state();
            InetSocketAddress at = server.address();
            err.println(LABEL + "key " + Keys.toBase64(state.publicKey()) + ", HTTPS and UDP probes on "
                    + (at.getAddress().isAnyLocalAddress() ? "port " + at.getPort() + " of all addresses"
                    : new Endpoint(Cidr.format(at.getAddress()), at.getPort()).toString())
                    + ", " + state.memberCount() + (state.memberCount() == 1 ? " member" : " members") + " from " + members
                    + ", TTL " + ttl + " s" + (sharing == null ? "" : ", shared through " + where(storeSettings()))
                    + " (ready " + TunnelSession.sinceStart() + " ms after start)");
            try {
                stop.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            server.close();
            if (sharing != null) {
                sharing.close();
            }
            int code = 0;
            if (server.failure() != null) {
                err.println(LABEL + Main.describe(server.failure()));
                code = 1;
            }
            err.println(LABEL + "stopped; " + state.summary());
            return code;
        }

        /**
         * The JDK's HTTP server waits for slow clients forever and accepts any number of
         * connections unless told otherwise; a directory on the internet must not. Settings the
         * operator gave with -D (PATCHCORD_JAVA_OPTS) are kept.
         */
        private static void limitHttpServer() {
            setIfAbsent("jdk.httpserver.maxConnections", "1024");
            setIfAbsent("sun.net.httpserver.maxReqTime", "30");
            setIfAbsent("sun.net.httpserver.maxRspTime", "30");
        }

        private static void setIfAbsent(String property, String value) {
            if (System.getProperty(property) == null) {
                System.setProperty(property, value);
            }
        }
    }

    /** {@code PORT}, {@code ADDR:PORT} or {@code [IPV6]:PORT}. */
    static InetSocketAddress listenAddress(String text) {
        String t = text.strip();
        if (!t.isEmpty() && t.chars().allMatch(Character::isDigit)) {
            int port = t.length() > 5 ? 0 : Integer.parseInt(t);
            if (port < 1 || port > 65535) {
                throw new UserError("--listen port " + t + " is out of range (1-65535)");
            }
            return new InetSocketAddress(port);
        }
        Endpoint e;
        try {
            e = Endpoint.parse(t);
        } catch (IllegalArgumentException x) {
            throw new UserError("--listen " + x.getMessage());
        }
        return new InetSocketAddress(Addresses.host(e.host()), e.port());
    }

    private static byte[] readPrivateKey(Path file) {
        String text;
        try {
            // Any byte decodes, so that a wrong file gets the key parser's message rather than a charset error.
            text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new UserError("private key file " + file + " does not exist");
        } catch (IOException e) {
            throw new UserError("cannot read private key file " + file + ": " + e.getMessage());
        }
        try {
            return Keys.fromBase64(text.strip());
        } catch (IllegalArgumentException e) {
            throw new UserError("private key file " + file + ": " + e.getMessage());
        }
    }
}
