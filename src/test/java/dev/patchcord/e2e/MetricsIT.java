package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.A4;
import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.config;
import static dev.patchcord.e2e.WireGuardPeers.keys;
import static dev.patchcord.e2e.WireGuardPeers.patchcordUp;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Prometheus endpoint, scraped inside the namespace after a transfer: its per-peer counters
 * agree with {@code patchcord show --json} taken just before and just after the scrape (a
 * keepalive may slip in between, so the scrape must lie between the two, not equal either).
 */
@ExtendWith(LabExtension.class)
class MetricsIT {
    private static final String TEMPLATE = """
            [Interface]
            PrivateKey = %s
            ListenPort = 51840
            Address = %s
            %s
            [Peer]
            PublicKey = %s
            AllowedIPs = %s
            Endpoint = %s:51840
            """;

    @Test
    void aScrapeAfterATransferMatchesShowJson(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        var a = keys(lab, ns[0]);
        var b = keys(lab, ns[1]);
        String ifA = WireGuardPeers.ifname("ma");
        String ifB = WireGuardPeers.ifname("mb");
        Path confA = config(lab, ifA, TEMPLATE.formatted(a.privateKey(), "10.68.0.1/24", "Metrics = 9586\n",
                b.publicKey(), "10.68.0.2/32", B4));
        Path confB = config(lab, ifB, TEMPLATE.formatted(b.privateKey(), "10.68.0.2/24", "", a.publicKey(),
                "10.68.0.1/32", A4));
        patchcordUp(lab, ns[0], "a", confA);
        patchcordUp(lab, ns[1], "b", confB);
        Tunnels.reach(lab, ns[0], "10.68.0.2");
        Tunnels.transfer(lab, ns[0], ns[1], "10.68.0.2", 20_000_000);

        String before = showJson(lab, ns[0], ifA);
        String scrape = lab.sh(ns[0], "bash", "-c",
                "exec 3<>/dev/tcp/127.0.0.1/9586 && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 10 cat <&3");
        String after = showJson(lab, ns[0], ifA);

        assertThat(scrape).startsWith("HTTP/1.1 200").containsIgnoringCase("content-type: text/plain; version=0.0.4");
        String peer = "{interface=\"" + ifA + "\",public_key=\"" + b.publicKey() + "\"}";
        for (String[] pair : new String[][] {{"rx_bytes", "patchcord_peer_receive_bytes_total"},
                {"tx_bytes", "patchcord_peer_transmit_bytes_total"},
                {"rx_packets", "patchcord_peer_receive_packets_total"},
                {"tx_packets", "patchcord_peer_transmit_packets_total"}}) {
            long lo = jsonNumber(before, pair[0]);
            long hi = jsonNumber(after, pair[0]);
            long scraped = sample(scrape, pair[1] + peer);
            assertThat(scraped).as(pair[1] + " between show --json before and after").isBetween(lo, hi);
        }
        // 20 MB went from A to B: A sent at least that much to its peer.
        assertThat(sample(scrape, "patchcord_peer_transmit_bytes_total" + peer)).isGreaterThan(20_000_000);
        assertThat(sample(scrape, "patchcord_peer_last_handshake_timestamp_seconds" + peer)).isPositive();
        assertThat(scrape).contains("patchcord_peer_handshake_age_seconds" + peer, "process_resident_memory_bytes ");

        // Only localhost: from the other namespace the port is not even routed to, and A's
        // underlay address does not answer on it.
        Lab.Result remote = lab.run(ns[1], Duration.ofSeconds(10), "bash", "-c",
                "exec 3<>/dev/tcp/" + A4 + "/9586 && echo connected");
        assertThat(remote.output()).doesNotContain("connected");
    }

    private static String showJson(Lab lab, String ns, String ifname) {
        return lab.sh(ns, Self.command("show", "--json", ifname).toArray(String[]::new));
    }

    /** A number of the (only) peer's object: the interface has keys of the same names. */
    private static long jsonNumber(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": (\\d+)").matcher(json);
        assertThat(m.find(json.indexOf("\"peers\""))).as(key + " in " + json).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static long sample(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return (long) Double.parseDouble(line.substring(series.length() + 1).strip());
            }
        }
        throw new AssertionError(series + " not in the scrape:\n" + scrape);
    }
}
