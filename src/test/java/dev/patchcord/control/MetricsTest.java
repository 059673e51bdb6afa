package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.Drop;
import dev.patchcord.core.wg.Keys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(30)
class MetricsTest {
    private static final byte[] KEY_A = Keys.fromBase64("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=");
    private static final byte[] KEY_B = Keys.fromBase64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
    private static final long NOW = 1_700_000_100L * 1_000_000_000L;

    private static UapiDevice.DeviceState state() {
        var a = new UapiDevice.PeerState(KEY_A, null, new InetSocketAddress(InetAddress.getLoopbackAddress(), 51820),
                1_700_000_000L * 1_000_000_000L, 1234, 5678, 25, List.of(Cidr.parse("10.0.0.2/32")),
                Map.of("rx_packets", "11", "tx_packets", "22"));
        var b = new UapiDevice.PeerState(KEY_B, null, null, 0, 0, 0, 0, List.of());
        return new UapiDevice.DeviceState(new byte[32], 51820, 0, List.of(a, b),
                Map.of("rx_packets", "33", "tx_packets", "44", "drop_replayed", "7"));
    }

    @Test
    void everySeriesHasHelpTypeAndItsValue() {
        String text = Metrics.render("wg0", state(), NOW);
        String a = "{interface=\"wg0\",public_key=\"HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\"}";
        String b = "{interface=\"wg0\",public_key=\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"}";
        assertThat(text).contains(
                "patchcord_peers{interface=\"wg0\"} 2\n",
                "patchcord_receive_packets_total{interface=\"wg0\"} 33\n",
                "patchcord_transmit_packets_total{interface=\"wg0\"} 44\n",
                "patchcord_dropped_packets_total{interface=\"wg0\",reason=\"replayed\"} 7\n",
                "patchcord_peer_receive_bytes_total" + a + " 1234\n",
                "patchcord_peer_transmit_bytes_total" + a + " 5678\n",
                "patchcord_peer_receive_packets_total" + a + " 11\n",
                "patchcord_peer_transmit_packets_total" + a + " 22\n",
                "patchcord_peer_last_handshake_timestamp_seconds" + a + " 1700000000\n",
                "patchcord_peer_handshake_age_seconds" + a + " 100.0\n",
                "patchcord_peer_last_handshake_timestamp_seconds" + b + " 0\n",
                "process_resident_memory_bytes ", "process_open_fds ", "patchcord_jvm_heap_used_bytes ");
        // A peer that never completed a handshake has no age, rather than a made-up one.
        assertThat(text).doesNotContain("patchcord_peer_handshake_age_seconds" + b);
        // Every drop reason is a series from the start, zero or not.
        for (Drop d : Drop.values()) {
            assertThat(text).contains("reason=\"" + d.label() + "\"}");
        }
        // The exposition format: every sample line is NAME{LABELS} VALUE or NAME VALUE, after its # TYPE.
        String type = null;
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                type = line.split(" ")[2];
            } else if (!line.startsWith("# HELP ")) {
                assertThat(line).matches("[a-z_]+(\\{[^}]*})? -?[0-9.E]+");
                assertThat(line).startsWith(type);
            }
        }
    }

    @Test
    void labelValuesAreEscaped() {
        assertThat(Metrics.escape("a\"b\\c\nd")).isEqualTo("a\\\"b\\\\c\\nd");
    }

    @Test
    void theEndpointServesMetricsAndNothingElse() throws Exception {
        try (MetricsServer server = new MetricsServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), "wg0");
             HttpClient client = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + server.address().getPort();
            var starting = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(starting.statusCode()).isEqualTo(503);
            server.serve(new UapiDevice() {
                @Override
                public DeviceState get() {
                    return state();
                }

                @Override
                public void set(SetRequest request) {
                    throw new AssertionError("metrics must not change the device");
                }
            });
            var ok = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.headers().firstValue("Content-Type")).contains(Metrics.CONTENT_TYPE);
            assertThat(ok.body()).contains("patchcord_peers{interface=\"wg0\"} 2\n");
            assertThat(client.send(HttpRequest.newBuilder(URI.create(base + "/")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
            assertThat(client.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
        }
    }

    @Test
    void aClusterHubHasItsOwnSeriesLabelledByHub() {
        var ext = new java.util.LinkedHashMap<>(state().extensions());
        ext.putAll(Map.of("cluster_hub", "hub-1", "cluster_hubs", "3", "cluster_clients", "40", "cluster_attached", "12",
                "cluster_store_reachable", "1", "cluster_store_latency_ns", "2500000", "cluster_store_errors", "2",
                "cluster_takeovers", "5", "cluster_sessions_dropped", "1", "cluster_backplane_rx_bytes", "1000"));
        ext.put("cluster_backplane_tx_bytes", "2000");
        var s = state();
        String text = Metrics.render("wg0", new UapiDevice.DeviceState(new byte[32], 51820, 0, s.peers(), ext), NOW);
        String l = "{interface=\"wg0\",hub=\"hub-1\"}";
        assertThat(text).contains("patchcord_cluster_hubs" + l + " 3\n", "patchcord_cluster_clients" + l + " 40\n",
                "patchcord_cluster_attached_clients" + l + " 12\n", "patchcord_cluster_store_up" + l + " 1\n",
                "patchcord_cluster_store_latency_seconds" + l + " 0.0025\n",
                "patchcord_cluster_store_errors_total" + l + " 2\n", "patchcord_cluster_takeovers_total" + l + " 5\n",
                "patchcord_cluster_sessions_dropped_total" + l + " 1\n",
                "patchcord_cluster_backplane_receive_bytes_total" + l + " 1000\n",
                "patchcord_cluster_backplane_transmit_bytes_total" + l + " 2000\n",
                "# TYPE patchcord_cluster_takeovers_total counter\n");
        assertThat(Metrics.render("wg0", state(), NOW)).doesNotContain("patchcord_cluster_");
    }
}
