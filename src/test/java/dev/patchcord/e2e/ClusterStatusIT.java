package dev.patchcord.e2e;

import dev.patchcord.cluster.ClusterClient;
import dev.patchcord.cluster.EtcdClusterStore;
import dev.patchcord.cluster.HubRecord;
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
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code patchcord cluster status}, the real command against an etcd of its own on loopback. */
class ClusterStatusIT {
    private static final String HUB_KEY = "cPKpYx9VpX8nYQqJjKOHkt2qR4CQ1c8rY0gB1l8Y3Xw=";

    @TempDir
    Path dir;
    private EtcdServer etcd;
    private final List<EtcdClusterStore> stores = new ArrayList<>();

    @BeforeEach
    void startEtcd() throws Exception {
        etcd = EtcdServer.start();
    }

    @AfterEach
    void stop() {
        try {
            stores.forEach(EtcdClusterStore::close);
        } finally {
            etcd.close();
        }
    }

    private static byte[] key(int n) {
        byte[] k = new byte[32];
        k[0] = 0x11;
        k[31] = (byte) n;
        return k;
    }

    /** The exit status, standard output, and standard error. */
    private record Run(int code, String output, String errors) {}

    private Run status(Path conf, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(Self.command("cluster", "status", conf.toString()));
        cmd.addAll(List.of(extra));
        Path err = Files.createTempFile(dir, "status", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean ended = p.waitFor(60, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        assertThat(ended).as("cluster status ended").isTrue();
        return new Run(p.exitValue(), out, Files.readString(err));
    }

    private Path config(String extra) throws Exception {
        Path conf = dir.resolve("hub.conf");
        Files.writeString(conf, "[Interface]\nPrivateKey = " + HUB_KEY + "\nListenPort = 51820\n" + extra);
        return conf;
    }

    @Test
    void showsTheLiveHubsTheirClientsAndTheLeases() throws Exception {
        EtcdClusterStore hub1 = EtcdClusterStore.connect(etcd.settings("office"), Duration.ofSeconds(2), 10);
        EtcdClusterStore hub2 = EtcdClusterStore.connect(etcd.settings("office"), Duration.ofSeconds(2), 10);
        stores.add(hub1);
        stores.add(hub2);
        hub1.registerHub(new HubRecord("hub-1", "192.0.2.1:51821", key(201)));
        hub2.registerHub(new HubRecord("hub-2", "192.0.2.2:51821", key(202)));
        for (int i = 1; i <= 3; i++) {
            hub1.putClient(new ClusterClient(key(i), "client-" + i, List.of(Cidr.parse("10.9.0." + (i + 1) + "/32")), null));
            hub1.allocate(key(i), List.of(InetAddress.ofLiteral("10.9.0." + (i + 1))));
        }
        hub1.attach(key(1), "hub-1");
        hub1.attach(key(2), "hub-1");
        hub2.attach(key(3), "hub-2");
        Path conf = config("Store = etcd://127.0.0.1:" + etcd.clientPort + "\nCluster = office\n");

        Run text = status(conf);
        assertThat(text.code()).as(text.errors()).isZero();
        assertThat(text.output())
                .contains("cluster office (store 127.0.0.1:" + etcd.clientPort)
                .contains("hubs: 2")
                .containsPattern("hub-1  backplane 192\\.0\\.2\\.1:51821  clients 2")
                .containsPattern("hub-2  backplane 192\\.0\\.2\\.2:51821  clients 1")
                .contains("clients: 3 (3 attached); address leases: 3");

        hub2.close(); // a hub gone: its record and attachment with it
        stores.remove(hub2);
        Run json = status(conf, "--json");
        assertThat(json.code()).as(json.errors()).isZero();
        assertThat(json.output().strip())
                .startsWith("{\"cluster\": \"office\", \"endpoints\": [\"127.0.0.1:" + etcd.clientPort + "\"], \"tls\": false")
                .contains("\"hubs\": [{\"id\": \"hub-1\", \"live\": true, \"backplane_endpoint\": \"192.0.2.1:51821\"")
                .doesNotContain("hub-2")
                .endsWith("\"clients\": 3, \"attached\": 2, \"leases\": 3}");
    }

    @Test
    void aStoreThatIsDownOrAbsentIsOneClearLine() throws Exception {
        etcd.stop();
        Run down = status(config("Store = etcd://127.0.0.1:" + etcd.clientPort + "\nCluster = office\n"));
        assertThat(down.code()).isNotZero();
        assertThat(down.output()).isEmpty();
        // One line of ours; besides it the JVM may warn once about a library's use of
        // sun.misc.Unsafe (protobuf's, when it decodes the failure).
        List<String> lines = down.errors().strip().lines().filter(l -> !l.startsWith("WARNING: ")).toList();
        assertThat(lines).as(down.errors()).hasSize(1);
        assertThat(lines.getFirst()).startsWith("patchcord: cluster office: etcd at 127.0.0.1:" + etcd.clientPort);
        assertThat(down.errors()).doesNotContain("Exception").doesNotContain("SLF4J");
        Run none = status(config(""));
        assertThat(none.code()).isNotZero();
        assertThat(none.errors()).contains("has no Store in [Interface]");
    }
}
