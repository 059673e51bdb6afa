package dev.patchcord.e2e;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.EtcdClusterStore;
import dev.patchcord.core.Cidr;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code patchcord peer add|remove|list} on a server whose file has {@code Store}: the real
 * command, as separate processes, against an etcd of its own on loopback. The clients and their
 * addresses go to the store and nowhere else.
 */
class ClusterPeerIT {
    private static final String HUB_KEY = "cPKpYx9VpX8nYQqJjKOHkt2qR4CQ1c8rY0gB1l8Y3Xw=";
    private static final Pattern PUBLIC_KEY = Pattern.compile("(?m)^PrivateKey = (\\S+)$");

    @TempDir
    Path dir;
    private EtcdServer etcd;
    private EtcdClusterStore store;

    @BeforeEach
    void startEtcd() throws Exception {
        etcd = EtcdServer.start();
        store = EtcdClusterStore.connect(etcd.settings("office"), Duration.ofSeconds(5), 10);
    }

    @AfterEach
    void stop() {
        try {
            store.close();
        } finally {
            etcd.close();
        }
    }

    /** The exit status, standard output, and standard error. */
    private record Run(int code, String output, String errors) {}

    private Process start(String name, String... args) throws Exception {
        return start(name, Map.of(), args);
    }

    private Process start(String name, Map<String, String> env, String... args) throws Exception {
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        ProcessBuilder b = new ProcessBuilder(Self.command(args)).redirectOutput(out.toFile()).redirectError(err.toFile());
        b.environment().putAll(env);
        Process p = b.start();
        p.getOutputStream().close();
        return p;
    }

    private Run finish(String name, Process p) throws Exception {
        boolean ended = p.waitFor(120, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        assertThat(ended).as(name + " ended").isTrue();
        return new Run(p.exitValue(), Files.readString(dir.resolve(name + ".out")), Files.readString(dir.resolve(name + ".err")));
    }

    private Run patchcord(String name, String... args) throws Exception {
        return finish(name, start(name, args));
    }

    private Path hub(String extra) throws Exception {
        Path conf = dir.resolve("hub.conf");
        Files.writeString(conf, "[Interface]\nPrivateKey = " + HUB_KEY + "\nListenPort = 51820\n"
                + "Address = 10.77.0.1/24, fd00:77::1/64\nPublicEndpoint = hub1.example.net:51820\n" + extra
                + "\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 10.77.0.2/32\n");
        return conf;
    }

    private Path clusterHub() throws Exception {
        return hub("Store = etcd://127.0.0.1:" + etcd.clientPort + "\nCluster = office\n");
    }

    /**
     * What the command itself said: besides it the JVM may warn, once per process, about
     * protobuf's use of sun.misc.Unsafe (docs/cluster-store.md).
     */
    private static List<String> ours(String errors) {
        return errors.strip().lines().filter(l -> !l.startsWith("WARNING: ")).toList();
    }

    /** The public key of the client whose configuration {@code text} is. */
    private static byte[] clientKey(String text) throws Exception {
        Matcher m = PUBLIC_KEY.matcher(text);
        assertThat(m.find()).as(text).isTrue();
        return dev.patchcord.core.wg.X25519.publicKey(Base64.getDecoder().decode(m.group(1)));
    }

    @Test
    void addPutsTheClientInTheStoreAndRemoveTakesItAndItsLeasesAway() throws Exception {
        Path conf = clusterHub();
        String before = Files.readString(conf);
        Run add = patchcord("add", "peer", "add", conf.toString(), "alice", "--no-qr",
                "--endpoint", "hub1.example.net,hub2.example.net:51999");
        assertThat(add.code()).as(add.errors()).isZero();
        // .1 is every hub's own address, .2 a peer of the file.
        assertThat(add.output()).contains("Address = 10.77.0.3/32, fd00:77::2/128\n",
                "Endpoint = hub1.example.net:51820, hub2.example.net:51999\n", "PresharedKey = ");
        assertThat(add.errors()).contains("added alice (10.77.0.3/32, fd00:77::2/128) to cluster office in etcd at 127.0.0.1:"
                + etcd.clientPort);
        assertThat(Files.readString(conf)).as("the server's file is left alone").isEqualTo(before);

        byte[] alice = clientKey(add.output());
        ClusterClient stored = store.getClient(alice).orElseThrow();
        assertThat(stored.name()).isEqualTo("alice");
        assertThat(stored.allowedIps()).containsExactly(Cidr.parse("10.77.0.3/32"), Cidr.parse("fd00:77::2/128"));
        assertThat(stored.presharedKey()).isNotNull();
        Map<InetAddress, byte[]> leases = store.leases();
        assertThat(leases).containsOnlyKeys(InetAddress.ofLiteral("10.77.0.3"), InetAddress.ofLiteral("fd00:77::2"));
        assertThat(leases.get(InetAddress.ofLiteral("10.77.0.3"))).isEqualTo(alice);

        Run bob = patchcord("bob", "peer", "add", conf.toString(), "bob", "--no-qr", "--no-psk", "--address", "10.77.0.50");
        assertThat(bob.code()).as(bob.errors()).isZero();
        assertThat(bob.output()).contains("Address = 10.77.0.50/32\n").doesNotContain("PresharedKey");
        Run taken = patchcord("taken", "peer", "add", conf.toString(), "carol", "--no-qr", "--address", "10.77.0.50");
        assertThat(taken.code()).isEqualTo(1);
        assertThat(ours(taken.errors())).containsExactly("patchcord: 10.77.0.50 is taken in cluster office in etcd at 127.0.0.1:"
                + etcd.clientPort);
        Run dup = patchcord("dup", "peer", "add", conf.toString(), "alice", "--no-qr");
        assertThat(dup.code()).isEqualTo(1);
        assertThat(dup.errors()).contains("a client named 'alice' is already in cluster office");
        assertThat(store.leases()).hasSize(3);

        Run list = patchcord("list", "peer", "list", conf.toString());
        assertThat(list.code()).as(list.errors()).isZero();
        assertThat(list.output().lines().toList()).containsExactlyInAnyOrder(
                "alice\t" + Base64.getEncoder().encodeToString(alice) + "\t10.77.0.3/32, fd00:77::2/128",
                "bob\t" + Base64.getEncoder().encodeToString(clientKey(bob.output())) + "\t10.77.0.50/32");

        Run remove = patchcord("remove", "peer", "remove", conf.toString(), "alice");
        assertThat(remove.code()).as(remove.errors()).isZero();
        assertThat(remove.errors()).contains("removed alice from cluster office", "released 10.77.0.3, fd00:77::2");
        assertThat(store.getClient(alice)).isEmpty();
        assertThat(store.leases()).containsOnlyKeys(InetAddress.ofLiteral("10.77.0.50"));
        Run again = patchcord("again", "peer", "remove", conf.toString(), "alice");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.errors()).contains("no client named 'alice' in cluster office");
        assertThat(Files.readString(conf)).isEqualTo(before);
    }

    @Test
    void twentyAddsAtOnceGetTwentyDistinctAddresses() throws Exception {
        Path conf = clusterHub();
        int n = 20;
        List<Process> running = new ArrayList<>();
        // Twenty JVMs starting the etcd client at once on a small shared machine: the first
        // request of each bears that start-up, which takes far longer than the default timeout.
        Map<String, String> patient = Map.of("PATCHCORD_STORE_TIMEOUT_MS", "90000");
        for (int i = 0; i < n; i++) {
            running.add(start("c" + i, patient, "peer", "add", conf.toString(), "client-" + i, "--no-qr"));
        }
        Set<String> v4 = new HashSet<>();
        Set<String> v6 = new HashSet<>();
        Pattern address = Pattern.compile("(?m)^Address = (\\S+)/32, (\\S+)/128$");
        for (int i = 0; i < n; i++) {
            Run r = finish("c" + i, running.get(i));
            assertThat(r.code()).as("client-" + i + ": " + r.errors()).isZero();
            Matcher m = address.matcher(r.output());
            assertThat(m.find()).as(r.output()).isTrue();
            v4.add(m.group(1));
            v6.add(m.group(2));
            assertThat(m.group(1)).isNotIn("10.77.0.1", "10.77.0.2");
        }
        assertThat(v4).hasSize(n);
        assertThat(v6).hasSize(n);
        assertThat(store.listClients().clients()).hasSize(n);
        assertThat(store.leases()).hasSize(2 * n);
    }

    @Test
    void aStoreThatIsDownIsOneLineAndStatusOne() throws Exception {
        Path conf = clusterHub();
        etcd.stop();
        for (String[] args : List.of(new String[] {"peer", "add", conf.toString(), "alice", "--no-qr"},
                new String[] {"peer", "list", conf.toString()}, new String[] {"peer", "remove", conf.toString(), "alice"})) {
            Run down = patchcord(args[1], args);
            assertThat(down.code()).isEqualTo(1);
            assertThat(down.output()).isEmpty();
            List<String> lines = ours(down.errors());
            assertThat(lines).as(down.errors()).hasSize(1);
            assertThat(lines.getFirst()).startsWith("patchcord: cluster office: etcd at 127.0.0.1:" + etcd.clientPort);
            assertThat(down.errors()).doesNotContain("Exception").doesNotContain("SLF4J");
        }
    }
}
