package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.patchcord.core.udptun.HostEntry;
import dev.patchcord.core.udptun.HostsException;
import dev.patchcord.core.udptun.HostsJson;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * udptun's hosts.json, read leniently (comments, unquoted names, trailing commas). It may come from
 * a URL. Contract: a list of entries with a host and a port from 1 to 65535, or a
 * {@link HostsException}; and the entries written out as plain JSON read back equal, in order.
 */
class HostsJsonFuzzTest {
    private static final JsonMapper JSON = new JsonMapper();

    @FuzzTest
    void parse(byte[] file) {
        String text = Contract.utf8(file);
        List<HostEntry> entries = Contract.parseOrRefuse(HostsException.class, () -> HostsJson.parse(text));
        if (entries == null) {
            return;
        }
        Set<String> inners = new HashSet<>();
        ObjectNode nodes = JSON.createObjectNode();
        for (HostEntry e : entries) {
            assertThat(e.inner()).isNotNull();
            assertThat(e.host()).isNotBlank();
            assertThat(e.port()).isBetween(1, 65535);
            String key = e.inner().getHostAddress();
            if (!inners.add(key)) {
                return; // "10.0.0.1" and "010.0.0.1" name one address: a JSON object cannot hold both
            }
            nodes.putObject(key).put("host", e.host()).put("port", e.port());
        }
        ObjectNode root = JSON.createObjectNode();
        root.set("nodes", nodes);
        String again = root.toString();
        List<HostEntry> back = Contract.parseOrRefuse(HostsException.class, () -> HostsJson.parse(again));
        assertThat(back).as("re-reading %s", again).isEqualTo(entries);
    }
}
