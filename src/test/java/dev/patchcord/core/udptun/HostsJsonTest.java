package dev.patchcord.core.udptun;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostsJsonTest {
    @Test
    void strictJsonWithPorts() throws Exception {
        List<HostEntry> e = HostsJson.parse("""
                {"nodes": {"10.0.0.2": {"host": "198.51.100.2", "port": 7000},
                           "10.0.0.3": {"host": "peer3.example", "port": 7777, "comment": "ignored"}}}""");
        assertThat(e).extracting(x -> x.inner().getHostAddress(), HostEntry::host, HostEntry::port)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", "198.51.100.2", 7000),
                        org.assertj.core.groups.Tuple.tuple("10.0.0.3", "peer3.example", 7777));
    }

    @Test
    void lenientSyntaxLikeYojson() throws Exception {
        List<HostEntry> e = HostsJson.parse("""
                // udptun's own tests write the names unquoted
                { nodes : {
                    /* the wildcard */ "0.0.0.0": { host: "gw.example", },
                    "10.0.0.4": { host: "::1", port: null },
                  },
                }""");
        assertThat(e).hasSize(2);
        assertThat(e.get(0).inner().getHostAddress()).isEqualTo("0.0.0.0");
        assertThat(e.get(0).port()).as("missing port").isEqualTo(7777);
        assertThat(e.get(1).port()).as("null port").isEqualTo(7777);
        assertThat(e.get(1).host()).isEqualTo("::1");
    }

    @Test
    void orderIsKept() throws Exception {
        List<HostEntry> e = HostsJson.parse("{nodes:{\"10.0.0.9\":{host:\"a\"},\"10.0.0.1\":{host:\"b\"},\"0.0.0.0\":{host:\"c\"}}}");
        assertThat(e).extracting(HostEntry::host).containsExactly("a", "b", "c");
    }

    @Test
    void emptyNodesIsAnEmptyTable() throws Exception {
        assertThat(HostsJson.parse("{nodes:{}}")).isEmpty();
    }

    private static void fails(String json, String message) {
        assertThatThrownBy(() -> HostsJson.parse(json)).isInstanceOf(HostsException.class)
                .hasMessageContaining(message).message().doesNotContain("\n");
    }

    @Test
    void errorsNameTheKey() {
        fails("{nodes:{\"10.0.0.2\":{host:\"a\",port:\"7777\"}}}", "node '10.0.0.2' has a 'port'");
        fails("{nodes:{\"10.0.0.2\":{host:\"a\",port:70000}}}", "node '10.0.0.2' has a 'port'");
        fails("{nodes:{\"10.0.0.2\":{host:\"a\",port:1.5}}}", "node '10.0.0.2' has a 'port'");
        fails("{nodes:{\"10.0.0.300\":{host:\"a\"}}}", "node key '10.0.0.300' is not an IPv4 address");
        fails("{nodes:{\"fd00::1\":{host:\"a\"}}}", "node key 'fd00::1' is not an IPv4 address");
        fails("{nodes:{\"peer\":{host:\"a\"}}}", "node key 'peer' is not an IPv4 address");
        fails("{nodes:{\"10.0.0.2\":{port:1}}}", "node '10.0.0.2' has no 'host' string");
        fails("{nodes:{\"10.0.0.2\":{host:5}}}", "node '10.0.0.2' has no 'host' string");
        fails("{nodes:{\"10.0.0.2\":\"a\"}}", "node '10.0.0.2' is not an object");
    }

    @Test
    void errorsOfTheDocument() {
        fails("{nodes:", "not valid JSON");
        fails("[]", "not a JSON object");
        fails("{}", "'nodes' is missing");
        fails("{nodes:[]}", "'nodes' is missing or not an object");
    }
}
