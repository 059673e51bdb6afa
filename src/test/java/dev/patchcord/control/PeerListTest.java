package dev.patchcord.control;

import dev.patchcord.core.Cidr;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.core.wg.X25519;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeerListTest {
    private static final SplittableRandom RNG = new SplittableRandom(9);
    static final String A = Keys.toBase64(X25519.publicKey(X25519.generatePrivate(RNG)));
    static final String B = Keys.toBase64(X25519.publicKey(X25519.generatePrivate(RNG)));

    @Test
    void readsTheDocumentedFormatLeniently() throws Exception {
        List<MeshPeer> peers = PeerList.parse("""
                // the office mesh
                { peers: [
                    { name: "alpha", publicKey: "%s", allowedIps: ["10.9.0.1/32", "fd09::1/128"],
                      endpoint: "alpha.example.net:51820", persistentKeepalive: 25, },
                    { "publicKey": "%s", "allowedIps": "10.9.0.0/24", "endpoints": ["[2001:db8::1]:51820", "203.0.113.1:51820"],
                      "relay": true },
                ] }
                """.formatted(A, B), true);
        assertThat(peers).hasSize(2);
        MeshPeer a = peers.get(0);
        assertThat(a.name()).isEqualTo("alpha");
        assertThat(a.allowedIps()).containsExactly(Cidr.parse("10.9.0.1/32"), Cidr.parse("fd09::1/128"));
        assertThat(a.endpoints()).containsExactly(Endpoint.parse("alpha.example.net:51820"));
        assertThat(a.persistentKeepalive()).isEqualTo(25);
        assertThat(a.relay()).isFalse();
        MeshPeer b = peers.get(1);
        assertThat(b.name()).isNull();
        assertThat(b.label()).isEqualTo(B.substring(0, 8) + "…");
        assertThat(b.relay()).isTrue();
        assertThat(b.endpoints()).extracting(Endpoint::toString).containsExactly("[2001:db8::1]:51820", "203.0.113.1:51820");
    }

    @Test
    void allowedIpsAreBoundedPerPeerAndPerList() throws Exception {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i <= PeerList.MAX_ALLOWED_IPS_PER_PEER; i++) {
            many.append(many.isEmpty() ? "" : ",").append("\"10.").append(i >> 8).append('.').append(i & 255).append(".0/24\"");
        }
        String tooMany = "{peers:[{publicKey:\"" + A + "\",allowedIps:[" + many + "]}]}";
        assertThatThrownBy(() -> PeerList.parse(tooMany, true)).isInstanceOf(PeerList.PeerListException.class)
                .hasMessage("peer 1: more than 1024 allowed IPs");
        int last = many.lastIndexOf(",");
        assertThat(PeerList.parse("{peers:[{publicKey:\"" + A + "\",allowedIps:[" + many.substring(0, last) + "]}]}",
                true).getFirst().allowedIps()).hasSize(PeerList.MAX_ALLOWED_IPS_PER_PEER);
        // A list of peers with 1024 prefixes each passes the total after MAX_ALLOWED_IPS / 1024 of them.
        StringBuilder list = new StringBuilder("{peers:[");
        java.util.SplittableRandom rng = new java.util.SplittableRandom(4);
        int peers = PeerList.MAX_ALLOWED_IPS / PeerList.MAX_ALLOWED_IPS_PER_PEER + 1;
        for (int p = 0; p < peers; p++) {
            byte[] key = new byte[32];
            rng.nextBytes(key);
            list.append("{publicKey:\"").append(dev.patchcord.core.wg.Keys.toBase64(key)).append("\",allowedIps:[");
            for (int i = 0; i < PeerList.MAX_ALLOWED_IPS_PER_PEER; i++) {
                int n = p * PeerList.MAX_ALLOWED_IPS_PER_PEER + i;
                list.append(i == 0 ? "" : ",").append("\"10.").append(n >> 16).append('.').append((n >> 8) & 255)
                        .append('.').append(n & 255).append("/32\"");
            }
            list.append("]},");
        }
        String whole = list.append("]}").toString();
        assertThatThrownBy(() -> PeerList.parse(whole, true)).isInstanceOf(PeerList.PeerListException.class)
                .hasMessage("peer " + peers + ": the list has more than " + PeerList.MAX_ALLOWED_IPS + " allowed IPs");
    }

    @Test
    void peersAndEndpointsAreBounded() throws Exception {
        String empties = "{}," .repeat(PeerList.MAX_PEERS + 1);
        assertThatThrownBy(() -> PeerList.parse("{peers:[" + empties + "]}", true))
                .isInstanceOf(PeerList.PeerListException.class).hasMessage("more than 100000 peers");
        StringBuilder endpoints = new StringBuilder();
        for (int i = 1; i <= PeerList.MAX_ENDPOINTS + 1; i++) {
            endpoints.append(i == 1 ? "" : ",").append("\"192.0.2.").append(i).append(":51820\"");
        }
        assertThatThrownBy(() -> PeerList.parse("{peers:[{publicKey:\"" + A + "\",endpoints:[" + endpoints + "]}]}", true))
                .isInstanceOf(PeerList.PeerListException.class).hasMessage("peer 1: more than 8 endpoints");
    }

    @Test
    void writesWhatItReads() throws Exception {
        List<MeshPeer> peers = PeerList.parse("{\"peers\":[{\"name\":\"a\",\"publicKey\":\"" + A
                + "\",\"allowedIps\":[\"10.9.0.1/32\"],\"endpoint\":\"[::1]:5\",\"relay\":true,\"persistentKeepalive\":7}]}", true);
        String json = "{\"peers\":" + PeerList.toJson(peers) + "}";
        assertThat(PeerList.parse(json, true)).isEqualTo(peers);
    }

    @Test
    void anUnknownMemberIsAnErrorInAFileButSkippedInAnAnswer() throws Exception {
        String doc = "{\"peers\":[{\"publicKey\":\"" + A + "\",\"allowedIP\":\"10.9.0.1/32\"}]}";
        assertThatThrownBy(() -> PeerList.parse(doc, true)).hasMessageContaining("peer 1: unknown member 'allowedIP'");
        assertThat(PeerList.parse(doc, false)).hasSize(1);
    }

    @Test
    void badInputIsAClearErrorNamingThePeer() {
        String ok = "\"publicKey\":\"" + A + "\"";
        assertError("", "the document is empty");
        assertError("{\"peers\": [", "not valid JSON: Unexpected end-of-input");
        assertThatThrownBy(() -> PeerList.parse("{\"peers\": [", true)).hasMessageNotContaining("REDACTED")
                .hasMessageContaining("[line: 1, column: 11]").hasMessageEndingWith("at line 1");
        assertError("[]", "not a JSON object");
        assertError("{}", "'peers' is missing");
        assertError("{\"peers\":{}}", "'peers' is missing or not an array");
        assertError("{\"peers\":[1]}", "peer 1: not an object");
        assertError("{\"peers\":[{}]}", "peer 1: 'publicKey' is missing");
        assertError("{\"peers\":[{\"publicKey\":\"abc\"}]}", "peer 1: 'publicKey'");
        assertError("{\"peers\":[{\"name\":\"x\"," + ok + ",\"allowedIps\":[\"10.9.0.300/32\"]}]}", "peer 1 ('x'): allowed IP '10.9.0.300/32'");
        assertError("{\"peers\":[{" + ok + ",\"allowedIps\":[1]}]}", "not a string");
        assertError("{\"peers\":[{" + ok + ",\"endpoint\":\"nohost\"}]}", "has no port");
        assertError("{\"peers\":[{" + ok + ",\"endpoint\":[\"a:1\"]}]}", "'endpoint' is not a string");
        assertError("{\"peers\":[{" + ok + ",\"persistentKeepalive\":70000}]}", "'persistentKeepalive'");
        assertError("{\"peers\":[{" + ok + ",\"relay\":\"yes\"}]}", "'relay' is not true or false");
        assertError("{\"peers\":[{" + ok + ",\"name\":\"\\u0007bell\"}]}", "'name' must be a printable string");
        assertError("{\"peers\":[{" + ok + "},{\"name\":\"again\"," + ok + "}]}", "peer 2 ('again'): public key already used by peer 1");
        assertError("{\"peers\":[{" + ok + ",\"allowedIps\":\"10.9.0.0/24\"},{\"publicKey\":\"" + B
                + "\",\"allowedIps\":\"10.9.0.7/24\"}]}", "peer 2: allowed IP 10.9.0.0/24 already belongs to peer 1");
        StringBuilder many = new StringBuilder("{\"peers\":[{" + ok + ",\"endpoints\":[");
        for (int i = 1; i <= 9; i++) {
            many.append(i > 1 ? "," : "").append("\"h:").append(i).append('"');
        }
        assertError(many + "]}]}", "more than 8 endpoints");
    }

    private static void assertError(String doc, String message) {
        assertThatThrownBy(() -> PeerList.parse(doc, true)).isInstanceOf(PeerList.PeerListException.class)
                .hasMessageContaining(message);
    }
}
